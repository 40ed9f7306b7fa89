// API-key authentication for every /v1 route. Keys arrive in X-API-Key or Authorization: Bearer;
// the lookup is by the key's SHA-256 hash, so no plaintext key is stored or compared.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '../errors.js';

export interface Caller {
  organizationId: string;
  apiKeyId: string;
}

export type Authenticate = (secret: string) => Promise<Caller | undefined>;

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller;
  }
}

export function registerAuthentication(scope: FastifyInstance, authenticate: Authenticate): void {
  scope.decorateRequest('caller', undefined as unknown as Caller);
  scope.addHook('onRequest', async (request) => {
    const caller = await authenticate(readKey(request));
    if (caller === undefined) throw unauthorized('invalid or revoked API key');
    request.caller = caller;
  });
}

/** The one key a request carries, in X-API-Key or Authorization: Bearer (both only if they agree). */
function readKey(request: FastifyRequest): string {
  const header = request.headers['x-api-key'];
  const apiKey = typeof header === 'string' && header.trim() !== '' ? header.trim() : undefined;
  const authorization = request.headers.authorization?.trim() || undefined;
  const bearer = authorization === undefined ? undefined : /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
  if (apiKey !== undefined && bearer !== undefined && apiKey !== bearer)
    throw unauthorized('conflicting API keys: X-API-Key and Authorization: Bearer name different keys');
  const key = apiKey ?? bearer;
  if (key !== undefined) return key;
  if (authorization !== undefined) throw unauthorized('Authorization must be "Bearer <API key>"');
  throw unauthorized('missing API key: send X-API-Key or Authorization: Bearer');
}

function unauthorized(message: string): DomainError {
  return new DomainError('unauthorized', message);
}
