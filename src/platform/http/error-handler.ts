// Every error leaves as {code, message, details?} with a stable code. Expected errors carry their
// own message; anything unexpected is logged in full and answered with a generic 500.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable, isReadOnlyRefusal } from '../db/transaction.js';
import { badRequest, DomainError, type ErrorCode, errorStatusByCode } from '../errors.js';
import { describeValidationErrors } from './validation.js';

const fastifyCodes: Record<string, [ErrorCode, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['payload_too_large', 'request body is larger than 1 MiB'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['unsupported_media_type', 'Content-Type must be application/json'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['invalid_json', 'request body is not valid JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['invalid_json', 'request body is empty; send a JSON object'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['bad_request', 'Content-Length does not match the body'],
};

const retryAfterSeconds = 1;

export const readOnlyMessage =
  'this Accrue process is read-only (a report replica): send writes to a process on the primary database';

/** Errors the router raises before a route runs (Fastify's frameworkErrors). */
const routerCodes: Record<string, [ErrorCode, string]> = {
  FST_ERR_BAD_URL: ['bad_request', 'the URL has an invalid percent-encoding'],
  FST_ERR_MAX_PARAM_LENGTH: ['uri_too_long', 'a path segment of the URL is too long'],
};

/** Errors Node's HTTP parser raises before Fastify sees a request (the server's clientError). */
const clientCodes: Record<string, [ErrorCode, string]> = {
  HPE_HEADER_OVERFLOW: [
    'headers_too_large',
    'the request line and headers are larger than the server accepts',
  ],
  ERR_HTTP_REQUEST_TIMEOUT: ['request_timeout', 'the request was not received in time'],
};

/** Answers router errors (a path parameter too long, a bad percent-encoding) in the error envelope. */
export function handleFrameworkError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const [code, message] = routerCodes[error.code] ?? ['bad_request', 'the request cannot be routed'];
  reply.header('X-Request-Id', request.id);
  sendError(reply, code, message);
}

/**
 * Answers what Node's HTTP parser refuses (headers too large, a malformed request, a timeout) in the
 * error envelope, written to the socket as Fastify's default handler does, then closes it.
 */
export function handleClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, message] = clientCodes[error.code ?? ''] ?? ['bad_request', 'the request is not valid HTTP'];
  const status = errorStatusByCode[code];
  const body = JSON.stringify({ code, message });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => handleError(error, request, reply));
  app.setNotFoundHandler((request, reply) => {
    sendError(reply, 'not_found', `no route for ${request.method} ${request.url.split('?')[0]}`);
  });
}

function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof DomainError) {
    sendError(reply, error.code, error.message, error.details);
    return;
  }
  if (error.validation) {
    const fields = describeValidationErrors(error.validation as never, error.validationContext);
    const problem = badRequest(fields);
    sendError(reply, problem.code, problem.message, problem.details);
    return;
  }
  const known = error.code === undefined ? undefined : fastifyCodes[error.code];
  if (known) {
    sendError(reply, known[0], known[1]);
    return;
  }
  if (error instanceof SyntaxError) {
    sendError(reply, 'invalid_json', 'request body is not valid JSON');
    return;
  }
  if (isDatabaseUnavailable(error)) {
    request.log.warn({ err: error }, 'database unavailable');
    reply.header('Retry-After', String(retryAfterSeconds));
    sendError(reply, 'service_unavailable', 'the database is unavailable; retry shortly');
    return;
  }
  if (isReadOnlyRefusal(error)) {
    // A write that reached a read-only session (a replica, ACCRUE_READ_ONLY): refused, nothing written.
    request.log.warn({ err: error }, 'write refused by a read-only database');
    sendError(reply, 'read_only', readOnlyMessage);
    return;
  }
  request.log.error({ err: error }, 'unexpected error');
  sendError(reply, 'internal_error', 'internal error');
}

function sendError(reply: FastifyReply, code: ErrorCode, message: string, details?: object): void {
  const body: Record<string, unknown> = { code, message };
  if (details !== undefined) body.details = details;
  reply.status(errorStatusByCode[code]).type('application/json').send(body);
}
