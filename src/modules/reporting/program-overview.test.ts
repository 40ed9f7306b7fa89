// GET /v1/reports/program-overview: the counts the console's overview polls, per program.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, createLedgerFixture, type Tenant, type TestApp } from '../../../test/harness.js';

let t: TestApp;
let acme: Tenant;
let other: Tenant;
let programId: string;

async function sendEvent(key: string, created?: string) {
  const response = await acme.request('POST', '/v1/events', {
    program_id: programId,
    external_id: 'overview-user',
    idempotency_key: key,
    event_timestamp: '2026-12-01T10:00:00Z',
    event_data: { type: 'purchase' },
  });
  expect(response.statusCode).toBe(202);
  const id = response.json().id as string;
  if (created !== undefined)
    await t.database.handle.pool.query('update events set created_at = $1 where id = $2', [created, id]);
  return id;
}

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  other = await t.createOrganization();
  programId = (await createLedgerFixture(acme)).programId;
});

describe('GET /v1/reports/program-overview', () => {
  it('counts enrolled participants, recent events, the unprocessed backlog and FAILED events', async () => {
    t.testClock.set('2026-12-04T12:00:00Z');
    await sendEvent('recent-1', '2026-12-04T11:58:00Z');
    await sendEvent('recent-2', '2026-12-04T11:59:59Z');
    const old = await sendEvent('old', '2026-12-04T11:54:59Z');
    const failed = await sendEvent('failed', '2026-12-04T11:00:00Z');
    await t.database.handle.pool.query(
      `with finished as (delete from event_queue where event_id = $1 returning organization_id, event_id)
       insert into event_outcomes (organization_id, event_id, status, claim_count, processed_at)
       select organization_id, event_id, 'COMPLETED', 1, now() from finished`,
      [old],
    );
    await t.database.handle.pool.query(
      `with finished as (delete from event_queue where event_id = $1 returning organization_id, event_id)
       insert into event_outcomes (organization_id, event_id, status, error_message, claim_count, processed_at)
       select organization_id, event_id, 'FAILED', 'boom', 1, now() from finished`,
      [failed],
    );

    const response = await acme.request('GET', `/v1/reports/program-overview?program_id=${programId}`);

    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      program_id: programId,
      as_of: '2026-12-04T12:00:00.000Z',
      participants: 1,
      events_last_5_minutes: 2,
      events_per_minute: 0.4,
      backlog: 2,
      failed: 1,
    });
  });

  it('answers 400 bad_request naming program_id when it is missing', async () => {
    const response = await acme.request('GET', '/v1/reports/program-overview');
    expect(response.statusCode).toBe(400);
    expect(response.json().details.field).toBe('program_id');
  });

  it("answers 404 for another organization's program and 401 without a key", async () => {
    const foreign = await other.request('GET', `/v1/reports/program-overview?program_id=${programId}`);
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().code).toBe('not_found');
    const anonymous = await t.app.inject({ url: `/v1/reports/program-overview?program_id=${programId}` });
    expect(anonymous.statusCode).toBe(401);
  });

  it('is in the OpenAPI document with its operationId and an example', async () => {
    const document = (await t.app.inject({ url: '/openapi.json' })).json();
    const operation = document.paths['/v1/reports/program-overview'].get;
    expect(operation.operationId).toBe('getProgramOverview');
    expect(document.components.schemas.ProgramOverview.examples[0].participants).toBe(100000);
  });
});
