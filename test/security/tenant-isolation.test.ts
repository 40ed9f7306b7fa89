// Tenant isolation for every route, generated from the OpenAPI document: with a second
// organization's key, every route that takes an id answers 404 for the first organization's ids,
// and no list returns the first organization's rows.
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
let owner: Tenant;
let intruder: Tenant;
let fixtures: Fixtures;
let intruderFixtures: Fixtures;
let operations: Operation[];
let doc: Awaited<ReturnType<typeof loadOperations>>['doc'];
const checked: string[] = [];

beforeAll(async () => {
  t = await buildTestApp();
  owner = await t.createOrganization();
  intruder = await t.createOrganization();
  fixtures = await createFixtures(owner, t.database.handle.db);
  intruderFixtures = await createFixtures(intruder, t.database.handle.db);
  ({ operations, doc } = await loadOperations(t.app));
});

afterAll(() => {
  process.stdout.write(`tenant isolation: ${checked.length} routes checked\n`);
});

/** A required query value: the owner's own resource for an `<resource>_id`, else a minimal example. */
function requiredValue(operation: Operation, name: string, of: Fixtures = fixtures): string {
  const resource = /^(\w+)_id$/.exec(name)?.[1];
  const owned = resource === undefined ? undefined : of[`${resource}s`];
  return owned ?? String(exampleOf(operation.query[name] ?? {}, doc));
}

/** A minimal valid body, with at least one field (a PATCH of nothing is refused before any lookup). */
function nonEmptyExample(schema: JsonSchema): unknown {
  const example = exampleOf(schema, doc);
  const resolved = resolve(schema, doc);
  const [first] = Object.entries(resolved.properties ?? {});
  if (typeof example !== 'object' || example === null || Object.keys(example).length > 0 || !first)
    return example;
  return { [first[0]]: exampleOf(first[1], doc) };
}

describe('tenant isolation on every route', () => {
  // Lists first: the intruder's own request log will later hold the paths it probed.
  it("never lists another organization's rows", async () => {
    const ownerIds = Object.values(fixtures).filter((value) => /^[0-9a-f-]{36}$/.test(value));
    for (const operation of operations.filter((op) => op.method === 'GET' && op.pathParams.length === 0)) {
      // Required parameters name the intruder's own resources: a list must still show none of the owner's.
      const query = operation.requiredQuery
        .map((name) => `${name}=${encodeURIComponent(requiredValue(operation, name, intruderFixtures))}`)
        .join('&');
      const response = await intruder.request('GET', `${operation.path}${query ? `?${query}` : ''}`);
      expect(response.statusCode, operation.path).toBe(200);
      for (const id of ownerIds) expect(response.body, operation.path).not.toContain(id);
      checked.push(`GET ${operation.path}`);
    }
  });

  it("answers 404 for another organization's ids on every route that takes one", async () => {
    for (const operation of operations.filter((op) => op.pathParams.length > 0)) {
      const query = operation.requiredQuery
        .map((name) => `${name}=${encodeURIComponent(requiredValue(operation, name))}`)
        .join('&');
      const url = `${fillPath(operation.path, pathValues(operation.path, fixtures))}${query ? `?${query}` : ''}`;
      const body = operation.body === undefined ? undefined : nonEmptyExample(operation.body);
      const response = await intruder.request(operation.method, url, body);
      expect(response.statusCode, `${operation.method} ${operation.path}`).toBe(404);
      expect(response.json().code).toBe('not_found');
      checked.push(`${operation.method} ${operation.path}`);
    }
  });
});
