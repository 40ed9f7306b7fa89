import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedParticipants } from '../../../test/automation-fixtures.js';
import {
  buildTestApp,
  createLedgerFixture,
  startTestWorkers,
  type Tenant,
  type TestApp,
} from '../../../test/harness.js';
import { fireSystemEvents } from '../events/index.js';
import { runAutomationPass } from './index.js';

let t: TestApp;
let acme: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization('acme');
});

const pass = (chunkSize = 10) =>
  runAutomationPass({
    db: t.database.handle.db,
    clock: t.testClock.clock,
    fireEvents: fireSystemEvents,
    chunkSize,
  });

interface Program {
  programId: string;
  base: string;
}

async function newProgram(): Promise<Program> {
  const programId = (await acme.request('POST', '/v1/programs', { name: `program ${Math.random()}` })).json()
    .id;
  return { programId, base: `/v1/programs/${programId}/automations` };
}

async function newParticipant(program: Program): Promise<string> {
  const response = await acme.request('POST', '/v1/participants', {
    external_id: `user-${Math.random()}`,
    program_id: program.programId,
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().id;
}

async function createStateAutomation(program: Program, trigger: Record<string, unknown>, extra = {}) {
  const response = await acme.request('POST', program.base, {
    name: `automation ${Math.random()}`,
    event_name: 'state_event',
    scope: 'participants',
    trigger: { type: 'participant_state', ...trigger },
    ...extra,
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().id as string;
}

interface SubscriptionView {
  id: string;
  participant_id: string;
  status: string;
  next_trigger_at: string | null;
  last_triggered_at: string | null;
  trigger_count: number;
  retry_count: number;
  last_error: string | null;
}

async function subscriptions(program: Program, automationId: string): Promise<SubscriptionView[]> {
  const response = await acme.request('GET', `${program.base}/${automationId}/subscriptions?limit=200`);
  expect(response.statusCode, response.body).toBe(200);
  return response.json().data;
}

async function subscriptionOf(program: Program, automationId: string, participantId: string) {
  return (await subscriptions(program, automationId)).find((s) => s.participant_id === participantId);
}

async function systemEvents(programId: string) {
  const result = await sql<{ participant_id: string; idempotency_key: string; event_timestamp: Date }>`
    select participant_id, idempotency_key, event_timestamp from events
    where program_id = ${programId} and event_type = 'SYSTEM' order by idempotency_key`.execute(
    t.database.handle.db,
  );
  return result.rows;
}

const setAttribute = (participantId: string, key: string, value: string) =>
  acme.request('PUT', `/v1/participants/${participantId}/state/attributes/${key}`, { value });
const setCounter = (participantId: string, key: string, value: string) =>
  acme.request('PUT', `/v1/participants/${participantId}/state/counters/${key}`, { value });

describe('participant_state automations', () => {
  it('ATTRIBUTE_DATE fires each birthday once at the time of day in the time zone, and picks up a birthday set later', async () => {
    t.testClock.set('2026-06-01T10:00:00.000Z');
    const program = await newProgram();
    const ann = await newParticipant(program);
    const bob = await newParticipant(program);
    expect((await setAttribute(ann, 'birthday', '06-15')).statusCode).toBe(200);
    const automationId = await createStateAutomation(program, {
      schedule_type: 'ATTRIBUTE_DATE',
      schedule_config: { attribute: 'birthday', time: '09:00' },
      timezone: 'Europe/Paris',
    });
    await pass();
    expect(await subscriptionOf(program, automationId, ann)).toMatchObject({
      status: 'active',
      next_trigger_at: '2026-06-15T07:00:00.000Z',
      trigger_count: 0,
    });
    expect(await subscriptionOf(program, automationId, bob)).toMatchObject({ next_trigger_at: null });
    const automation = (await acme.request('GET', `${program.base}/${automationId}`)).json();
    expect(automation.last_evaluated_at).toBe('2026-06-01T10:00:00.000Z');

    // Bob's birthday arrives through the state API: his subscription is re-evaluated off the request.
    expect((await setAttribute(bob, 'birthday', '1990-07-01')).statusCode).toBe(200);
    await pass();
    expect(await subscriptionOf(program, automationId, bob)).toMatchObject({
      next_trigger_at: '2026-07-01T07:00:00.000Z',
    });

    t.testClock.set('2026-06-15T07:00:00.500Z');
    await pass();
    await pass();
    const subscription = await subscriptionOf(program, automationId, ann);
    expect(subscription).toMatchObject({
      status: 'active',
      trigger_count: 1,
      last_triggered_at: '2026-06-15T07:00:00.500Z',
      next_trigger_at: '2027-06-15T07:00:00.000Z',
    });
    const events = await systemEvents(program.programId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      participant_id: ann,
      idempotency_key: `automation:${automationId}:${subscription?.id}:2026-06-15T07:00:00.000Z`,
      event_timestamp: new Date('2026-06-15T07:00:00.000Z'),
    });
  });

  it('refuses a schedule_config time that is not HH:MM and an interval that is not positive, creating nothing', async () => {
    const program = await newProgram();
    const cases: [Record<string, unknown>, string][] = [
      [
        { schedule_type: 'ATTRIBUTE_DATE', schedule_config: { attribute: 'b', time: '24:00' } },
        'schedule_config.time',
      ],
      [
        { schedule_type: 'ATTRIBUTE_DATE', schedule_config: { attribute: 'b', time: '9:00' } },
        'schedule_config.time',
      ],
      [{ schedule_type: 'INTERVAL', schedule_config: { interval: '0s' } }, 'schedule_config.interval'],
      [{ schedule_type: 'INTERVAL', schedule_config: { interval: 'soon' } }, 'schedule_config.interval'],
    ];
    for (const [trigger, field] of cases) {
      const response = await acme.request('POST', program.base, {
        name: 'refused',
        event_name: 'e',
        scope: 'participants',
        trigger: { type: 'participant_state', ...trigger },
      });
      expect(response.statusCode, response.body).toBe(400);
      expect(JSON.stringify(response.json())).toContain(field);
    }
    const accepted = await createStateAutomation(program, {
      schedule_type: 'ATTRIBUTE_DATE',
      schedule_config: { attribute: 'b', time: '23:59' },
    });
    expect(accepted).toBeTruthy();
    expect((await acme.request('GET', program.base)).json().data).toHaveLength(1);
  });

  it('a 29 February birthday fires on 28 February in a common year', async () => {
    t.testClock.set('2027-02-01T00:00:00.000Z');
    const program = await newProgram();
    const leapling = await newParticipant(program);
    await setAttribute(leapling, 'birthday', '02-29');
    const automationId = await createStateAutomation(program, {
      schedule_type: 'ATTRIBUTE_DATE',
      schedule_config: { attribute: 'birthday' },
    });
    await pass();
    expect(await subscriptionOf(program, automationId, leapling)).toMatchObject({
      next_trigger_at: '2027-02-28T00:00:00.000Z',
    });
    t.testClock.set('2027-02-28T00:00:01.000Z');
    await pass();
    expect(await systemEvents(program.programId)).toHaveLength(1);
    expect(await subscriptionOf(program, automationId, leapling)).toMatchObject({
      trigger_count: 1,
      next_trigger_at: '2028-02-29T00:00:00.000Z',
    });
  });

  it('INTERVAL fires once for a missed window and then counts on from the subscription start', async () => {
    t.testClock.set('2026-01-01T00:00:00.000Z');
    const program = await newProgram();
    const participant = await newParticipant(program);
    const automationId = await createStateAutomation(program, {
      schedule_type: 'INTERVAL',
      schedule_config: { interval: '24h' },
    });
    await pass();
    expect(await subscriptionOf(program, automationId, participant)).toMatchObject({
      next_trigger_at: '2026-01-02T00:00:00.000Z',
    });
    t.testClock.set('2026-01-04T12:00:00.000Z');
    await pass();
    await pass();
    expect(await systemEvents(program.programId)).toHaveLength(1);
    expect(await subscriptionOf(program, automationId, participant)).toMatchObject({
      trigger_count: 1,
      next_trigger_at: '2026-01-05T00:00:00.000Z',
    });
  });

  it('CRON fires per participant in the time zone', async () => {
    t.testClock.set('2026-03-04T12:00:00.000Z');
    const program = await newProgram();
    const participant = await newParticipant(program);
    const automationId = await createStateAutomation(program, {
      schedule_type: 'CRON',
      schedule_config: { cron_expression: '0 9 * * 1' },
      timezone: 'America/Chicago',
    });
    await pass();
    expect(await subscriptionOf(program, automationId, participant)).toMatchObject({
      next_trigger_at: '2026-03-09T14:00:00.000Z',
    });
    t.testClock.set('2026-03-09T14:00:00.000Z');
    await pass();
    expect(await subscriptionOf(program, automationId, participant)).toMatchObject({
      trigger_count: 1,
      next_trigger_at: '2026-03-16T14:00:00.000Z',
    });
  });

  it('THRESHOLD fires once when the counter reaches the value, never again, and the subscription completes', async () => {
    t.testClock.set('2026-05-01T00:00:00.000Z');
    const program = await newProgram();
    const participant = await newParticipant(program);
    const automationId = await createStateAutomation(program, {
      schedule_type: 'THRESHOLD',
      schedule_config: { counter: 'visits', value: 10 },
    });
    expect((await setCounter(participant, 'visits', '9')).statusCode).toBeLessThan(300);
    await pass();
    expect(await subscriptionOf(program, automationId, participant)).toMatchObject({
      status: 'active',
      next_trigger_at: null,
    });
    await setCounter(participant, 'visits', '10');
    await pass();
    t.testClock.advance(1000);
    await pass();
    expect(await subscriptionOf(program, automationId, participant)).toMatchObject({
      status: 'completed',
      trigger_count: 1,
      next_trigger_at: null,
    });
    await setCounter(participant, 'visits', '11');
    await setCounter(participant, 'visits', '3');
    await setCounter(participant, 'visits', '12');
    await pass();
    t.testClock.advance(1000);
    await pass();
    const events = await systemEvents(program.programId);
    expect(events).toHaveLength(1);
    expect(events[0]?.idempotency_key).toMatch(/:threshold$/);
  });

  it('a counter moved by the rules of processed events queues the participant: THRESHOLD fires after the commit', async () => {
    t.testClock.set('2026-05-01T00:00:00.000Z');
    const program = await newProgram();
    const participant = await newParticipant(program);
    const rule = await acme.request('POST', '/v1/rules', {
      program_id: program.programId,
      name: 'count visits',
      condition: 'event.type == "visit"',
      actions: [{ type: 'COUNTER', key: 'visits', value: '1' }],
    });
    expect(rule.statusCode, rule.body).toBe(201);
    const automationId = await createStateAutomation(program, {
      schedule_type: 'THRESHOLD',
      schedule_config: { counter: 'visits', value: 3 },
    });
    await pass();
    for (const n of [1, 2, 3]) {
      const sent = await acme.request('POST', '/v1/events', {
        program_id: program.programId,
        participant_id: participant,
        idempotency_key: `visit-${n}`,
        event_timestamp: '2026-05-01T00:00:00.000Z',
        event_data: { type: 'visit' },
      });
      expect(sent.statusCode, sent.body).toBe(202);
    }
    const workers = startTestWorkers(t);
    try {
      let completed = 0;
      for (let attempt = 0; attempt < 400 && completed < 3; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        const listed = await acme.request(
          'GET',
          `/v1/events?program_id=${program.programId}&status=COMPLETED`,
        );
        completed = listed.json().data.length;
      }
      expect(completed).toBe(3);
    } finally {
      await workers.stop();
    }
    await pass();
    t.testClock.advance(1000);
    await pass();
    expect(await subscriptionOf(program, automationId, participant)).toMatchObject({
      status: 'completed',
      trigger_count: 1,
    });
    expect(await systemEvents(program.programId)).toHaveLength(1);
    const queued = await sql<{ count: string }>`
      select count(*) from participant_state_changes where participant_id = ${participant}`.execute(
      t.database.handle.db,
    );
    expect(queued.rows[0]?.count).toBe('0');
  });

  it('guard_condition is checked at fire time: a false guard skips that occurrence', async () => {
    t.testClock.set('2026-01-01T00:00:00.000Z');
    const program = await newProgram();
    const participant = await newParticipant(program);
    const automationId = await createStateAutomation(
      program,
      { schedule_type: 'INTERVAL', schedule_config: { interval: '1h' } },
      { guard_condition: 'participant.attributes.optin == "yes"' },
    );
    await pass();
    t.testClock.set('2026-01-01T01:00:00.000Z');
    await pass();
    expect(await systemEvents(program.programId)).toHaveLength(0);
    expect(await subscriptionOf(program, automationId, participant)).toMatchObject({
      trigger_count: 0,
      next_trigger_at: '2026-01-01T02:00:00.000Z',
    });
    await setAttribute(participant, 'optin', 'yes');
    t.testClock.set('2026-01-01T02:00:00.000Z');
    await pass();
    expect(await systemEvents(program.programId)).toHaveLength(1);
  });

  it('re-evaluates when tags or status change: a participant who stops matching is no longer subscribed', async () => {
    t.testClock.set('2026-01-01T00:00:00.000Z');
    const program = await newProgram();
    const participant = await newParticipant(program);
    const automationId = await createStateAutomation(
      program,
      { schedule_type: 'INTERVAL', schedule_config: { interval: '24h' } },
      { participant_filter: '"vip" in participant.tags' },
    );
    await pass();
    expect(await subscriptions(program, automationId)).toEqual([]);
    expect((await acme.request('PUT', `/v1/participants/${participant}/state/tags/vip`)).statusCode).toBe(
      201,
    );
    await pass();
    expect(await subscriptionOf(program, automationId, participant)).toMatchObject({ status: 'active' });
    const suspended = await acme.request('PATCH', `/v1/participants/${participant}/status`, {
      status: 'SUSPENDED',
    });
    expect(suspended.statusCode, suspended.body).toBe(200);
    await pass();
    expect(await subscriptionOf(program, automationId, participant)).toMatchObject({
      status: 'completed',
      next_trigger_at: null,
    });
    await acme.request('PATCH', `/v1/participants/${participant}/status`, { status: 'ACTIVE' });
    t.testClock.set('2026-01-01T06:00:00.000Z');
    await pass();
    expect(await subscriptionOf(program, automationId, participant)).toMatchObject({
      status: 'active',
      next_trigger_at: '2026-01-02T06:00:00.000Z',
    });
  });

  it('subscribes a participant enrolled after the automation was made, on the next pass', async () => {
    t.testClock.set('2026-01-01T00:00:00.000Z');
    const program = await newProgram();
    const automationId = await createStateAutomation(program, {
      schedule_type: 'INTERVAL',
      schedule_config: { interval: '24h' },
    });
    await pass();
    const participant = await newParticipant(program);
    await pass();
    expect(await subscriptionOf(program, automationId, participant)).toMatchObject({
      status: 'active',
      next_trigger_at: '2026-01-02T00:00:00.000Z',
    });
  });

  it('refresh-subscriptions re-evaluates every enrolled participant, in chunks, on the scheduler', async () => {
    t.testClock.set('2026-01-01T00:00:00.000Z');
    const program = await newProgram();
    await seedParticipants(t.database.handle.db, acme.organizationId, program.programId, 25);
    const automationId = await createStateAutomation(
      program,
      { schedule_type: 'INTERVAL', schedule_config: { interval: '24h' } },
      { participant_filter: '"vip" in participant.tags' },
    );
    await pass();
    expect((await subscriptions(program, automationId)).filter((s) => s.status === 'active')).toHaveLength(
      13,
    );
    // Written behind the API's back, so nothing is queued: only a refresh sees it.
    await sql`update participants set tags = '{}' where external_id like ${`seed-${program.programId}-%`}
      and (attributes ->> 'n')::int < 10`.execute(t.database.handle.db);
    await pass();
    expect((await subscriptions(program, automationId)).filter((s) => s.status === 'active')).toHaveLength(
      13,
    );
    const refresh = await acme.request('POST', `${program.base}/${automationId}/refresh-subscriptions`);
    expect(refresh.statusCode, refresh.body).toBe(202);
    expect(refresh.json()).toEqual({});
    await pass(10);
    expect((await subscriptions(program, automationId)).filter((s) => s.status === 'active')).toHaveLength(8);
  });

  it('paused and archived automations do not fire; a resume counts from then', async () => {
    t.testClock.set('2026-01-01T00:00:00.000Z');
    const program = await newProgram();
    const participant = await newParticipant(program);
    const automationId = await createStateAutomation(program, {
      schedule_type: 'INTERVAL',
      schedule_config: { interval: '1h' },
    });
    await pass();
    await acme.request('PATCH', `${program.base}/${automationId}`, { status: 'paused' });
    t.testClock.set('2026-01-01T05:30:00.000Z');
    await pass();
    expect(await systemEvents(program.programId)).toHaveLength(0);
    const refused = await acme.request('POST', `${program.base}/${automationId}/refresh-subscriptions`);
    expect(refused.statusCode).toBe(400);
    await acme.request('PATCH', `${program.base}/${automationId}`, { status: 'active' });
    await pass();
    expect(await systemEvents(program.programId)).toHaveLength(0);
    expect(await subscriptionOf(program, automationId, participant)).toMatchObject({
      next_trigger_at: '2026-01-01T06:00:00.000Z',
    });
    expect((await acme.request('DELETE', `${program.base}/${automationId}`)).statusCode).toBe(200);
    t.testClock.set('2026-01-01T07:00:00.000Z');
    await pass();
    expect(await systemEvents(program.programId)).toHaveLength(0);
    expect(await subscriptionOf(program, automationId, participant)).toMatchObject({
      status: 'completed',
      next_trigger_at: null,
    });
  });

  it('retries a subscription whose event is refused, then fails it after the last retry', async () => {
    t.testClock.set('2026-01-01T00:00:00.000Z');
    const program = await newProgram();
    const participant = await newParticipant(program);
    const automationId = await createStateAutomation(program, {
      schedule_type: 'INTERVAL',
      schedule_config: { interval: '1h' },
    });
    await pass();
    await acme.request('PATCH', `/v1/programs/${program.programId}`, { status: 'SUSPENDED' });
    t.testClock.set('2026-01-01T01:00:00.000Z');
    await pass();
    expect(await subscriptionOf(program, automationId, participant)).toMatchObject({
      status: 'active',
      retry_count: 1,
      last_error: expect.stringMatching(/^program_inactive: .* SUSPENDED/),
      next_trigger_at: '2026-01-01T01:01:00.000Z',
    });
    for (const minutes of [1, 3, 7, 15]) {
      t.testClock.set(new Date(Date.parse('2026-01-01T01:00:00.000Z') + minutes * 60_000).toISOString());
      await pass();
    }
    expect(await subscriptionOf(program, automationId, participant)).toMatchObject({
      status: 'active',
      retry_count: 5,
      next_trigger_at: '2026-01-01T01:31:00.000Z',
    });
    t.testClock.set('2026-01-01T01:31:00.000Z');
    await pass();
    expect(await subscriptionOf(program, automationId, participant)).toMatchObject({
      status: 'failed',
      retry_count: 6,
      next_trigger_at: null,
    });
    expect(await systemEvents(program.programId)).toHaveLength(0);
  });

  it('two schedulers at once fire each due subscription exactly once', async () => {
    t.testClock.set('2026-01-01T00:00:00.000Z');
    const program = await newProgram();
    await seedParticipants(t.database.handle.db, acme.organizationId, program.programId, 40);
    const automationId = await createStateAutomation(program, {
      schedule_type: 'INTERVAL',
      schedule_config: { interval: '24h' },
    });
    await pass(100);
    t.testClock.set('2026-01-02T00:00:00.000Z');
    await Promise.all([pass(7), pass(7), pass(7)]);
    const all = await subscriptions(program, automationId);
    expect(all).toHaveLength(40);
    expect(all.every((s) => s.trigger_count === 1)).toBe(true);
    expect(await systemEvents(program.programId)).toHaveLength(40);
  });
});

describe('rule budget resets on the scheduler', () => {
  it('resets a due budget in the table and moves next_reset_at once past the missed periods', async () => {
    t.testClock.set('2026-01-01T00:00:00.000Z');
    const { programId, assetId } = await createLedgerFixture(acme);
    const rule = await acme.request('POST', '/v1/rules', {
      program_id: programId,
      name: 'capped',
      condition: 'true',
      actions: [{ type: 'CREDIT', asset_id: assetId, amount: '1' }],
      budgets: [{ asset_id: assetId, limit: '100', schedule_type: 'INTERVAL', interval: '24h' }],
    });
    expect(rule.statusCode, rule.body).toBe(201);
    const ruleId = rule.json().id;
    await sql`update rule_budgets set consumed = 40 where rule_id = ${ruleId}`.execute(t.database.handle.db);
    const budget = async () =>
      (
        await sql<{ consumed: string; next_reset_at: Date }>`
          select consumed::text, next_reset_at from rule_budgets where rule_id = ${ruleId}`.execute(
          t.database.handle.db,
        )
      ).rows[0];
    await pass();
    expect(await budget()).toMatchObject({ consumed: '40' });
    t.testClock.set('2026-01-04T06:00:00.000Z');
    await pass();
    expect(await budget()).toEqual({ consumed: '0', next_reset_at: new Date('2026-01-05T06:00:00.000Z') });
  });
});
