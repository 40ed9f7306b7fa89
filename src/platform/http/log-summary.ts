// What the request log keeps of a request whose bodies it should not copy: a route that accepts a
// batch states a summary of it (its size and keys, the outcome counts and errors), and the log
// stores that instead of re-serializing and redacting up to a megabyte of request and response.
import type { FastifyRequest } from 'fastify';

export interface LogSummary {
  request: Record<string, unknown>;
  response: Record<string, unknown>;
}

declare module 'fastify' {
  interface FastifyRequest {
    logSummary: LogSummary | undefined;
  }
}

export function keepLogSummary(request: FastifyRequest, summary: LogSummary): void {
  request.logSummary = summary;
}
