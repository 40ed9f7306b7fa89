// The TypeScript client of the Accrue API: openapi-fetch over the types generated from the
// server's OpenAPI document (schema.d.ts), so every path, body and response is typed.
//
//   const accrue = createAccrueClient({ baseUrl: 'http://127.0.0.1:3000', apiKey: process.env.KEY });
//   const { data, error } = await accrue.POST('/v1/programs', { body: { name: 'Q1 Sales Bonus' } });
import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './schema.js';

export type { components, operations, paths } from './schema.js';

export interface AccrueClientOptions {
  /** Where Accrue listens, e.g. http://127.0.0.1:3000 */
  baseUrl: string;
  /** An API key, sk_... */
  apiKey: string;
  /** A fetch of your own (proxies, tests); the global one otherwise. */
  fetch?: typeof globalThis.fetch;
}

/**
 * JSON responses only: the routes that also answer CSV (`?format=csv`) would otherwise type their
 * data as JSON or a string. A CSV download through the client: `parseAs: 'text'` (a string).
 */
export type AccrueClient = Client<paths, 'application/json'>;

export function createAccrueClient(options: AccrueClientOptions): AccrueClient {
  return createClient<paths, 'application/json'>({
    baseUrl: options.baseUrl,
    headers: { 'X-API-Key': options.apiKey },
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
}
