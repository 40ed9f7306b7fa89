// Structured JSON logs. Secrets never reach a log line: key headers are redacted wherever they appear,
// and every logged URL has its credential-looking query values and key-shaped text replaced.
import type { FastifyRequest } from 'fastify';
import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogLevel } from '../config.js';

export type { Logger };

const censor = '[redacted]';

/** Names under which a credential travels: in a query string, a JSON body or a header. */
const credentialName = /secret|password|token|api[_-]?key|authorization/i;
/** An API key's shape, wherever it appears (a path segment, an unexpected parameter). */
const keyShaped = /sk_[A-Za-z0-9_-]{8,}/g;

export function isCredentialName(name: string): boolean {
  return credentialName.test(name);
}

/** The URL with the value of every credential-named query parameter, and any key-shaped text, redacted. */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  const path = queryStart === -1 ? url : url.slice(0, queryStart);
  const query =
    queryStart === -1
      ? ''
      : `?${url
          .slice(queryStart + 1)
          .split('&')
          .map(redactParameter)
          .join('&')}`;
  return `${path}${query}`.replaceAll(keyShaped, censor);
}

function redactParameter(parameter: string): string {
  const equals = parameter.indexOf('=');
  if (equals === -1) return parameter;
  const name = parameter.slice(0, equals);
  return isCredentialName(decodeSafely(name)) ? `${name}=${censor}` : parameter;
}

function decodeSafely(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return text;
  }
}

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'accrue' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-api-key"]',
          'req.headers.cookie',
          'req.headers["proxy-authorization"]',
          '*.apiKey',
          '*.secret',
        ],
        censor,
      },
      // Fastify's own request serializer, with the URL redacted.
      serializers: {
        req: (request: FastifyRequest) => ({
          method: request.method,
          url: redactUrl(request.url),
          host: request.host,
          remoteAddress: request.ip,
          remotePort: request.socket?.remotePort,
        }),
      },
    },
    destination,
  );
}
