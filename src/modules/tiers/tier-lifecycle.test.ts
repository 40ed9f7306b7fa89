import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, subscribeToWebhooks, type Tenant, type TestApp } from '../../../test/harness.js';
import { withTransaction } from '../../platform/db/transaction.js';
import { newId } from '../../platform/ids.js';
import { createLogger } from '../../platform/logger.js';
import { qualifyTiers, recordActivity, runTierLifecycle, startTierLifecycle } from './index.js';

let t: TestApp;
let acme: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  await subscribeToWebhooks(acme, ['participant.tier_changed']);
});

const levels = [
  {
    key: 'silver',
    rank: 1,
    qualification: { mode: 'ALL', criteria: [{ counter: 'ytd_spend', operator: '>=', threshold: 500 }] },
  },
  {
    key: 'gold',
    rank: 2,
    qualification: {
      mode: 'ALL',
      criteria: [
        { counter: 'ytd_spend', operator: '>=', threshold: 2000 },
        { counter: 'ytd_nights', operator: '>=', threshold: 10 },
      ],
    },
  },
  {
    key: 'platinum',
    rank: 3,
    qualification: {
      mode: 'ALL',
      criteria: [
        { counter: 'ytd_spend', operator: '>=', threshold: 5000 },
        { counter: 'ytd_nights', operator: '>=', threshold: 25 },
      ],
    },
  },
];

interface Holder {
  programId: string;
  participantId: string;
}

async function newProgram(lifecycle: object): Promise<string> {
  const programId = (await acme.request('POST', '/v1/programs', { name: 'Lifecycle' })).json().id;
  const created = await acme.request('POST', `/v1/programs/${programId}/tiers`, {
    key: 'hotel',
    levels,
    lifecycle,
  });
  expect(created.statusCode).toBe(201);
  return programId;
}

async function newHolder(programId: string): Promise<Holder> {
  const body = { external_id: `p-${newId()}`, program_id: programId };
  return { programId, participantId: (await acme.request('POST', '/v1/participants', body)).json().id };
}

/** What an event does: counters written, then auto-qualification and the activity timer. */
async function processEvent(h: Holder, counters: Record<string, string>) {
  for (const [key, value] of Object.entries(counters))
    await acme.request('PUT', `/v1/participants/${h.participantId}/state/counters/${key}`, { value });
  const now = t.testClock.clock();
  const holder = { organizationId: acme.organizationId, ...h, now };
  await withTransaction(t.database.handle.db, async (trx) => {
    await qualifyTiers(trx, {
      ...holder,
      counters,
      skipTierKeys: new Set(),
      source: { eventId: newId(), eventTimestamp: now },
    });
    await recordActivity(trx, holder);
  });
}

async function runJobAt(time: string) {
  t.testClock.set(time);
  return runTierLifecycle(t.database.handle.db, t.testClock.clock);
}

async function levelOf(h: Holder): Promise<string | null> {
  const response = await acme.request(
    'GET',
    `/v1/participants/${h.participantId}/state/tiers/hotel?program_id=${h.programId}`,
  );
  return response.statusCode === 404 ? null : response.json().level;
}

async function counterOf(h: Holder, key: string): Promise<string> {
  return (await acme.request('GET', `/v1/participants/${h.participantId}/state/counters/${key}`)).json()
    .value;
}

async function tierHistory(h: Holder) {
  const response = await acme.request(
    'GET',
    `/v1/participants/${h.participantId}/activity/state-history?state_type=tier&limit=100`,
  );
  return response
    .json()
    .data.reverse()
    .map((entry: { operation: string; old_value: string; new_value: string; changed_at: string }) => [
      entry.operation,
      entry.old_value,
      entry.new_value,
      entry.changed_at,
    ]);
}

describe('PERIOD_BASED on CALENDAR_YEAR (DROP_TO_QUALIFYING, extend_months, grace_days, rollover NONE)', () => {
  it('keeps a level earned last year through the next period, then drops after extension and grace', async () => {
    const programId = await newProgram({
      retention: { mode: 'PERIOD_BASED' },
      qualification_period: { type: 'CALENDAR_YEAR' },
      status_validity: { extend_months: 3 },
      downgrade_policy: { grace_days: 10 },
      counters: { rollover: 'NONE' },
    });
    const h = await newHolder(programId);
    const newcomer = await newHolder(programId);
    t.testClock.set('2026-03-01T10:00:00Z');
    await processEvent(h, { ytd_spend: '2500', ytd_nights: '12' });
    await processEvent(newcomer, { ytd_spend: '100', ytd_nights: '1' });
    expect(await levelOf(h)).toBe('gold');
    expect(await levelOf(newcomer)).toBeNull();

    expect(await runJobAt('2026-12-31T23:59:59Z')).toBe(0);
    await runJobAt('2027-01-01T00:00:00Z');
    // 2026 counters qualified for gold: kept. Counters of every tracked participant reset to zero.
    expect(await levelOf(h)).toBe('gold');
    expect(await counterOf(h, 'ytd_spend')).toBe('0');
    expect(await counterOf(newcomer, 'ytd_spend')).toBe('0');

    t.testClock.set('2027-06-01T00:00:00Z');
    await processEvent(h, { ytd_spend: '600', ytd_nights: '0' });
    await runJobAt('2028-01-01T00:00:00Z');
    // Qualified only for silver in 2027: the drop waits for Apr 1 (3 months) plus 10 days of grace.
    await runJobAt('2028-04-10T23:59:59Z');
    expect(await levelOf(h)).toBe('gold');
    await runJobAt('2028-04-11T00:00:00Z');
    expect(await levelOf(h)).toBe('silver');
    const history = await tierHistory(h);
    expect(history).toEqual([
      ['upgrade', null, 'gold', '2026-03-01T10:00:00.000Z'],
      ['downgrade', 'gold', 'silver', '2028-04-11T00:00:00.000Z'],
    ]);
    const entries = (
      await acme.request('GET', `/v1/participants/${h.participantId}/activity/state-history?state_type=tier`)
    ).json().data;
    expect(entries[0].changed_by_job).toBe('tier_lifecycle');
    // Running again changes nothing.
    expect(await runJobAt('2028-04-11T00:00:00Z')).toBe(0);
    expect(await tierHistory(h)).toEqual(history);
  });

  it('meeting the held level again before the drop cancels the pending downgrade', async () => {
    const programId = await newProgram({
      retention: { mode: 'PERIOD_BASED' },
      qualification_period: { type: 'CALENDAR_YEAR' },
      status_validity: { extend_months: 3 },
      counters: { rollover: 'NONE' },
    });
    const h = await newHolder(programId);
    t.testClock.set('2026-03-01T00:00:00Z');
    await processEvent(h, { ytd_spend: '2500', ytd_nights: '12' });
    await runJobAt('2027-01-01T00:00:00Z');
    await runJobAt('2028-01-01T00:00:00Z');
    t.testClock.set('2028-02-01T00:00:00Z');
    await processEvent(h, { ytd_spend: '2000', ytd_nights: '10' });
    await runJobAt('2028-05-01T00:00:00Z');
    expect(await levelOf(h)).toBe('gold');
  });

  it('HOLD keeps the level whatever the counters', async () => {
    const programId = await newProgram({
      retention: { mode: 'PERIOD_BASED' },
      qualification_period: { type: 'CALENDAR_YEAR' },
      downgrade_policy: { mode: 'HOLD' },
    });
    const h = await newHolder(programId);
    t.testClock.set('2026-03-01T00:00:00Z');
    await processEvent(h, { ytd_spend: '5000', ytd_nights: '25' });
    await runJobAt('2030-01-02T00:00:00Z');
    expect(await levelOf(h)).toBe('platinum');
    // Without a rollover setting, counters are left alone.
    expect(await counterOf(h, 'ytd_spend')).toBe('5000');
  });
});

describe('PERIOD_BASED on FIXED_YEAR from Feb 1 (DROP_ONE, min_level, rollover EXCESS)', () => {
  const lifecycle = {
    retention: { mode: 'PERIOD_BASED' },
    qualification_period: { type: 'FIXED_YEAR', start_month: 2, start_day: 1 },
    downgrade_policy: { mode: 'DROP_ONE', min_level: 'silver' },
    counters: { qualifying: ['ytd_spend', 'ytd_nights'], rollover: 'EXCESS' },
  };

  it('carries the excess over, drops one level per period, never below min_level; downtime gives the same', async () => {
    const programId = await newProgram(lifecycle);
    const onTime = await newHolder(programId);
    const late = await newHolder(programId);
    t.testClock.set('2026-03-01T00:00:00Z');
    await processEvent(onTime, { ytd_spend: '5200.5', ytd_nights: '30' });
    await processEvent(late, { ytd_spend: '5200.5', ytd_nights: '30' });
    expect(await levelOf(onTime)).toBe('platinum');

    await runJobAt('2027-01-31T23:59:59Z');
    expect(await counterOf(onTime, 'ytd_spend')).toBe('5200.5');
    await runJobAt('2027-02-01T00:00:00Z');
    expect(await levelOf(onTime)).toBe('platinum');
    expect(await counterOf(onTime, 'ytd_spend')).toBe('200.5');
    expect(await counterOf(onTime, 'ytd_nights')).toBe('5');
    await runJobAt('2028-02-01T00:00:00Z');
    expect(await levelOf(onTime)).toBe('gold');
    expect(await counterOf(onTime, 'ytd_spend')).toBe('0');
    await runJobAt('2029-02-01T00:00:00Z');
    expect(await levelOf(onTime)).toBe('silver');
    await runJobAt('2030-02-01T00:00:00Z');
    expect(await levelOf(onTime)).toBe('silver');

    // The same years caught up in one run after a long downtime: the same levels, counters, times.
    // (Runs above already processed `late` at each boundary too; so check against a fresh program.)
    const programLate = await newProgram(lifecycle);
    const caughtUp = await newHolder(programLate);
    t.testClock.set('2026-03-01T00:00:00Z');
    await processEvent(caughtUp, { ytd_spend: '5200.5', ytd_nights: '30' });
    await runJobAt('2030-02-01T00:00:00Z');
    expect(await levelOf(caughtUp)).toBe('silver');
    expect(await counterOf(caughtUp, 'ytd_spend')).toBe('0');
    const shift = (rows: string[][]) => rows.map((row) => row.slice(0, 3));
    expect(shift(await tierHistory(caughtUp))).toEqual(shift(await tierHistory(onTime)));
    expect(await tierHistory(caughtUp)).toEqual(await tierHistory(onTime));
    expect(await tierHistory(late)).toEqual(await tierHistory(onTime));
    expect(await runJobAt('2030-02-01T00:00:00Z')).toBe(0);
  });
});

describe('ACTIVITY_REFRESH', () => {
  it('lapses after the duration without events, each event restarting the timer', async () => {
    const programId = await newProgram({
      retention: { mode: 'ACTIVITY_REFRESH', duration: '720h' },
      downgrade_policy: { mode: 'DROP_ONE' },
    });
    const h = await newHolder(programId);
    t.testClock.set('2026-01-01T00:00:00Z');
    await processEvent(h, { ytd_spend: '2000', ytd_nights: '10' });
    expect(await levelOf(h)).toBe('gold');
    t.testClock.set('2026-01-21T00:00:00Z');
    await processEvent(h, {});
    await runJobAt('2026-02-15T00:00:00Z');
    expect(await levelOf(h)).toBe('gold');
    // Counters still qualify for gold, so DROP_ONE keeps it until they no longer do.
    await processEvent(h, { ytd_spend: '0', ytd_nights: '0' });
    await runJobAt('2026-03-17T00:00:00Z');
    expect(await levelOf(h)).toBe('silver');
    await runJobAt('2026-04-16T00:00:00Z');
    expect(await levelOf(h)).toBeNull();
    expect((await tierHistory(h)).map((row: string[]) => row.slice(0, 3))).toEqual([
      ['upgrade', null, 'gold'],
      ['downgrade', 'gold', 'silver'],
      ['downgrade', 'silver', null],
    ]);
  });
});

describe('ACTIVITY_REFRESH after downtime', () => {
  it('one late run gives the same history as runs on time', async () => {
    const programId = await newProgram({
      retention: { mode: 'ACTIVITY_REFRESH', duration: '720h' },
      downgrade_policy: { mode: 'DROP_ONE', grace_days: 5 },
    });
    const events = async (h: Holder) => {
      t.testClock.set('2026-01-01T00:00:00Z');
      await processEvent(h, { ytd_spend: '5000', ytd_nights: '25' });
      t.testClock.set('2026-01-02T00:00:00Z');
      await processEvent(h, { ytd_spend: '0', ytd_nights: '0' });
    };
    // onTime is looked at every ten days; late, whose events come after those runs, only once.
    const onTime = await newHolder(programId);
    await events(onTime);
    const ticks = Array.from({ length: 18 }, (_, i) => new Date(Date.UTC(2026, 0, 2 + 10 * (i + 1))));
    for (const tick of ticks) {
      t.testClock.set(tick);
      await runTierLifecycle(t.database.handle.db, t.testClock.clock);
    }
    const late = await newHolder(programId);
    await events(late);
    await runJobAt('2026-07-01T00:00:00Z');
    expect(await levelOf(onTime)).toBeNull();
    expect(await levelOf(late)).toBeNull();
    const history = await tierHistory(onTime);
    expect(history.map((row: string[]) => row.slice(0, 3))).toEqual([
      ['upgrade', null, 'platinum'],
      ['downgrade', 'platinum', 'gold'],
      ['downgrade', 'gold', 'silver'],
      ['downgrade', 'silver', null],
    ]);
    expect(history[1][3]).toBe('2026-02-06T00:00:00.000Z');
    expect(await tierHistory(late)).toEqual(history);
  });
});

describe('explicit expires_at', () => {
  it('removes the level when it passes, recorded as expire', async () => {
    const programId = await newProgram({ retention: { mode: 'PERIOD_BASED' } });
    const h = await newHolder(programId);
    t.testClock.set('2026-01-01T00:00:00Z');
    const base = `/v1/participants/${h.participantId}/state/tiers/hotel?program_id=${programId}`;
    await acme.request('PUT', base, { level: 'gold', expires_at: '2026-02-01T00:00:00Z' });
    await runJobAt('2026-01-31T00:00:00Z');
    expect(await levelOf(h)).toBe('gold');
    await runJobAt('2026-02-02T00:00:00Z');
    expect(await levelOf(h)).toBeNull();
    expect(await tierHistory(h)).toEqual([
      ['set', null, 'gold', '2026-01-01T00:00:00.000Z'],
      ['expire', 'gold', null, '2026-02-01T00:00:00.000Z'],
    ]);
    const filtered = await acme.request(
      'GET',
      `/v1/participants/${h.participantId}/activity/state-history?operation=expire`,
    );
    expect(filtered.json().data).toHaveLength(1);
    const outbox = await sql<{ topic: string; payload: Record<string, unknown> }>`
      select topic, payload from outbox
      where organization_id = ${acme.organizationId} and payload->>'participant_id' = ${h.participantId}
      order by created_at, id`.execute(t.database.handle.db);
    expect(outbox.rows.map((row) => row.topic)).toEqual([
      'participant.tier_changed',
      'participant.tier_changed',
    ]);
    expect(outbox.rows[1]?.payload).toEqual({
      participant_id: h.participantId,
      program_id: programId,
      tier: 'hotel',
      change: 'expire',
      previous_level: 'gold',
      previous_rank: 2,
      level: null,
      rank: null,
      changed_at: '2026-02-01T00:00:00.000Z',
    });
  });
});

describe('several processes', () => {
  it('two concurrent runs apply each change exactly once', async () => {
    const programId = await newProgram({
      retention: { mode: 'PERIOD_BASED' },
      qualification_period: { type: 'CALENDAR_YEAR' },
      counters: { rollover: 'NONE' },
    });
    t.testClock.set('2026-03-01T00:00:00Z');
    const holders: Holder[] = [];
    for (let i = 0; i < 12; i += 1) {
      const h = await newHolder(programId);
      await processEvent(h, { ytd_spend: '2000', ytd_nights: '10' });
      holders.push(h);
    }
    t.testClock.set('2028-01-01T00:00:00Z');
    const db = t.database.handle.db;
    const runs = await Promise.all([
      runTierLifecycle(db, t.testClock.clock),
      runTierLifecycle(db, t.testClock.clock),
    ]);
    expect(runs[0] + runs[1]).toBeGreaterThanOrEqual(holders.length);
    for (const h of holders) {
      expect(await levelOf(h)).toBeNull();
      expect((await tierHistory(h)).map((row: string[]) => row[0])).toEqual(['upgrade', 'downgrade']);
    }
  });
});

describe('a rules-only tier that becomes period-based', () => {
  it('starts the periods of existing holders at their next event', async () => {
    const programId = (await acme.request('POST', '/v1/programs', { name: 'Later' })).json().id;
    await acme.request('POST', `/v1/programs/${programId}/tiers`, { key: 'hotel', levels });
    const h = await newHolder(programId);
    t.testClock.set('2026-03-01T00:00:00Z');
    const url = `/v1/participants/${h.participantId}/state/tiers/hotel?program_id=${programId}`;
    await acme.request('PUT', url, { level: 'gold' });
    await acme.request('PATCH', `/v1/programs/${programId}/tiers/hotel`, {
      lifecycle: { retention: { mode: 'PERIOD_BASED' }, qualification_period: { type: 'CALENDAR_YEAR' } },
    });
    await processEvent(h, { ytd_spend: '0' });
    await runJobAt('2027-01-01T00:00:00Z');
    expect(await levelOf(h)).toBeNull();
  });
});

describe('the background runner', () => {
  it('runs at once when started, and stop() waits for the run', async () => {
    const programId = await newProgram({ retention: { mode: 'PERIOD_BASED' } });
    const h = await newHolder(programId);
    t.testClock.set('2026-01-01T00:00:00Z');
    const url = `/v1/participants/${h.participantId}/state/tiers/hotel?program_id=${programId}`;
    await acme.request('PUT', url, { level: 'gold', expires_at: '2026-01-02T00:00:00Z' });
    t.testClock.set('2026-01-03T00:00:00Z');
    const runner = startTierLifecycle(t.database.handle.db, t.testClock.clock, createLogger('silent'));
    await runner.stop();
    expect(await levelOf(h)).toBeNull();
  });
});
