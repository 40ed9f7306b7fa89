import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type Tenant, type TestApp } from '../../../test/harness.js';
import { readCacheTtlMs } from '../../platform/limits.js';

let t: TestApp;
let acme: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
});

const event = (programId: string, key: string) => ({
  program_id: programId,
  external_id: 'cached-status',
  idempotency_key: key,
  event_timestamp: '2026-01-01T00:00:00Z',
  event_data: { type: 'purchase' },
});

describe("ingest reads a program's status through the in-process cache", () => {
  it('a program suspended by another process accepts events until readCacheTtlMs after its status was read', async () => {
    t.testClock.set('2026-06-01T00:00:00.000Z');
    const program = (await acme.request('POST', '/v1/programs', { name: 'cached' })).json();
    expect((await acme.request('POST', '/v1/events', event(program.id, 'k1'))).statusCode).toBe(202);
    // Suspended in the database directly, as another server process does it.
    await t.database.handle.pool.query(`update programs set status = 'SUSPENDED' where id = $1`, [
      program.id,
    ]);
    t.testClock.advance(readCacheTtlMs - 1);
    expect((await acme.request('POST', '/v1/events', event(program.id, 'k2'))).statusCode).toBe(202);
    t.testClock.advance(1);
    const refused = await acme.request('POST', '/v1/events', event(program.id, 'k3'));
    expect(refused.json().code).toBe('program_inactive');
  });

  it('a program suspended through this process refuses events on the next request', async () => {
    const program = (await acme.request('POST', '/v1/programs', { name: 'suspended here' })).json();
    expect((await acme.request('POST', '/v1/events', event(program.id, 'h1'))).statusCode).toBe(202);
    const suspended = await acme.request('PATCH', `/v1/programs/${program.id}`, { status: 'SUSPENDED' });
    expect(suspended.statusCode).toBe(200);
    const refused = await acme.request('POST', '/v1/events', event(program.id, 'h2'));
    expect(refused.json().code).toBe('program_inactive');
  });
});
