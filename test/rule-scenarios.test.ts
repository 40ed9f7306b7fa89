// Rules through real events: a program with the spec's common patterns (a streak counter with
// reset_after, a sign-up bonus gated by a tag, a referral credit to event.referrer_id, a category
// multiplier with stop_after_match, a base earn), a scripted sequence of events, and exactly the
// balances, counters, tags, tiers and evaluations they must produce, through the event engine.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventWorkers } from '../src/modules/events/index.js';
import { verifyLedger } from '../src/modules/ledger/index.js';
import { newId } from '../src/platform/ids.js';
import { buildTestApp, startTestWorkers, subscribeToWebhooks, type Tenant, type TestApp } from './harness.js';

let t: TestApp;
let acme: Tenant;
let programId: string;
let pointsId: string;
let workers: EventWorkers;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  programId = (await acme.request('POST', '/v1/programs', { name: 'Loyalty' })).json().id;
  pointsId = (
    await acme.request('POST', '/v1/assets', {
      program_id: programId,
      name: 'Points',
      symbol: 'PTS',
      inventory_mode: 'SIMPLE',
      issuance_policy: 'UNLIMITED',
      scale: 2,
    })
  ).json().id;
  for (const rule of patternRules()) {
    const created = await acme.request('POST', '/v1/rules', { program_id: programId, ...rule });
    expect(created.statusCode, created.body).toBe(201);
  }
  await createTier(programId, {
    key: 'status',
    levels: ['member', 'silver'],
    counter: 'spend',
    threshold: 30,
  });
  workers = startTestWorkers(t);
});

afterAll(async () => {
  await workers.stop();
});

/** A tier whose rank-1 level qualifies when `counter` reaches `threshold`. */
async function createTier(
  program: string,
  tier: { key: string; levels: [string, string]; counter: string; threshold: number },
) {
  const criteria = [{ counter: tier.counter, operator: '>=', threshold: tier.threshold }];
  const created = await acme.request('POST', `/v1/programs/${program}/tiers`, {
    key: tier.key,
    levels: [
      { key: tier.levels[0], rank: 0 },
      { key: tier.levels[1], rank: 1, qualification: { mode: 'ALL', criteria } },
    ],
  });
  expect(created.statusCode, created.body).toBe(201);
}

/** A scale-0, UNLIMITED asset of `program`; answers its id. */
async function createAsset(program: string, name: string, symbol: string, inventoryMode: 'SIMPLE' | 'LOT') {
  const created = await acme.request('POST', '/v1/assets', {
    program_id: program,
    name,
    symbol,
    inventory_mode: inventoryMode,
    issuance_policy: 'UNLIMITED',
    scale: 0,
  });
  expect(created.statusCode, created.body).toBe(201);
  return created.json().id as string;
}

function patternRules() {
  const credit = (amount: string, extra: Record<string, unknown> = {}) => ({
    type: 'CREDIT',
    asset_id: pointsId,
    amount,
    ...extra,
  });
  return [
    {
      name: 'Purchase streak',
      order: 10,
      condition: 'event.type == "purchase"',
      actions: [
        { type: 'COUNTER', key: 'streak', value: '1', reset_after: '48h' },
        { type: 'COUNTER', key: 'spend', value: 'event.amount' },
      ],
    },
    {
      name: 'Sign-up bonus',
      order: 20,
      condition: '!("welcomed" in participant.tags)',
      actions: [credit('100'), { type: 'TAG', tag: 'Welcomed' }],
    },
    {
      name: 'Referral',
      order: 30,
      condition: 'has(event.referrer_id)',
      actions: [credit('50', { target: { type: 'PARTICIPANT', external_id: 'event.referrer_id' } })],
    },
    {
      name: 'Travel triple',
      order: 500,
      stop_after_match: true,
      condition: 'event.category == "travel"',
      actions: [credit('event.amount * 3.0')],
    },
    {
      name: 'Base earn',
      order: 1000,
      condition: 'event.type == "purchase"',
      actions: [credit('event.amount')],
    },
  ];
}

let sequence = 0;

/**
 * Sends one event at `time` and waits until it is processed; the processing clock reads
 * `processedAt`, by default the event's time.
 */
async function process(
  externalId: string,
  time: string,
  data: Record<string, unknown>,
  options: { processedAt?: string; program?: string } = {},
) {
  t.testClock.set(options.processedAt ?? time);
  sequence += 1;
  const accepted = await acme.request('POST', '/v1/events', {
    program_id: options.program ?? programId,
    external_id: externalId,
    idempotency_key: `scenario-${sequence}`,
    event_timestamp: time,
    event_data: data,
  });
  expect(accepted.statusCode, accepted.body).toBe(202);
  const id = accepted.json().id;
  for (let attempt = 0; attempt < 400; attempt += 1) {
    const event = (await acme.request('GET', `/v1/events/${id}?include_skipped=true`)).json();
    if (event.status === 'COMPLETED' || event.status === 'FAILED') return event;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`event ${id} was not processed`);
}

async function participant(externalId: string) {
  const [found] = (await acme.request('GET', `/v1/participants?external_id=${externalId}`)).json().data;
  return (await acme.request('GET', `/v1/participants/${found.id}`)).json();
}

const available = (p: { balances: { asset_id: string; available: string }[] }) =>
  p.balances.find((b) => b.asset_id === pointsId)?.available ?? '0';

describe('rules applied through events', () => {
  it('produces exactly the balances, counters, tags and evaluations of the scripted sequence', async () => {
    const first = await process('alice', '2026-03-01T10:00:00.000Z', {
      type: 'purchase',
      category: 'grocery',
      amount: 10,
    });
    expect(first.status).toBe('COMPLETED');
    const matched = first.rule_evaluations.filter((e: { status: string }) => e.status === 'SUCCESS');
    expect(matched).toHaveLength(3);

    const travel = await process('alice', '2026-03-01T11:00:00.000Z', {
      type: 'purchase',
      category: 'travel',
      amount: 20,
    });
    const base = travel.rule_evaluations.find((e: { reason: string }) => e.reason === 'STOPPED_AFTER_MATCH');
    expect(base).toBeDefined();
    expect(base.stopped_by_rule_id).not.toBeNull();
    // A stop is always listed, include_skipped or not.
    const plain = (await acme.request('GET', `/v1/events/${travel.id}`)).json();
    expect(plain.rule_evaluations).toContainEqual(base);
    const matchedBy = async (ruleId: string) =>
      (await acme.request('GET', `/v1/events?rule_id=${ruleId}`))
        .json()
        .data.map((event: { id: string }) => event.id);
    expect(await matchedBy(base.stopped_by_rule_id)).toEqual([travel.id]);
    expect(await matchedBy(base.rule_id)).toEqual([first.id]);

    await process('alice', '2026-03-05T10:00:00.000Z', {
      type: 'purchase',
      category: 'grocery',
      amount: 5,
    });
    await process('bob', '2026-03-05T12:00:00.000Z', { type: 'signup', referrer_id: 'alice' });

    const alice = await participant('alice');
    // 100 bonus + 10 base + 60 travel (no base: stop_after_match) + 5 base + 50 referral
    expect(available(alice)).toBe('225.00');
    expect(alice.tags).toEqual(['welcomed']);
    // The streak lapsed after 48 hours and started again; spend kept growing.
    expect(alice.counters).toEqual({ streak: '1', spend: '35' });
    expect(alice.tiers).toEqual({ status: { level: 'silver', rank: 1 } });
    const bob = await participant('bob');
    expect(available(bob)).toBe('100.00');
    expect(bob.tags).toEqual(['welcomed']);
    expect(bob.counters).toEqual({});
    expect((await verifyLedger(t.database.handle.db, t.testClock.clock)).ok).toBe(true);
  });

  it('fails the whole event when an action fails, leaving nothing of it behind', async () => {
    await process('carol', '2026-03-06T10:00:00.000Z', {
      type: 'purchase',
      category: 'grocery',
      amount: 1,
    });
    const carol = await participant('carol');
    expect(available(carol)).toBe('101.00');
    await acme.request('PATCH', `/v1/participants/${carol.id}/status`, { status: 'SUSPENDED' });
    const failed = await process('carol', '2026-03-06T11:00:00.000Z', {
      type: 'purchase',
      category: 'grocery',
      amount: 7,
    });
    expect(failed.status).toBe('FAILED');
    expect(failed.error_message).toMatch(/^action COUNTER failed: the participant is SUSPENDED/);
    const after = await participant('carol');
    expect(available(after)).toBe('101.00');
    expect(after.counters).toEqual({ streak: '1', spend: '1' });
  });

  it('fails an event whose rule computes more decimals than the asset has', async () => {
    const rule = await acme.request('POST', '/v1/rules', {
      program_id: programId,
      name: 'Thirds',
      order: 40,
      condition: 'event.type == "thirds"',
      actions: [{ type: 'CREDIT', asset_id: pointsId, amount: 'event.amount / 3.0' }],
    });
    expect(rule.statusCode, rule.body).toBe(201);
    const failed = await process('dave', '2026-03-07T10:00:00.000Z', { type: 'thirds', amount: 10 });
    expect(failed.status).toBe('FAILED');
    expect(failed.error_message).toBe('action CREDIT failed: amount exceeds asset scale');
    await acme.request('PATCH', `/v1/rules/${rule.json().id}`, { status: 'ARCHIVED' });
  });

  it('shows each evaluation as the spec does and counts rule errors without include_skipped', async () => {
    const rule = async (body: Record<string, unknown>) => {
      const created = await acme.request('POST', '/v1/rules', { program_id: programId, ...body });
      expect(created.statusCode, created.body).toBe(201);
      return created.json().id as string;
    };
    const stringAmount = await rule({
      name: 'String amount',
      order: 60,
      condition: 'event.type == "strings"',
      actions: [{ type: 'CREDIT', asset_id: pointsId, amount: 'event.amount * 2.0' }],
    });
    const later = await rule({
      name: 'Not yet',
      order: 70,
      condition: 'true',
      active_from: '2030-01-01T00:00:00Z',
      actions: [{ type: 'TAG', tag: 'future' }],
    });
    const event = await process('hank', '2026-03-09T10:00:00.000Z', { type: 'strings', amount: '10' });
    expect(event).toMatchObject({ status: 'COMPLETED', skipped_error_count: 1 });
    const all = event.rule_evaluations as Record<string, unknown>[];
    const byName = (name: string) => all.find((evaluation) => evaluation.rule_name === name);
    expect(byName('Sign-up bonus')).toMatchObject({
      status: 'SUCCESS',
      reason: null,
      error_message: null,
      stopped_by_rule_id: null,
      created_at: '2026-03-09T10:00:00.000Z',
    });
    expect(byName('String amount')).toMatchObject({
      rule_id: stringAmount,
      status: 'SKIPPED_ERROR',
      reason: 'EVALUATION_ERROR',
      error_message: "found no matching overload for '_*_' applied to '(string, double)'",
    });
    expect(byName('Not yet')).toMatchObject({
      rule_id: later,
      status: 'SKIPPED',
      reason: 'OUTSIDE_TIME_WINDOW',
    });
    const ids = all.map((evaluation) => evaluation.id);
    expect(new Set(ids).size).toBe(all.length);
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    // The name is the version's that ran; ids are stable; errors hide without include_skipped.
    await acme.request('PATCH', `/v1/rules/${stringAmount}`, { name: 'Renamed' });
    const plain = (await acme.request('GET', `/v1/events/${event.id}`)).json();
    expect(plain.skipped_error_count).toBe(1);
    expect(plain.rule_evaluations).toEqual(all.filter((evaluation) => evaluation.status !== 'SKIPPED_ERROR'));
    const again = (await acme.request('GET', `/v1/events/${event.id}?include_skipped=true`)).json();
    expect(again.rule_evaluations).toEqual(all);
    const listed = (
      await acme.request('GET', `/v1/participants/${event.participant_id}/activity/events`)
    ).json();
    expect(listed.data.map((e: { skipped_error_count: number }) => e.skipped_error_count)).toEqual([1]);

    const stats = (await acme.request('GET', `/v1/rules/${stringAmount}`)).json().error_stats;
    expect(stats).toEqual({
      since: '2026-03-08T10:00:00.000Z',
      recent_count: 1,
      last_error: byName('String amount')?.error_message,
      last_error_at: '2026-03-09T10:00:00.000Z',
    });
    const healthy = (await acme.request('GET', `/v1/rules/${later}`)).json().error_stats;
    expect(healthy).toMatchObject({ recent_count: 0, last_error: null, last_error_at: null });
    t.testClock.set('2026-03-10T10:00:00.001Z');
    expect((await acme.request('GET', `/v1/rules/${stringAmount}`)).json().error_stats.recent_count).toBe(0);
    for (const id of [stringAmount, later])
      await acme.request('PATCH', `/v1/rules/${id}`, { status: 'ARCHIVED' });
  });

  it('fails an event whose LOT credit expires before the event or matures after it expires', async () => {
    const lotsId = await createAsset(programId, 'Dated points', 'DATED', 'LOT');
    const dated = (expiresAt: string, maturesAt?: string) => ({
      type: 'CREDIT',
      asset_id: lotsId,
      amount: '5',
      expires_at: expiresAt,
      ...(maturesAt === undefined ? {} : { matures_at: maturesAt }),
    });
    const cases = [
      ['expired', dated('2026-03-07T09:00:00Z'), 'expires_at: must be later than 2026-03-07T10:00:00.000Z'],
      ['inverted', dated('24h', '48h'), 'matures_at: must be earlier than expires_at'],
    ] as const;
    for (const [type, action, message] of cases) {
      const rule = await acme.request('POST', '/v1/rules', {
        program_id: programId,
        name: `Dated ${type}`,
        order: 45,
        condition: `event.type == "${type}"`,
        actions: [action],
      });
      expect(rule.statusCode, rule.body).toBe(201);
      const failed = await process('gina', '2026-03-07T10:00:00.000Z', { type });
      expect(failed.status).toBe('FAILED');
      expect(failed.error_message).toBe(`action CREDIT failed: ${message}`);
      await acme.request('PATCH', `/v1/rules/${rule.json().id}`, { status: 'ARCHIVED' });
    }
    // The failed events left nothing behind, not even the participant they would have created.
    expect((await acme.request('GET', '/v1/participants?external_id=gina')).json().data).toEqual([]);
  });

  it("settles a participant's due lots before a rule credits the asset again", async () => {
    const lotsId = await createAsset(programId, 'Expiring points', 'EXPIRING', 'LOT');
    const rule = await acme.request('POST', '/v1/rules', {
      program_id: programId,
      name: 'Expiring earn',
      order: 46,
      condition: 'event.type == "expiring_earn"',
      actions: [{ type: 'CREDIT', asset_id: lotsId, amount: '5', expires_at: '24h' }],
    });
    expect(rule.statusCode, rule.body).toBe(201);
    const availableOf = async () =>
      (await participant('hana')).balances.find((b: { asset_id: string }) => b.asset_id === lotsId)
        ?.available;
    expect((await process('hana', '2026-03-08T10:00:00.000Z', { type: 'expiring_earn' })).status).toBe(
      'COMPLETED',
    );
    expect(await availableOf()).toBe('5');
    // Two days later the first lot has expired: the credit settles it first, as every ledger operation does.
    expect((await process('hana', '2026-03-10T10:00:00.000Z', { type: 'expiring_earn' })).status).toBe(
      'COMPLETED',
    );
    expect(await availableOf()).toBe('5');
    await acme.request('PATCH', `/v1/rules/${rule.json().id}`, { status: 'ARCHIVED' });
    expect((await verifyLedger(t.database.handle.db, t.testClock.clock)).ok).toBe(true);
  });

  it('shows a level reached by one event to the rules of the next event in the same claim', async () => {
    const program = (await acme.request('POST', '/v1/programs', { name: 'Tiers in one claim' })).json().id;
    const points = await createAsset(program, 'Claim points', 'CLAIMPTS', 'SIMPLE');
    await createTier(program, {
      key: 'status',
      levels: ['member', 'silver'],
      counter: 'spend',
      threshold: 30,
    });
    for (const rule of [
      {
        name: 'Spend',
        order: 10,
        condition: 'true',
        actions: [{ type: 'COUNTER', key: 'spend', value: 'event.amount' }],
      },
      {
        name: 'Silver bonus',
        order: 20,
        condition: 'has(participant.tiers.status) && participant.tiers.status.level == "silver"',
        actions: [{ type: 'CREDIT', asset_id: points, amount: '7' }],
      },
    ]) {
      const created = await acme.request('POST', '/v1/rules', { program_id: program, ...rule });
      expect(created.statusCode, created.body).toBe(201);
    }
    t.testClock.set('2026-03-11T10:00:00.000Z');
    // One request: the events are queued by one statement, so one claim takes both.
    const batch = await acme.request('POST', '/v1/events/batch', {
      events: [40, 1].map((amount, index) => ({
        program_id: program,
        external_id: 'iris',
        idempotency_key: `one-claim-${index}`,
        event_timestamp: '2026-03-11T10:00:00.000Z',
        event_data: { amount },
      })),
    });
    expect(batch.statusCode, batch.body).toBe(202);
    const [first, second] = await Promise.all(
      batch.json().results.map((result: { event: { id: string } }) =>
        eventually(async () => {
          const event = (await acme.request('GET', `/v1/events/${result.event.id}`)).json();
          return event.status === 'COMPLETED' ? event : undefined;
        }),
      ),
    );
    const bonus = (event: { rule_evaluations: { rule_name: string; status: string }[] }) =>
      event.rule_evaluations.find((evaluation) => evaluation.rule_name === 'Silver bonus')?.status;
    // Qualification follows an event's rules: the first event reached silver, the second saw it.
    expect([bonus(first), bonus(second)]).toEqual(['NOT_MATCHED', 'SUCCESS']);
    // Actions show whole, though the row keeps only what the rule's definitions do not say.
    const actionsOf = (
      event: { rule_evaluations: { rule_name: string; actions: unknown[] }[] },
      name: string,
    ) => event.rule_evaluations.find((evaluation) => evaluation.rule_name === name)?.actions;
    expect(actionsOf(second, 'Silver bonus')).toEqual([
      expect.objectContaining({ type: 'CREDIT', asset_id: points, amount: '7', bucket: 'AVAILABLE' }),
    ]);
    expect(actionsOf(first, 'Spend')).toEqual([
      expect.objectContaining({
        type: 'COUNTER',
        key: 'spend',
        value: '40',
        target: { kind: 'event_participant' },
      }),
    ]);
    const stored = await sql<{ outcomes: unknown[] }>`select outcomes from event_evaluations
      where organization_id = ${acme.organizationId} and event_id = ${second.id}`.execute(
      t.database.handle.db,
    );
    expect(stored.rows[0]?.outcomes).toEqual([{ actions: [{ value: '1' }] }, { actions: [{}] }]);
    const iris = await participant('iris');
    expect(iris.tiers).toEqual({ status: { level: 'silver', rank: 1 } });
    expect(iris.balances.find((b: { asset_id: string }) => b.asset_id === points)?.available).toBe('7');
  });

  it('writes the level changes of one claim with its other writes: the last level, each change once, in order', async () => {
    const program = await createCounterProgram('Levels in one claim', 'miles', 'event.amount');
    await createTier(program, { key: 'rank', levels: ['member', 'silver'], counter: 'miles', threshold: 30 });
    await subscribeToWebhooks(acme, ['participant.tier_changed']);
    t.testClock.set('2026-03-12T10:00:00.000Z');
    // The base level at the first event, silver at the second.
    const ids = await processInOneClaim(
      [10, 25, 1].map((amount, index) => ({
        program_id: program,
        external_id: 'juno',
        idempotency_key: `levels-one-claim-${index}`,
        event_timestamp: `2026-03-12T10:00:0${index}.000Z`,
        event_data: { amount },
      })),
    );
    const juno = await participant('juno');
    expect(juno.tiers).toEqual({ rank: { level: 'silver', rank: 1 } });
    const history = (
      await acme.request('GET', `/v1/participants/${juno.id}/activity/state-history?state_type=tier`)
    ).json().data;
    expect(
      history.map((entry: { old_value: string | null; new_value: string; event_id: string }) => [
        entry.old_value,
        entry.new_value,
        entry.event_id,
      ]),
    ).toEqual([
      ['member', 'silver', ids[1]],
      [null, 'member', ids[0]],
    ]);
    const notified = await sql<{ payload: { previous_level: string | null; level: string } }>`
      select payload from outbox
      where organization_id = ${acme.organizationId} and topic = 'participant.tier_changed'
        and payload->>'participant_id' = ${juno.id}
      order by created_at, id`.execute(t.database.handle.db);
    expect(notified.rows.map((row) => [row.payload.previous_level, row.payload.level])).toEqual([
      [null, 'member'],
      ['member', 'silver'],
    ]);
  });

  it("counts every event and keeps each program's levels when one claim holds a participant's events of two programs", async () => {
    const programs = [
      await createCounterProgram('Visits A', 'visits', '1'),
      await createCounterProgram('Visits B', 'visits', '1'),
    ];
    await createTier(programs[0] as string, {
      key: 'regular',
      levels: ['guest', 'regular'],
      counter: 'visits',
      threshold: 3,
    });
    t.testClock.set('2026-03-13T10:00:00.000Z');
    // Alternating between the programs.
    await processInOneClaim(
      [0, 1, 0, 1].map((which, index) => ({
        program_id: programs[which],
        external_id: 'kai',
        idempotency_key: `two-programs-${index}`,
        event_timestamp: `2026-03-13T10:00:0${index}.000Z`,
        event_data: {},
      })),
    );
    const kai = await participant('kai');
    expect(kai.counters).toEqual({ visits: '4' });
    // Each program's events see that program's levels: the third event upgrades from the first's.
    const history = (
      await acme.request('GET', `/v1/participants/${kai.id}/activity/state-history?state_type=tier`)
    ).json().data;
    expect(
      history.map((entry: { old_value: string | null; new_value: string }) => [
        entry.old_value,
        entry.new_value,
      ]),
    ).toEqual([
      ['guest', 'regular'],
      [null, 'guest'],
    ]);
  });

  it('stores the new participants of one claim together: each once, enrolled where its events are, announced once', async () => {
    const programs = [
      await createCounterProgram('Joins A', 'joins', '1'),
      await createCounterProgram('Joins B', 'joins', '1'),
    ];
    await subscribeToWebhooks(acme, ['participant.created']);
    t.testClock.set('2026-03-14T10:00:00.000Z');
    // lena and omar are new to both programs; lena's second event is of the other program.
    const named: [number, string][] = [
      [0, 'lena'],
      [0, 'omar'],
      [1, 'lena'],
      [0, 'omar'],
    ];
    await processInOneClaim(
      named.map(([which, externalId], index) => ({
        program_id: programs[which],
        external_id: externalId,
        idempotency_key: `joins-${index}`,
        event_timestamp: `2026-03-14T10:00:0${index}.000Z`,
        event_data: {},
      })),
    );
    const lena = await participant('lena');
    const omar = await participant('omar');
    expect([lena.counters, omar.counters]).toEqual([{ joins: '2' }, { joins: '2' }]);
    const enrolled = await sql<{ participant_id: string; program_id: string }>`
      select participant_id, program_id from enrollments
      where organization_id = ${acme.organizationId} and participant_id in (${lena.id}, ${omar.id})`.execute(
      t.database.handle.db,
    );
    expect(enrolled.rows.map((row) => `${row.participant_id}:${row.program_id}`).sort()).toEqual(
      [`${lena.id}:${programs[0]}`, `${lena.id}:${programs[1]}`, `${omar.id}:${programs[0]}`].sort(),
    );
    const created = await sql<{ payload: { participant_id: string; program_id: string } }>`
      select payload from outbox
      where organization_id = ${acme.organizationId} and topic = 'participant.created'
        and payload->>'external_id' in ('lena', 'omar')`.execute(t.database.handle.db);
    expect(
      created.rows.map((row) => `${row.payload.participant_id}:${row.payload.program_id}`).sort(),
    ).toEqual([`${lena.id}:${programs[0]}`, `${omar.id}:${programs[0]}`].sort());
  });

  it('applies an event to the participant another transaction created while its claim was creating it', async () => {
    const program = await createCounterProgram('Raced', 'visits', '1');
    const db = t.database.handle.db;
    const racerId = newId();
    // The racer's insert stays uncommitted until the claim's own insert of that external_id waits on it.
    await db.transaction().execute(async (trx) => {
      await sql`insert into participants (organization_id, id, external_id, status, attributes, tags, created_at,
          updated_at)
        values (${acme.organizationId}, ${racerId}, 'pia', 'ACTIVE', '{}', '{}', now(), now())`.execute(trx);
      const sent = await acme.request('POST', '/v1/events', {
        program_id: program,
        external_id: 'pia',
        idempotency_key: 'raced-pia',
        event_timestamp: '2026-03-15T10:00:00.000Z',
        event_data: {},
      });
      expect(sent.statusCode, sent.body).toBe(202);
      const waiting = await eventually(async () => {
        const blocked = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
          where wait_event_type = 'Lock' and query like '%insert into participants%'`.execute(db);
        return (blocked.rows[0]?.n ?? 0) > 0 ? true : undefined;
      });
      expect(waiting, 'the claim waits on the racing insert').toBe(true);
    });
    const pia = await eventually(async () => {
      const found = await participant('pia');
      return found.counters?.visits === '1' ? found : undefined;
    });
    expect(pia?.id).toBe(racerId);
    const named = await sql<{ n: number }>`select count(*)::int as n from participants
      where organization_id = ${acme.organizationId} and external_id = 'pia'`.execute(db);
    expect(named.rows[0]?.n).toBe(1);
    const events = (await acme.request('GET', `/v1/events?participant_id=${racerId}`)).json().data;
    expect(events.map((event: { status: string }) => event.status)).toEqual(['COMPLETED']);
  });

  it('schedules a SYSTEM follow-up event that is processed when it is due', async () => {
    const rule = await acme.request('POST', '/v1/rules', {
      program_id: programId,
      name: 'Check back later',
      order: 50,
      condition: 'event.type == "visit"',
      actions: [
        { type: 'SCHEDULE_EVENT', event_name: 'check_status', delay: '1h', payload: { reason: 'visit' } },
      ],
    });
    expect(rule.statusCode, rule.body).toBe(201);
    const visit = await process('erin', '2026-03-08T10:00:00.000Z', { type: 'visit' });
    expect(visit.status).toBe('COMPLETED');
    const erin = await participant('erin');
    // The follow-up is an automation (source rule_action) that the scheduler fires when it is due.
    t.testClock.set('2026-03-08T11:00:00.000Z');
    const followUp = await eventually(async () =>
      (await acme.request('GET', `/v1/participants/${erin.id}/activity/events`))
        .json()
        .data.find((e: { event_type: string }) => e.event_type === 'SYSTEM'),
    );
    expect(followUp).toMatchObject({ event_timestamp: '2026-03-08T11:00:00.000Z' });
    expect(followUp.event_data).toMatchObject({ event_name: 'check_status', reason: 'visit' });
    let status = followUp.status;
    for (let attempt = 0; attempt < 200 && status !== 'COMPLETED'; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      status = (await acme.request('GET', `/v1/events/${followUp.id}`)).json().status;
    }
    expect(status).toBe('COMPLETED');
    await acme.request('PATCH', `/v1/rules/${rule.json().id}`, { status: 'ARCHIVED' });
  });

  it('applies every other action type: debit, hold, release, forfeit, void-hold, untag, attributes, program counters, tiers, broadcast', async () => {
    const program = (await acme.request('POST', '/v1/programs', { name: 'Every action' })).json().id;
    const asset = async (symbol: string, inventory_mode: string) =>
      (
        await acme.request('POST', '/v1/assets', {
          program_id: program,
          name: symbol,
          symbol,
          inventory_mode,
          issuance_policy: 'UNLIMITED',
          scale: 2,
        })
      ).json().id;
    const coins = await asset('COIN', 'SIMPLE');
    const miles = await asset('MILE', 'LOT');
    await acme.request('POST', `/v1/programs/${program}/tiers`, {
      key: 'vip',
      levels: [{ key: 'gold', rank: 1 }],
    });
    const rules = [
      [
        'earn',
        [
          { type: 'CREDIT', asset_id: coins, amount: '100' },
          { type: 'CREDIT', asset_id: miles, amount: '40', bucket: 'HELD', reference_id: 'event.order_id' },
          { type: 'SET_ATTRIBUTE', key: 'plan', value: 'gold' },
          { type: 'TAG', tag: 'temp' },
          { type: 'COUNTER', key: 'earn_events', value: '1', target: { type: 'PROGRAM' } },
        ],
      ],
      [
        'spend',
        [
          { type: 'DEBIT', asset_id: coins, amount: '30' },
          { type: 'HOLD', asset_id: coins, amount: '20' },
          { type: 'UNTAG', tag: 'temp' },
        ],
      ],
      [
        'settle',
        [
          { type: 'RELEASE', asset_id: coins, amount: '5' },
          { type: 'FORFEIT', asset_id: coins, amount: '10', bucket: 'HELD' },
          { type: 'VOID_HOLD', asset_id: miles, reference_id: 'event.order_id' },
        ],
      ],
      ['promote', [{ type: 'SET_TIER', tier: 'vip', level: 'gold' }]],
      ['announce', [{ type: 'BROADCAST', event_name: 'news', payload: { headline: 'hello' } }]],
    ] as const;
    for (const [type, actions] of rules) {
      const created = await acme.request('POST', '/v1/rules', {
        program_id: program,
        name: type,
        condition: `event.type == "${type}"`,
        actions,
      });
      expect(created.statusCode, created.body).toBe(201);
    }
    for (const [i, type] of ['earn', 'spend', 'settle', 'promote', 'announce'].entries()) {
      t.testClock.set(`2026-04-01T10:0${i}:00.000Z`);
      sequence += 1;
      const accepted = await acme.request('POST', '/v1/events', {
        program_id: program,
        external_id: 'frank',
        idempotency_key: `every-action-${type}`,
        event_timestamp: `2026-04-01T10:0${i}:00.000Z`,
        event_data: { type, order_id: 'order-7' },
      });
      expect(accepted.statusCode, accepted.body).toBe(202);
      const id = accepted.json().id;
      let event = { status: 'PENDING', error_message: null };
      for (let attempt = 0; attempt < 400 && !['COMPLETED', 'FAILED'].includes(event.status); attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        event = (await acme.request('GET', `/v1/events/${id}`)).json();
      }
      expect(event, type).toMatchObject({ status: 'COMPLETED', error_message: null });
    }
    const frank = await participant('frank');
    const balance = (assetId: string) =>
      frank.balances.find((b: { asset_id: string }) => b.asset_id === assetId);
    // 100 - 30 debit - 20 held + 5 released = 55 available; 20 - 5 - 10 forfeited = 5 held.
    expect(balance(coins)).toMatchObject({ available: '55.00', held: '5.00' });
    // The provisional HELD miles were voided back to issuance.
    expect(balance(miles)).toMatchObject({ available: '0.00', held: '0.00' });
    expect(frank.tags).toEqual([]);
    expect(frank.attributes).toEqual({ plan: 'gold' });
    expect(frank.tiers).toEqual({ vip: { level: 'gold', rank: 1 } });
    const programCounter = (
      await acme.request('GET', `/v1/programs/${program}/state/counters/earn_events`)
    ).json();
    expect(programCounter.value).toBe('1');
    const news = await eventually(async () => {
      const events = (
        await acme.request('GET', `/v1/participants/${frank.id}/activity/events?limit=200`)
      ).json().data;
      const system = events.filter(
        (e: { event_type: string; event_data: { event_name?: string } }) => e.event_type === 'SYSTEM',
      );
      return system.length > 0 ? system : undefined;
    });
    expect(news.map((e: { event_data: { event_name: string } }) => e.event_data.event_name)).toEqual([
      'news',
    ]);
    expect((await verifyLedger(t.database.handle.db, t.testClock.clock)).ok).toBe(true);
  });

  it('simulates a rule with the asset symbol and the same amount the event produced', async () => {
    const rules = (await acme.request('GET', `/v1/rules?program_id=${programId}`)).json().data;
    const baseEarn = rules.find((rule: { name: string }) => rule.name === 'Base earn');
    const simulated = await acme.request('POST', `/v1/rules/${baseEarn.id}/simulate`, {
      event: { type: 'purchase', category: 'grocery', amount: 10 },
    });
    expect(simulated.statusCode, simulated.body).toBe(200);
    expect(simulated.json().evaluation.results[0].result).toMatchObject({
      amount: '10',
      asset_symbol: 'PTS',
    });
  });

  it('lists the events in which a rule matched with rule_id', async () => {
    const rules = (await acme.request('GET', `/v1/rules?program_id=${programId}`)).json().data;
    const travel = rules.find((rule: { name: string }) => rule.name === 'Travel triple');
    const listed = (await acme.request('GET', `/v1/events?rule_id=${travel.id}`)).json().data;
    expect(listed.map((e: { event_data: { category: string } }) => e.event_data.category)).toEqual([
      'travel',
    ]);
    const referral = rules.find((rule: { name: string }) => rule.name === 'Referral');
    const referred = (await acme.request('GET', `/v1/events?rule_id=${referral.id}`)).json().data;
    expect(referred.map((e: { event_data: { type: string } }) => e.event_data.type)).toEqual(['signup']);
  });
  it("resets counters and qualifies tiers on the event's clock, whatever the processing time", async () => {
    const program = (await acme.request('POST', '/v1/programs', { name: 'Replay' })).json().id;
    const rule = await acme.request('POST', '/v1/rules', {
      program_id: program,
      name: 'Visits',
      condition: 'event.type == "visit"',
      actions: [{ type: 'COUNTER', key: 'visits', value: '1', reset_after: '48h' }],
    });
    expect(rule.statusCode, rule.body).toBe(201);
    await createTier(program, {
      key: 'club',
      levels: ['guest', 'regular'],
      counter: 'visits',
      threshold: 2,
    });
    // Two visits a day apart, processed weeks later and ten days apart: replayed history.
    const visit = (time: string, processedAt: string) =>
      process('ivan', time, { type: 'visit' }, { program, processedAt });
    expect((await visit('2026-05-01T10:00:00.000Z', '2026-06-01T00:00:00.000Z')).status).toBe('COMPLETED');
    expect((await visit('2026-05-02T10:00:00.000Z', '2026-06-11T00:00:00.000Z')).status).toBe('COMPLETED');
    const ivan = await participant('ivan');
    expect(ivan.tiers).toMatchObject({ club: { level: 'regular', rank: 1 } });
    // Two days after the second visit the window has passed: the next visit starts again at 1.
    await visit('2026-05-04T10:00:00.001Z', '2026-06-12T00:00:00.000Z');
    const history = (
      await acme.request('GET', `/v1/participants/${ivan.id}/activity/state-history?state_type=counter`)
    ).json().data as { operation: string; old_value: string | null; new_value: string }[];
    expect(history.map((h) => [h.operation, h.old_value, h.new_value]).reverse()).toEqual([
      ['add', null, '1'],
      ['add', '1', '2'],
      ['auto_reset', '2', '0'],
      ['add', '0', '1'],
    ]);
  });
});

/** A program with one rule that adds `value` to `counter` at every event; answers its id. */
async function createCounterProgram(name: string, counter: string, value: string): Promise<string> {
  const program = (await acme.request('POST', '/v1/programs', { name })).json().id;
  const created = await acme.request('POST', '/v1/rules', {
    program_id: program,
    name: `Count ${counter}`,
    condition: 'true',
    actions: [{ type: 'COUNTER', key: counter, value }],
  });
  expect(created.statusCode, created.body).toBe(201);
  return program;
}

/** Sends the events in one request, so one claim takes them all, and waits until each COMPLETED. */
async function processInOneClaim(events: Record<string, unknown>[]): Promise<string[]> {
  const batch = await acme.request('POST', '/v1/events/batch', { events });
  expect(batch.statusCode, batch.body).toBe(202);
  const ids: string[] = batch.json().results.map((result: { event: { id: string } }) => result.event.id);
  for (const id of ids) {
    const done = await eventually(async () => {
      const event = (await acme.request('GET', `/v1/events/${id}`)).json();
      return event.status === 'COMPLETED' ? event : undefined;
    });
    expect(done?.status, `event ${id}`).toBe('COMPLETED');
  }
  return ids;
}

/** The first defined answer of `probe`, polled every 25 ms for up to 5 seconds. */
async function eventually<T>(probe: () => Promise<T | undefined>): Promise<T | undefined> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const found = await probe();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return undefined;
}
