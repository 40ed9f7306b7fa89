import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type Tenant, type TestApp } from '../../../test/harness.js';
import { DomainError } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import { eventClaimsMax } from '../../platform/limits.js';
import { createLogger } from '../../platform/logger.js';
import { claimPendingEvents } from './event-queue.store.js';
import { type EventStep, type EventWorkers, startEventWorkers } from './index.js';

let t: TestApp;
let acme: Tenant;
let other: Tenant;
let createProgram: string;
let rejectProgram: string;
let workers: EventWorkers;
/** The step under test for the current case; every event runs it. */
let currentStep: EventStep = async () => ({ outcome: 'continue' });
const leaseMs = 600;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  other = await t.createOrganization();
  createProgram = (await acme.request('POST', '/v1/programs', { name: 'Create' })).json().id;
  rejectProgram = (
    await acme.request('POST', '/v1/programs', { name: 'Reject', on_unknown_participant: 'REJECT' })
  ).json().id;
  workers = startEventWorkers({
    db: t.database.handle.db,
    connectionString: t.database.url,
    clock: t.testClock.clock,
    logger: createLogger('silent'),
    workerCount: 2,
    steps: [(trx, event, parties) => currentStep(trx, event, parties)],
    leaseMs,
    pollIntervalMs: 50,
  });
});

afterAll(async () => {
  await workers.stop();
});

let keySeq = 0;
function eventBody(overrides: Record<string, unknown> = {}) {
  keySeq += 1;
  return {
    program_id: createProgram,
    external_id: `user-${keySeq}`,
    idempotency_key: `processing-${keySeq}`,
    event_timestamp: '2024-01-15T10:30:00Z',
    event_data: { amount: 10 },
    ...overrides,
  };
}

async function send(body: Record<string, unknown>, tenant = acme): Promise<string> {
  const response = await tenant.request('POST', '/v1/events', body);
  expect(response.statusCode).toBe(202);
  return response.json().id;
}

async function waitForFinished(id: string, tenant = acme) {
  for (let waited = 0; waited < 15_000; waited += 25) {
    const event = (await tenant.request('GET', `/v1/events/${id}`)).json();
    if (event.status === 'COMPLETED' || event.status === 'FAILED') return event;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`event ${id} did not finish`);
}

async function participantByExternalId(externalId: string) {
  const page = (await acme.request('GET', `/v1/participants?external_id=${externalId}`)).json();
  const summary = page.data[0];
  return summary && (await acme.request('GET', `/v1/participants/${summary.id}`)).json();
}

describe('processing', () => {
  it('creates and enrolls an unknown participant in a CREATE program and completes the event', async () => {
    currentStep = async () => ({ outcome: 'continue' });
    const body = eventBody();
    const event = await waitForFinished(await send(body));
    const participant = await participantByExternalId(body.external_id);
    expect(participant.program_ids).toEqual([createProgram]);
    expect(event).toMatchObject({
      status: 'COMPLETED',
      error_message: null,
      participant_id: participant.id,
      external_id: body.external_id,
    });
    expect(Date.parse(event.processed_at)).not.toBeNaN();
  });

  it('fails an event of an unknown participant in a REJECT program, then retry completes it', async () => {
    const body = eventBody({ program_id: rejectProgram });
    const id = await send(body);
    const failed = await waitForFinished(id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error_message).toContain('rejects unknown participants');
    expect(failed.processed_at).not.toBeNull();
    expect(await participantByExternalId(body.external_id)).toBeUndefined();

    await acme.request('POST', '/v1/participants', { external_id: body.external_id });
    const retry = await acme.request('POST', `/v1/events/${id}/retry`);
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toEqual({
      event_id: id,
      message: 'Event queued for retry',
      previous_error: failed.error_message,
      previous_status: 'FAILED',
      status: 'PENDING',
    });
    const completed = await waitForFinished(id);
    expect(completed).toMatchObject({ status: 'COMPLETED', error_message: null });
    expect((await participantByExternalId(body.external_id)).program_ids).toEqual([rejectProgram]);
    const again = await acme.request('POST', `/v1/events/${id}/retry`);
    expect(again.statusCode).toBe(409);
  });

  it('auto-enrolls existing participants named by participant_id and resolves the recipient', async () => {
    const existing = (await acme.request('POST', '/v1/participants', { external_id: 'gifter' })).json();
    const event = await waitForFinished(
      await send(
        eventBody({ external_id: undefined, participant_id: existing.id, recipient_external_id: 'giftee' }),
      ),
    );
    const giftee = await participantByExternalId('giftee');
    expect(event).toMatchObject({
      status: 'COMPLETED',
      participant_id: existing.id,
      external_id: 'gifter',
      recipient_id: giftee.id,
    });
    expect((await participantByExternalId('gifter')).program_ids).toEqual([createProgram]);
    expect(giftee.program_ids).toEqual([createProgram]);
  });

  it('fails an event naming an unknown participant_id with a clear message', async () => {
    const missing = '0190a1b2-0000-7000-8000-0000000000aa';
    const event = await waitForFinished(
      await send(eventBody({ external_id: undefined, participant_id: missing })),
    );
    expect(event.status).toBe('FAILED');
    expect(event.error_message).toBe(`participant ${missing} not found`);
  });

  it('rolls back every effect of an event whose step fails, and records the step’s message', async () => {
    currentStep = async () => ({
      outcome: 'fail',
      errorMessage: 'action CREDIT failed: amount exceeds asset scale',
    });
    const body = eventBody();
    const event = await waitForFinished(await send(body));
    currentStep = async () => ({ outcome: 'continue' });
    expect(event).toMatchObject({
      status: 'FAILED',
      error_message: 'action CREDIT failed: amount exceeds asset scale',
    });
    expect(await participantByExternalId(body.external_id)).toBeUndefined();
  });

  it('ends FAILED at once on a DomainError thrown by a step', async () => {
    let calls = 0;
    currentStep = async () => {
      calls += 1;
      throw new DomainError('insufficient_balance', 'action DEBIT failed: insufficient balance');
    };
    const event = await waitForFinished(await send(eventBody()));
    currentStep = async () => ({ outcome: 'continue' });
    expect(event).toMatchObject({
      status: 'FAILED',
      error_message: 'action DEBIT failed: insufficient balance',
    });
    expect(calls).toBe(1);
  });

  it('retries transient database errors with backoff and completes the event once', async () => {
    let calls = 0;
    currentStep = async () => {
      calls += 1;
      if (calls < 3) throw Object.assign(new Error('could not serialize access'), { code: '40001' });
      return { outcome: 'continue' };
    };
    const event = await waitForFinished(await send(eventBody()));
    currentStep = async () => ({ outcome: 'continue' });
    expect(event.status).toBe('COMPLETED');
    expect(calls).toBe(3);
  });

  it('hands an event back after a lost connection and completes it on a later claim', async () => {
    let calls = 0;
    currentStep = async () => {
      calls += 1;
      if (calls === 1)
        throw Object.assign(new Error('terminating connection due to administrator command'), {
          code: '57P01',
        });
      return { outcome: 'continue' };
    };
    const id = await send(eventBody());
    const event = await waitForFinished(id);
    currentStep = async () => ({ outcome: 'continue' });
    expect(event.status).toBe('COMPLETED');
    expect(calls).toBe(2);
  });

  it('fails an event that was claimed more often than the bound, instead of looping on it', async () => {
    const id = await send(eventBody());
    await waitForFinished(id);
    await sql`
      with retried as (delete from event_outcomes where event_id = ${id}),
      pending as (select organization_id, id, ingest_seq, ordering_key from events where id = ${id})
      insert into event_queue (organization_id, event_id, ingest_seq, ordering_key, available_at, claim_count)
      select organization_id, id, ingest_seq, ordering_key, now(), ${eventClaimsMax} from pending`.execute(
      t.database.handle.db,
    );
    const event = await waitForFinished(id);
    expect(event.status).toBe('FAILED');
    expect(event.error_message).toContain('processing abandoned');
  });

  it('applies the events of one participant one at a time in ingestion order, others in parallel', async () => {
    const seen = new Map<string, number[]>();
    const inFlight = new Map<string, number>();
    let overlapped = false;
    let parallel = 0;
    let peakParallel = 0;
    // A step waits (until this deadline at most) for another participant's step to run beside it: a
    // parallel engine always gets one, however late the machine starts the second transaction; a
    // serial engine never does, and fails the test at the deadline.
    const companyDeadline = Date.now() + 5_000;
    currentStep = async (_trx, event) => {
      const who = event.external_id ?? '';
      inFlight.set(who, (inFlight.get(who) ?? 0) + 1);
      parallel += 1;
      peakParallel = Math.max(peakParallel, parallel);
      if ((inFlight.get(who) ?? 0) > 1) overlapped = true;
      while (peakParallel < 2 && Date.now() < companyDeadline)
        await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setTimeout(resolve, 2));
      seen.set(who, [...(seen.get(who) ?? []), Number(event.event_data.n)]);
      inFlight.set(who, (inFlight.get(who) ?? 1) - 1);
      parallel -= 1;
      return { outcome: 'continue' };
    };
    const events = Array.from({ length: 60 }, (_, n) =>
      eventBody({ external_id: `ordered-${n % 4}`, event_data: { n } }),
    );
    const response = await acme.request('POST', '/v1/events/batch', { events });
    const ids = response.json().results.map((r: { event: { id: string } }) => r.event.id);
    for (const id of ids) expect((await waitForFinished(id)).status).toBe('COMPLETED');
    currentStep = async () => ({ outcome: 'continue' });
    expect(overlapped).toBe(false);
    expect(peakParallel).toBeGreaterThan(1);
    for (let who = 0; who < 4; who += 1) {
      const expected = Array.from({ length: 15 }, (_, i) => i * 4 + who);
      expect(seen.get(`ordered-${who}`)).toEqual(expected);
    }
  });

  it('takes back an event whose worker died holding it, and fences off the dead claim', async () => {
    await workers.stop();
    const id = await send(eventBody());
    const deadToken = newId();
    const claimed = await claimPendingEvents(t.database.handle.db, deadToken, 100, 50);
    expect(claimed.map((event) => event.id)).toContain(id);
    expect((await acme.request('GET', `/v1/events/${id}`)).json().status).toBe('PROCESSING');
    workers = startEventWorkers({
      db: t.database.handle.db,
      connectionString: t.database.url,
      clock: t.testClock.clock,
      logger: createLogger('silent'),
      workerCount: 1,
      steps: [],
      leaseMs,
      pollIntervalMs: 50,
    });
    const event = await waitForFinished(id);
    expect(event.status).toBe('COMPLETED');
    const result = await sql<{
      claim_count: number;
    }>`select claim_count from events_with_status where id = ${id}`.execute(t.database.handle.db);
    expect(result.rows[0]?.claim_count).toBe(2);
  });

  it('keeps organizations apart: another organization cannot see or retry the event', async () => {
    const id = await send(eventBody());
    await waitForFinished(id);
    expect((await other.request('GET', `/v1/events/${id}`)).statusCode).toBe(404);
    expect((await other.request('POST', `/v1/events/${id}/retry`)).statusCode).toBe(404);
  });
});
