// The batched path must give exactly what the one-at-a-time path gives. The same generated events
// go to two databases: plain ones, events that create their participant, members named by id or by
// external_id in the same claim, and ones the batch hands to the per-event path (referrals to
// another participant, attribute changes, amounts over the asset's scale, which fail). One side
// applies them one at a time, the other in batched claims. Balances, lots, counters, tags,
// attributes, tier levels, every event's status and error, and every evaluation must come out the
// same.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type Tenant, type TestApp } from '../../../test/harness.js';
import { createLogger } from '../../platform/logger.js';
import {
  type ClaimBatchFactory,
  createRulesBatch,
  createRulesStep,
  type EventWorkers,
  startEventWorkers,
} from './index.js';

interface Side {
  t: TestApp;
  tenant: Tenant;
  programId: string;
  /** Members' participant ids on this side, for events that name them by id. */
  memberIds: Map<string, string>;
  workers?: EventWorkers;
}

// Members exist before the events; newcomers are created by their first event. Only members are
// referred: an event's effects on another participant are ordered only per participant, so a
// referral to a participant its own first event creates could go either way on either path.
const members = Array.from({ length: 12 }, (_, index) => `member-${index}`);
const newcomers = Array.from({ length: 4 }, (_, index) => `newcomer-${index}`);
const participants = [...members, ...newcomers];
let batchedApplications = 0;
let sides: { perEvent: Side; batched: Side };

beforeAll(async () => {
  sides = { perEvent: await setUpSide(), batched: await setUpSide() };
});

afterAll(async () => {
  await sides.perEvent.workers?.stop();
  await sides.batched.workers?.stop();
});

async function setUpSide(): Promise<Side> {
  const t = await buildTestApp();
  t.testClock.set('2026-03-01T12:00:00Z');
  const tenant = await t.createOrganization();
  const programId = (await tenant.request('POST', '/v1/programs', { name: 'Equivalence' })).json().id;
  const asset = async (symbol: string, mode: string) =>
    (
      await tenant.request('POST', '/v1/assets', {
        program_id: programId,
        name: symbol,
        symbol,
        inventory_mode: mode,
        issuance_policy: 'UNLIMITED',
        scale: 2,
      })
    ).json().id;
  const points = await asset('PTS', 'SIMPLE');
  const miles = await asset('MILE', 'LOT');
  for (const rule of equivalenceRules(points, miles)) {
    const created = await tenant.request('POST', '/v1/rules', { program_id: programId, ...rule });
    expect(created.statusCode, created.body).toBe(201);
  }
  const tier = await tenant.request('POST', `/v1/programs/${programId}/tiers`, {
    key: 'status',
    levels: [
      { key: 'member', rank: 0 },
      {
        key: 'silver',
        rank: 1,
        qualification: { mode: 'ALL', criteria: [{ counter: 'spend', operator: '>=', threshold: 100 }] },
      },
      {
        key: 'gold',
        rank: 2,
        qualification: { mode: 'ALL', criteria: [{ counter: 'spend', operator: '>=', threshold: 400 }] },
      },
    ],
  });
  expect(tier.statusCode, tier.body).toBe(201);
  const memberIds = new Map<string, string>();
  for (const externalId of members) {
    const created = await tenant.request('POST', '/v1/participants', { external_id: externalId });
    expect(created.statusCode, created.body).toBe(201);
    memberIds.set(externalId, created.json().id);
  }
  return { t, tenant, programId, memberIds };
}

function equivalenceRules(points: string, miles: string) {
  const credit = (asset: string, amount: string, extra: Record<string, unknown> = {}) => ({
    type: 'CREDIT',
    asset_id: asset,
    amount,
    ...extra,
  });
  return [
    {
      name: 'Counters',
      order: 10,
      condition: 'event.type == "purchase"',
      actions: [
        { type: 'COUNTER', key: 'streak', value: '1', reset_after: '48h' },
        { type: 'COUNTER', key: 'spend', value: 'event.amount' },
      ],
    },
    {
      name: 'Welcome',
      order: 20,
      condition: '!("welcomed" in participant.tags)',
      actions: [credit(points, '100'), { type: 'TAG', tag: 'Welcomed' }],
    },
    {
      name: 'Referral',
      order: 30,
      condition: 'has(event.referrer_id)',
      actions: [credit(points, '50', { target: { type: 'PARTICIPANT', external_id: 'event.referrer_id' } })],
    },
    {
      name: 'Channel',
      order: 40,
      condition: 'has(event.channel)',
      actions: [{ type: 'SET_ATTRIBUTE', key: 'channel', value: 'event.channel' }],
    },
    {
      name: 'Gold bonus',
      order: 50,
      condition: '"status" in participant.tiers && participant.tiers.status.rank >= 2',
      actions: [credit(points, '5')],
    },
    {
      name: 'Travel',
      order: 500,
      stop_after_match: true,
      condition: 'event.category == "travel"',
      actions: [credit(miles, 'event.amount * 2.0', { expires_at: '720h' })],
    },
    {
      name: 'Base earn',
      order: 1000,
      condition: 'event.type == "purchase"',
      actions: [credit(points, 'event.amount')],
    },
  ];
}

/** The value in one case out of `every`, null otherwise. */
function sometimes<T>(arbitrary: fc.Arbitrary<T>, every: number): fc.Arbitrary<T | null> {
  return fc.oneof({ arbitrary: fc.constant(null), weight: every - 1 }, { arbitrary, weight: 1 });
}

const eventArbitrary = fc.record({
  participant: fc.constantFrom(...participants),
  category: fc.constantFrom('grocery', 'travel', 'fuel'),
  cents: fc.integer({ min: 1, max: 20_000 }),
  // A third decimal makes the base earn exceed the asset's scale: the event fails, both ways.
  overScale: fc.boolean().map((value) => value && Math.random() < 0.1),
  referrer: sometimes(fc.constantFrom(...members, 'nobody'), 8),
  channel: sometimes(fc.constantFrom('app', 'web'), 6),
  hours: fc.integer({ min: 0, max: 200 }),
  // A member named by participant_id instead: one claim may name a participant both ways.
  byId: sometimes(fc.constant(true), 4),
});

type Draft = typeof eventArbitrary extends fc.Arbitrary<infer T> ? T : never;

function eventBodies(programId: string, drafts: Draft[]) {
  let hours = 0;
  return drafts.map((draft, index) => {
    hours += draft.hours % 7;
    const amount = draft.overScale ? Number((draft.cents / 100 + 0.005).toFixed(3)) : draft.cents / 100;
    return {
      program_id: programId,
      external_id: draft.participant,
      byId: draft.byId === true,
      idempotency_key: `equivalence-${index}`,
      event_timestamp: new Date(Date.parse('2026-03-01T00:00:00Z') + hours * 3_600_000).toISOString(),
      event_data: {
        type: 'purchase',
        amount,
        category: draft.category,
        ...(draft.referrer === null ? {} : { referrer_id: draft.referrer }),
        ...(draft.channel === null ? {} : { channel: draft.channel }),
      },
    };
  });
}

function startWorkers(side: Side, batched: boolean): EventWorkers {
  const { db } = side.t.database.handle;
  const clock = side.t.testClock.clock;
  return startEventWorkers({
    db,
    connectionString: side.t.database.url,
    clock,
    logger: createLogger('silent'),
    // One worker applying whole claims: events that act on other participants (referrals) make
    // concurrent claims wait on each other's locks, which tells nothing about equivalence.
    workerCount: 1,
    steps: [createRulesStep({ db, clock })],
    ...(batched ? { batch: countingBatch(createRulesBatch({ db, clock })) } : {}),
    leaseMs: 15_000,
    claimBatchSize: 100,
    concurrency: 1,
    pollIntervalMs: 50,
  });
}

/** Counts the events the batch applied itself, to show the batched side really batched. */
function countingBatch(factory: ClaimBatchFactory): ClaimBatchFactory {
  return async (trx, events) => {
    const batch = await factory(trx, events);
    return {
      ...batch,
      async apply(event) {
        const outcome = await batch.apply(event);
        if (outcome !== undefined) batchedApplications += 1;
        return outcome;
      },
    };
  };
}

async function ingestAndProcess(side: Side, batched: boolean, bodies: ReturnType<typeof eventBodies>) {
  for (let start = 0; start < bodies.length; start += 100) {
    const events = bodies.slice(start, start + 100).map(({ byId, external_id, ...body }) => {
      const participantId = byId ? side.memberIds.get(external_id) : undefined;
      const named = participantId === undefined ? { external_id } : { participant_id: participantId };
      return { ...body, ...named, program_id: side.programId };
    });
    const response = await side.tenant.request('POST', '/v1/events/batch', { events });
    expect(response.statusCode, response.body).toBe(202);
  }
  side.workers = startWorkers(side, batched);
  const pool = side.t.database.handle.pool;
  for (let attempt = 0; attempt < 1200; attempt += 1) {
    const { rows } = await pool.query(
      "select count(*)::int as n from events where status in ('PENDING', 'PROCESSING')",
    );
    if (rows[0].n === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('events were not processed');
}

/** Everything the events produced, named by external ids and idempotency keys (ids differ). */
async function outcome(side: Side, count: number) {
  const { tenant } = side;
  const assets = (await tenant.request('GET', '/v1/assets?limit=100')).json().data as {
    id: string;
    symbol: string;
  }[];
  const symbol = (id: string) => assets.find((asset) => asset.id === id)?.symbol;
  const people: Record<string, unknown> = {};
  for (const externalId of participants) {
    const [found] = (await tenant.request('GET', `/v1/participants?external_id=${externalId}`)).json().data;
    if (found === undefined) continue;
    const view = (await tenant.request('GET', `/v1/participants/${found.id}`)).json();
    people[externalId] = {
      balances: (view.balances as { asset_id: string }[]).map(({ asset_id, ...rest }) => ({
        asset: symbol(asset_id),
        ...rest,
      })),
      counters: view.counters,
      tags: view.tags,
      attributes: view.attributes,
      tiers: view.tiers,
      // Each level change recorded once: a stale view of the tier rows would record one twice.
      tierChanges: (
        await tenant.request(
          'GET',
          `/v1/participants/${found.id}/activity/state-history?state_type=tier&limit=100`,
        )
      )
        .json()
        .data.map(
          (change: { operation: string; old_value: string | null; new_value: string | null }) =>
            `${change.operation}:${change.old_value}->${change.new_value}`,
        )
        .sort(),
    };
  }
  const events: unknown[] = [];
  let cursor: string | undefined;
  do {
    const page = (
      await tenant.request('GET', `/v1/events?limit=100&sort_dir=asc${cursor ? `&cursor=${cursor}` : ''}`)
    ).json();
    for (const event of page.data) {
      const full = (await tenant.request('GET', `/v1/events/${event.id}?include_skipped=true`)).json();
      events.push({
        key: full.idempotency_key,
        status: full.status,
        error: full.error_message ?? null,
        evaluations: (full.rule_evaluations as { status: string; reason: string | null }[]).map(
          (evaluation) => `${evaluation.status}:${evaluation.reason}`,
        ),
      });
    }
    cursor = page.pagination.has_more ? page.pagination.next_cursor : undefined;
  } while (cursor !== undefined);
  expect(events).toHaveLength(count);
  return { people, events };
}

describe('batched claims', () => {
  it('produce exactly what applying the events one at a time produces', async () => {
    const drafts = fc.sample(eventArbitrary, { numRuns: 400, seed: 20261122 });
    const bodies = eventBodies(sides.perEvent.programId, drafts);
    await ingestAndProcess(sides.perEvent, false, bodies);
    await ingestAndProcess(sides.batched, true, bodies);
    const expected = await outcome(sides.perEvent, bodies.length);
    const actual = await outcome(sides.batched, bodies.length);
    expect(actual.events).toEqual(expected.events);
    expect(actual.people).toEqual(expected.people);
    const statuses = (expected.events as { status: string }[]).map((event) => event.status);
    expect(statuses).toContain('FAILED');
    expect(statuses.filter((status) => status === 'COMPLETED').length).toBeGreaterThan(300);
    expect(batchedApplications).toBeGreaterThan(250);
  }, 240_000);
});
