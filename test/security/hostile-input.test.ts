// Hostile input for every route, generated from the OpenAPI document: wrong types, missing and extra
// fields, over-long and unstorable strings, malformed amounts, bad UUIDs, tampered cursors,
// oversized and deeply nested bodies. Every answer must be a 4xx with the error body, and nothing
// may change in the database.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type Tenant, type TestApp } from '../harness.js';
import { createFixtures, type Fixtures, pathValues } from './fixtures.js';
import {
  exampleOf,
  fillPath,
  type JsonSchema,
  loadOperations,
  type Operation,
  resolve,
} from './openapi-walk.js';

let t: TestApp;
let tenant: Tenant;
let fixtures: Fixtures;
let operations: Operation[];
let doc: Awaited<ReturnType<typeof loadOperations>>['doc'];
const triedPerRoute = new Map<string, number>();

beforeAll(async () => {
  t = await buildTestApp();
  tenant = await t.createOrganization();
  fixtures = await createFixtures(tenant, t.database.handle.db);
  ({ operations, doc } = await loadOperations(t.app));
});

afterAll(() => {
  const lines = [...triedPerRoute].map(([route, count]) => `  ${String(count).padStart(5)}  ${route}`);
  const total = [...triedPerRoute.values()].reduce((sum, count) => sum + count, 0);
  process.stdout.write(
    `hostile inputs tried per route (${total} in all, ${triedPerRoute.size} routes):\n${lines.join('\n')}\n`,
  );
});

const malformedAmounts = ['1e5', '0x10', '-0', ' 1', 'NaN', '1.', '.5', '1'.repeat(40), '-1', 'Infinity'];
const unstorable = ['nul\u0000byte', 'lone\ud800surrogate'];
const deeplyNested = JSON.parse(`${'['.repeat(500)}${']'.repeat(500)}`) as unknown;

/** The schema itself, or its non-null option when it is "X or null". */
function mainOption(schema: JsonSchema): { schema: JsonSchema; types: (string | undefined)[] } {
  const options = (schema.anyOf ?? schema.oneOf ?? [schema]).map((option) => resolve(option, doc));
  const types = options.flatMap((option) => (Array.isArray(option.type) ? option.type : [option.type]));
  return { schema: options.find((option) => option.type !== 'null') ?? schema, types };
}

/** Values that the property's schema refuses. */
function invalidValuesFor(property: JsonSchema): unknown[] {
  const values: unknown[] = [];
  const { schema, types: type } = mainOption(property);
  if (!type.includes('object') && type[0] !== undefined) values.push({ nested: { object: true } });
  if (!type.includes('array') && type[0] !== undefined) values.push([1, 2]);
  if (!type.includes('string')) values.push('a string');
  if (!type.includes('number') && !type.includes('integer')) values.push(12345, 1e300);
  if (!type.includes('boolean')) values.push(true);
  if (type.includes('string')) {
    values.push(...unstorable);
    if (schema.maxLength !== undefined) values.push('x'.repeat(schema.maxLength + 1));
    if (schema.enum !== undefined) values.push('NOT_A_VALUE');
    if (schema.format === 'uuid') values.push('not-a-uuid', '01900000-0000-7000-8000-00000000000g');
    if (schema.format === 'date-time') values.push('yesterday', '2024-13-45T99:00:00Z');
    const pattern = schema.pattern === undefined ? undefined : new RegExp(schema.pattern, 'u');
    if (pattern) values.push(...malformedAmounts.filter((amount) => !pattern.test(amount)));
  }
  if (type.includes('integer')) values.push(1.5, '7');
  if (schema.minimum !== undefined) values.push(schema.minimum - 1);
  if (schema.maximum !== undefined) values.push(schema.maximum + 1);
  return values;
}

function bodyCases(body: JsonSchema): unknown[] {
  const schema = resolve(body, doc);
  const base = exampleOf(schema, doc) as Record<string, unknown>;
  const cases: unknown[] = [[], 'text', 42, null, deeplyNested, { ...base, unexpected_field: 1 }];
  for (const key of schema.required ?? []) {
    const { [key]: _dropped, ...rest } = base;
    cases.push(rest);
  }
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    for (const value of invalidValuesFor(resolve(property, doc))) cases.push({ ...base, [key]: value });
  }
  return cases;
}

/** Query values arrive as text, so "7" is a fine integer there; these are refused whatever the coercion. */
function invalidQueryValuesFor(parameter: JsonSchema): string[] {
  const { schema, types: type } = mainOption(parameter);
  const values = ['nul\u0000byte'];
  if (type.includes('integer') || type.includes('number')) values.push('abc', '1e999x');
  if (type.includes('integer')) values.push('1.5');
  if (schema.minimum !== undefined) values.push(String(schema.minimum - 1));
  if (schema.maximum !== undefined) values.push(String(schema.maximum + 1));
  if (type.includes('boolean')) values.push('maybe');
  if (schema.enum !== undefined) values.push('NOT_A_VALUE');
  if (schema.format === 'uuid') values.push('not-a-uuid');
  if (schema.format === 'date-time') values.push('yesterday', '2024-13-45T99:00:00Z');
  if (schema.maxLength !== undefined) values.push('x'.repeat(schema.maxLength + 1));
  const pattern = schema.pattern === undefined ? undefined : new RegExp(schema.pattern, 'u');
  if (pattern) values.push(...malformedAmounts.filter((amount) => !pattern.test(amount)));
  return values;
}

function invalidPathValuesFor(schema: JsonSchema): string[] {
  if (schema.format === 'uuid') return ['not-a-uuid', '1', 'x'.repeat(300)];
  const values = ['nul\u0000byte'];
  if (schema.maxLength !== undefined) values.push('x'.repeat(schema.maxLength + 1));
  return values;
}

function queryCases(query: Record<string, JsonSchema>): string[] {
  // Routes that take a query refuse parameters they do not know; routes that take none ignore them.
  const cases = Object.keys(query).length > 0 ? ['unknown_param=1'] : [];
  for (const [name, schema] of Object.entries(query)) {
    for (const value of invalidQueryValuesFor(resolve(schema, doc)))
      cases.push(`${name}=${encodeURIComponent(value)}`);
    if (name === 'cursor') cases.push('cursor=dGFtcGVyZWQ', `cursor=${'A'.repeat(2000)}`);
  }
  return cases;
}

async function rowCounts(): Promise<string> {
  const { rows } = await t.database.handle.pool.query<{ table_name: string }>(
    "select table_name from information_schema.tables where table_schema = 'public' and table_name not in ('request_logs')",
  );
  const counts = await Promise.all(
    rows.map(async ({ table_name }) => {
      const result = await t.database.handle.pool.query(`select count(*) from ${table_name}`);
      return `${table_name}=${result.rows[0].count}`;
    }),
  );
  return counts.sort().join(' ');
}

function expectClientError(response: { statusCode: number; json(): unknown }, what: string): void {
  if (response.statusCode < 400 || response.statusCode >= 500) {
    throw new Error(
      `${what} answered ${response.statusCode}: ${JSON.stringify(response.json()).slice(0, 300)}`,
    );
  }
  const body = response.json() as { code?: unknown; message?: unknown };
  expect(typeof body.code, what).toBe('string');
  expect(typeof body.message, what).toBe('string');
}

describe('hostile input on every route', () => {
  it('answers every malformed request with a 4xx error body and changes nothing', async () => {
    expect(operations.length).toBeGreaterThan(5);
    const before = await rowCounts();
    for (const operation of operations) {
      const route = `${operation.method} ${operation.path}`;
      const url = fillPath(operation.path, pathValues(operation.path, fixtures));
      const requests: { url: string; payload?: unknown; raw?: string }[] = [];
      if (operation.body) {
        for (const payload of bodyCases(operation.body)) requests.push({ url, payload });
        requests.push({ url, raw: `{"oversized": "${'x'.repeat(1024 * 1024)}"}` });
        requests.push({ url, raw: '{"truncated": ' });
      }
      for (const query of queryCases(operation.query)) requests.push({ url: `${url}?${query}` });
      for (const param of operation.pathParams) {
        for (const bad of invalidPathValuesFor(resolve(operation.pathSchemas[param] ?? {}, doc))) {
          const values = { ...pathValues(operation.path, fixtures), [param]: bad };
          requests.push({ url: fillPath(operation.path, values), payload: operation.body ? {} : undefined });
        }
      }
      // A route without body, query or path parameters has nothing to malform.
      if (requests.length === 0) continue;
      // A sample of random mixes on top of the systematic cases.
      const random = fc.sample(fc.constantFrom(...requests), 10);
      for (const request of [...requests, ...random]) {
        const response = await t.app.inject({
          method: operation.method as 'GET',
          url: request.url,
          headers: { 'x-api-key': tenant.key, 'content-type': 'application/json' },
          ...(request.raw !== undefined
            ? { payload: request.raw }
            : request.payload !== undefined || operation.body
              ? { payload: JSON.stringify(request.payload ?? null) }
              : {}),
        });
        expectClientError(
          response,
          `${route} with ${request.url} ${JSON.stringify(request.payload)?.slice(0, 120)}`,
        );
      }
      triedPerRoute.set(route, requests.length + random.length);
    }
    expect(await rowCounts()).toBe(before);
    // About 4,800 requests: 23 s alone on the 2-core machine, past 30 s when CI's other suites share it.
  }, 120_000);
});
