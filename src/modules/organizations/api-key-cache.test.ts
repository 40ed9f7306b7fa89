import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../test/harness.js';
import { readCacheTtlMs } from '../../platform/limits.js';

let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp();
});

describe('API keys read through the in-process cache', () => {
  it('a key revoked by another process authenticates until readCacheTtlMs after it was read, not at it', async () => {
    t.testClock.set('2026-06-01T00:00:00.000Z');
    const org = await t.createOrganization();
    expect((await org.request('GET', '/v1/programs')).statusCode).toBe(200);
    // Revoked in the database directly, as the CLI or another server process does it.
    await t.database.handle.pool.query('update api_keys set revoked_at = now() where organization_id = $1', [
      org.organizationId,
    ]);
    t.testClock.advance(readCacheTtlMs - 1);
    expect((await org.request('GET', '/v1/programs')).statusCode).toBe(200);
    t.testClock.advance(1);
    const refused = await org.request('GET', '/v1/programs');
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toEqual({ code: 'unauthorized', message: 'invalid or revoked API key' });
  });

  it('a new key works on its first request: unknown keys are not cached', async () => {
    const org = await t.createOrganization();
    expect((await org.request('GET', '/v1/programs')).statusCode).toBe(200);
  });
});
