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
    const secret = readKey(request);
    const caller = secret === undefined ? undefined : await authenticate(secret);
    if (caller === undefined) throw new DomainError('unauthorized', 'invalid or revoked API key');
    request.caller = caller;
  });
}

function readKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header !== '') return header.trim();
  const authorization = request.headers.authorization;
  if (authorization === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match?.[1];
}
