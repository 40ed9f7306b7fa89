// A read-only process (ACCRUE_READ_ONLY, an API process on a report replica) refuses every write
// with 503 read_only before the request is authenticated or its body read, so that the refusal
// touches no database. Reads, including the few queries sent as POST (`config.readsOnly`), pass.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../errors.js';
import { readOnlyMessage } from './error-handler.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A POST that only reads (a validation, a simulation): a read-only process answers it. */
    readsOnly?: boolean;
  }
}

const readMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether a route writes: any method but GET, HEAD and OPTIONS, unless it declares it only reads. */
export function isWriteRoute(
  method: string | string[],
  config: { readsOnly?: boolean } | undefined,
): boolean {
  const methods = Array.isArray(method) ? method : [method];
  return config?.readsOnly !== true && methods.some((candidate) => !readMethods.has(candidate));
}

export function refuseWrites(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    // An unknown URL answers 404 as on any process.
    if (request.routeOptions.url === undefined) return;
    if (isWriteRoute(request.method, request.routeOptions.config)) {
      throw new DomainError('read_only', readOnlyMessage);
    }
  });
}

interface DocumentedRoute {
  schema?: { response?: Record<string, unknown> } & Record<string, unknown>;
  url: string;
  route: { method: string | string[]; config?: { readsOnly?: boolean } };
}

/**
 * The API reference lists 503 read_only on every write, beside the route's own 503 codes: any
 * deployment may put read-only processes behind its load balancer.
 */
export function documentReadOnlyRefusal({ schema, url, route }: DocumentedRoute) {
  if (schema?.response === undefined || !isWriteRoute(route.method, route.config)) return { schema, url };
  const existing = schema.response[503] as { description?: string } | undefined;
  const description = existing?.description ? `${existing.description}, read_only` : 'read_only';
  return {
    schema: { ...schema, response: { ...schema.response, 503: Type.Ref('Error', { description }) } },
    url,
  };
}
