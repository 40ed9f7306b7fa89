import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedgerFixture, type LedgerFixture, type Tenant, type TestApp } from '../../../test/harness.js';
import { buildWebhookTestApp, type Receiver, startReceiver } from '../../../test/webhook-receiver.js';
import { createLogger } from '../../platform/logger.js';
import { type EventWorkers, startEventWorkers } from '../events/index.js';
import { type DelivererDeps, deliverDueWebhooks } from './deliverer.js';

let t: TestApp;
let deps: DelivererDeps;
let workers: EventWorkers;

beforeAll(async () => {
  ({ t, deps } = await buildWebhookTestApp());
  workers = startEventWorkers({
    db: t.database.handle.db,
    connectionString: t.database.url,
    clock: t.testClock.clock,
    logger: createLogger('silent'),
    workerCount: 1,
    steps: [],
    leaseMs: 5000,
    pollIntervalMs: 50,
  });
});

afterAll(async () => {
  await workers.stop();
});

interface Envelope {
  id: string;
  type: string;
  organization_id: string;
  data: Record<string, unknown>;
}

async function subscribed(events: string[]): Promise<{ tenant: Tenant; receiver: Receiver }> {
  const tenant = await t.createOrganization();
  const receiver = await startReceiver();
  const created = await tenant.request('POST', '/v1/webhook-endpoints', {
    url: receiver.url,
    enabled_events: events,
  });
  expect(created.statusCode).toBe(201);
  return { tenant, receiver };
}

async function received(receiver: Receiver): Promise<Envelope[]> {
  await deliverDueWebhooks(deps);
  return receiver.received.map((request) => JSON.parse(request.body));
}

function adjust(tenant: Tenant, f: LedgerFixture, holder: string, type: string, amount: string) {
  return tenant.request('POST', `/v1/${holder}/balances/adjust`, {
    program_id: f.programId,
    asset_id: f.assetId,
    type,
    amount,
    description: 'webhook test',
  });
}

async function waitForEvent(tenant: Tenant, id: string) {
  for (let waited = 0; waited < 10_000; waited += 25) {
    const event = (await tenant.request('GET', `/v1/events/${id}`)).json();
    if (event.status === 'COMPLETED' || event.status === 'FAILED') return event;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`event ${id} did not finish`);
}

describe('webhook event types', () => {
  it('sends participant.created and one balance.* per holder for credits, debits, holds and releases', async () => {
    const { tenant, receiver } = await subscribed(['*']);
    const f = await createLedgerFixture(tenant);
    const holder = `participants/${f.participantId}`;
    expect((await adjust(tenant, f, holder, 'CREDIT', '10.00')).statusCode).toBe(200);
    expect((await adjust(tenant, f, holder, 'DEBIT', '2.50')).statusCode).toBe(200);
    const hold = await tenant.request('POST', `/v1/${holder}/balances/hold`, {
      program_id: f.programId,
      asset_id: f.assetId,
      amount: '3.00',
      reference_id: 'order-1',
      description: 'hold',
    });
    expect(hold.statusCode, hold.body).toBe(200);
    const release = await tenant.request('POST', `/v1/${holder}/balances/release`, {
      program_id: f.programId,
      asset_id: f.assetId,
      amount: '1.00',
      reference_id: 'order-1',
      description: 'release',
    });
    expect(release.statusCode, release.body).toBe(200);
    const envelopes = await received(receiver);
    expect(envelopes.map((envelope) => envelope.type)).toEqual([
      'participant.created',
      'balance.credited',
      'balance.debited',
      'balance.held',
      'balance.released',
    ]);
    expect(envelopes[0]?.data).toMatchObject({ participant_id: f.participantId, program_id: f.programId });
    expect(envelopes[1]?.data).toMatchObject({
      participant_id: f.participantId,
      asset_id: f.assetId,
      amount: '10.00',
      action_type: 'CREDIT',
    });
    expect(envelopes[1]?.data).not.toHaveProperty('group_id');
    expect(envelopes[3]?.data).toMatchObject({ amount: '3.00', reference_id: 'order-1' });
    expect(new Set(envelopes.map((envelope) => envelope.organization_id))).toEqual(
      new Set([tenant.organizationId]),
    );
  });

  it('sends settle: {held_amount, delta} on the credit that settles a provisional hold', async () => {
    const { tenant, receiver } = await subscribed(['balance.credited']);
    const f = await createLedgerFixture(tenant, { inventory_mode: 'LOT' });
    const holder = `participants/${f.participantId}`;
    const credit = (amount: string, bucket: string, reference: string) =>
      tenant.request('POST', `/v1/${holder}/balances/adjust`, {
        program_id: f.programId,
        asset_id: f.assetId,
        type: 'CREDIT',
        amount,
        bucket,
        reference_id: reference,
        description: 'card cashback',
      });
    expect((await credit('3.00', 'HELD', 'auth-1')).statusCode).toBe(200);
    const under = await credit('2.50', 'AVAILABLE', 'auth-1');
    expect(under.json().balance, under.body).toEqual({ available: '2.50', held: '0.00', deferred: '0.00' });
    expect((await credit('1.00', 'HELD', 'auth-2')).statusCode).toBe(200);
    expect((await credit('1.20', 'AVAILABLE', 'auth-2')).statusCode).toBe(200);
    const envelopes = await received(receiver);
    expect(envelopes.map((envelope) => envelope.data.settle ?? null)).toEqual([
      null,
      { held_amount: '3.00', delta: '-0.50' },
      null,
      { held_amount: '1.00', delta: '0.20' },
    ]);
    expect(envelopes[1]?.data).toMatchObject({
      participant_id: f.participantId,
      action_type: 'CREDIT',
      reference_id: 'auth-1',
      amount: '2.50',
      postings: expect.arrayContaining([
        { bucket: 'HELD', amount: '-3.00' },
        { bucket: 'AVAILABLE', amount: '2.50' },
      ]),
    });
  });

  it('names a group holder by group_id only', async () => {
    const { tenant, receiver } = await subscribed(['balance.credited']);
    const f = await createLedgerFixture(tenant);
    const group = await tenant.request('POST', '/v1/groups', {
      name: 'Household',
      members: [{ participant_id: f.participantId, role: 'ADMIN' }],
    });
    expect(group.statusCode, group.body).toBe(201);
    expect((await adjust(tenant, f, `groups/${group.json().id}`, 'CREDIT', '4.00')).statusCode).toBe(200);
    const [envelope] = await received(receiver);
    expect(envelope?.data).toMatchObject({ group_id: group.json().id, amount: '4.00' });
    expect(envelope?.data).not.toHaveProperty('participant_id');
  });

  it('sends program.funded and program.burned for a PREFUNDED wallet', async () => {
    const { tenant, receiver } = await subscribed(['program.funded', 'program.burned']);
    const f = await createLedgerFixture(tenant, { issuance_policy: 'PREFUNDED' });
    const wallet = `/v1/programs/${f.programId}/assets/${f.assetId}`;
    const funded = await tenant.request('POST', `${wallet}/fund`, { amount: '100.00', description: 'seed' });
    expect(funded.statusCode, funded.body).toBe(200);
    const burned = await tenant.request('POST', `${wallet}/burn`, { amount: '40.00', description: 'burn' });
    expect(burned.statusCode, burned.body).toBe(200);
    const envelopes = await received(receiver);
    expect(
      envelopes.map((envelope) => [envelope.type, envelope.data.amount, envelope.data.program_id]),
    ).toEqual([
      ['program.funded', '100.00', f.programId],
      ['program.burned', '40.00', f.programId],
    ]);
  });

  it('sends event.completed and event.failed with the event, its participant and the error', async () => {
    const { tenant, receiver } = await subscribed(['event.completed', 'event.failed']);
    const open = (await tenant.request('POST', '/v1/programs', { name: 'Open' })).json().id;
    const closed = (
      await tenant.request('POST', '/v1/programs', { name: 'Closed', on_unknown_participant: 'REJECT' })
    ).json().id;
    const body = (programId: string, key: string) => ({
      program_id: programId,
      external_id: `user-${key}`,
      idempotency_key: key,
      event_timestamp: '2026-01-15T10:30:00Z',
      event_data: { amount: 10 },
    });
    const completed = (await tenant.request('POST', '/v1/events', body(open, 'ok'))).json().id;
    const failed = (await tenant.request('POST', '/v1/events', body(closed, 'no'))).json().id;
    await waitForEvent(tenant, completed);
    await waitForEvent(tenant, failed);
    const byType = new Map((await received(receiver)).map((envelope) => [envelope.type, envelope.data]));
    expect(byType.get('event.completed')).toMatchObject({
      event_id: completed,
      status: 'COMPLETED',
      program_id: open,
      external_id: 'user-ok',
      error_message: null,
    });
    expect(byType.get('event.completed')?.participant_id).toEqual(expect.any(String));
    expect(byType.get('event.failed')).toMatchObject({
      event_id: failed,
      status: 'FAILED',
      program_id: closed,
    });
    expect(String(byType.get('event.failed')?.error_message)).toMatch(/does not exist/);
  });
});
