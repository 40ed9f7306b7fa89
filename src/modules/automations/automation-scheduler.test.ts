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
import { type FireEvents, runAutomationPass } from './index.js';

let t: TestApp;
let acme: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization('acme');
});

function pass(options: { chunkSize?: number; fireEvents?: FireEvents; budgetMs?: number } = {}) {
  return runAutomationPass(
    {
      db: t.database.handle.db,
      clock: t.testClock.clock,
      fireEvents: options.fireEvents ?? fireSystemEvents,
      chunkSize: options.chunkSize ?? 10,
    },
    options.budgetMs,
  );
}

/** Stores events as the server does, then throws at the `failingStore`th store, after it wrote. */
function failingAfterStore(failingStore: number, message: string): FireEvents {
  let stores = 0;
  return (events, now) => {
    const store = fireSystemEvents(events, now);
    return async (trx) => {
      stores += 1;
      await store(trx);
      if (stores === failingStore) throw new Error(message);
    };
  };
}

interface Program {
  programId: string;
  participantId: string;
  base: string;
}

/** A program with `participants` seeded participants and nothing else; participantId is the first. */
async function newProgram(participants: number): Promise<Program> {
  const programId = (await acme.request('POST', '/v1/programs', { name: `program ${Math.random()}` })).json()
    .id;
  await seedParticipants(t.database.handle.db, acme.organizationId, programId, participants);
  const first = await sql<{ participant_id: string }>`
    select participant_id from enrollments where program_id = ${programId} order by participant_id limit 1`.execute(
    t.database.handle.db,
  );
  return {
    programId,
    participantId: first.rows[0]?.participant_id ?? '',
    base: `/v1/programs/${programId}/automations`,
  };
}

async function createAutomation(program: Program, body: Record<string, unknown>) {
  const response = await acme.request('POST', program.base, {
    name: `automation ${Math.random()}`,
    event_name: 'digest',
    scope: 'participants',
    ...body,
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json() as { id: string; next_run_at: string | null };
}

async function getAutomation(program: Program, id: string) {
  return (await acme.request('GET', `${program.base}/${id}`)).json();
}

/** SYSTEM events of the program, read from the table: participant and idempotency key. */
async function systemEvents(programId: string) {
  const result = await sql<{
    participant_id: string;
    idempotency_key: string;
    event_data: Record<string, unknown>;
  }>`
    select participant_id, idempotency_key, event_data from events
    where program_id = ${programId} and event_type = 'SYSTEM' order by idempotency_key`.execute(
    t.database.handle.db,
  );
  return result.rows;
}

async function vipCount(programId: string) {
  const result = await sql<{ count: string }>`
    select count(*) as count from participants p join enrollments e on e.participant_id = p.id
    where e.program_id = ${programId} and 'vip' = any(p.tags)`.execute(t.database.handle.db);
  return Number(result.rows[0]?.count);
}

describe('the scheduler', () => {
  it('fans a cron run out to the matching ACTIVE participants in chunks, once each, with event_data.type and the payload', async () => {
    t.testClock.set('2026-03-04T12:00:00.000Z');
    const program = await newProgram(25);
    await sql`update participants set status = 'SUSPENDED' where external_id like ${`seed-${program.programId}-1`}`.execute(
      t.database.handle.db,
    );
    const automation = await createAutomation(program, {
      trigger: { type: 'cron', cron_expression: '0 9 * * 1', timezone: 'America/Chicago' },
      participant_filter: '"vip" in participant.tags',
      guard_condition: 'participant.counters.visits >= 1.0',
      payload: { channel: 'email', type: 'overridden' },
    });
    expect(await pass()).toBe(0);
    t.testClock.set(automation.next_run_at as string);
    await pass();
    const events = await systemEvents(program.programId);
    // The even participants are "vip"; those with visits = n % 3 = 0 fail the guard.
    const expected = await sql<{ id: string }>`
      select p.id from participants p join enrollments e on e.participant_id = p.id
      join counters c on c.owner_id = p.id and c.key = 'visits'
      where e.program_id = ${program.programId} and 'vip' = any(p.tags) and c.value >= 1
        and p.status = 'ACTIVE' order by p.id`.execute(t.database.handle.db);
    expect(expected.rows.length).toBeGreaterThan(0);
    expect(events.map((e) => e.participant_id).sort()).toEqual(expected.rows.map((r) => r.id).sort());
    expect(events[0]?.event_data).toEqual({ channel: 'email', type: 'digest' });
    expect(events[0]?.idempotency_key).toMatch(new RegExp(`^automation:${automation.id}:1:`));
    expect(await getAutomation(program, automation.id)).toMatchObject({
      execution_status: 'completed',
      // The suspended participant is not counted.
      participants_total: 24,
      participants_processed: 24,
      last_run_at: '2026-03-09T14:00:00.000Z',
      next_run_at: '2026-03-16T14:00:00.000Z',
    });
    // Listed as SYSTEM events through the API too.
    const listed = await acme.request(
      'GET',
      `/v1/events?program_id=${program.programId}&event_type=SYSTEM&limit=200`,
    );
    expect(listed.json().data).toHaveLength(events.length);
  });

  it('catches up after downtime by firing once for the whole missed window', async () => {
    t.testClock.set('2026-05-01T00:00:00.000Z');
    const program = await newProgram(4);
    const automation = await createAutomation(program, {
      trigger: { type: 'cron', cron_expression: '0 * * * *' },
    });
    expect(automation.next_run_at).toBe('2026-05-01T01:00:00.000Z');
    // Three days and a half of hourly ticks missed.
    t.testClock.set('2026-05-04T12:30:00.000Z');
    await pass();
    await pass();
    expect(await systemEvents(program.programId)).toHaveLength(4);
    expect(await getAutomation(program, automation.id)).toMatchObject({
      last_run_at: '2026-05-04T12:30:00.000Z',
      next_run_at: '2026-05-04T13:00:00.000Z',
    });
  });

  it('fires a 02:30 daily run once on the day New York skips 02:00-03:00, and a 01:30 one once on the day it repeats 01:00-02:00', async () => {
    const program = await newProgram(1);
    t.testClock.set('2026-03-07T12:00:00.000Z');
    const spring = await createAutomation(program, {
      trigger: { type: 'cron', cron_expression: '30 2 * * *', timezone: 'America/New_York' },
    });
    expect(spring.next_run_at).toBe('2026-03-08T07:00:00.000Z'); // 03:00 EDT, the skipped 02:30's place
    t.testClock.set('2026-03-08T07:00:00.000Z');
    await pass();
    expect(await getAutomation(program, spring.id)).toMatchObject({
      next_run_at: '2026-03-09T06:30:00.000Z',
    });
    await acme.request('DELETE', `${program.base}/${spring.id}`);

    t.testClock.set('2026-10-31T12:00:00.000Z');
    const fall = await createAutomation(program, {
      trigger: { type: 'cron', cron_expression: '30 1 * * *', timezone: 'America/New_York' },
    });
    expect(fall.next_run_at).toBe('2026-11-01T05:30:00.000Z'); // 01:30 EDT
    t.testClock.set('2026-11-01T05:30:00.000Z');
    await pass();
    // Not 06:30Z (01:30 EST, the repeated hour) but the next day.
    expect(await getAutomation(program, fall.id)).toMatchObject({ next_run_at: '2026-11-02T06:30:00.000Z' });
    t.testClock.set('2026-11-01T06:30:00.000Z');
    await pass();
    const events = await systemEvents(program.programId);
    expect(events.filter((e) => e.idempotency_key.includes(spring.id))).toHaveLength(1);
    expect(events.filter((e) => e.idempotency_key.includes(fall.id))).toHaveLength(1);
  });

  it('never fires a run twice when several schedulers run at once', async () => {
    t.testClock.set('2026-06-01T00:00:00.000Z');
    const program = await newProgram(60);
    await createAutomation(program, { trigger: { type: 'immediate' } });
    await createAutomation(program, {
      trigger: { type: 'immediate' },
      participant_filter: '"vip" in participant.tags',
    });
    await Promise.all([pass(), pass(), pass(), pass()]);
    const events = await systemEvents(program.programId);
    expect(events).toHaveLength(60 + (await vipCount(program.programId)));
    expect(new Set(events.map((e) => e.idempotency_key)).size).toBe(events.length);
  });

  it('advances two fan-outs running at once to the end, each participant once per automation', async () => {
    t.testClock.set('2026-06-01T12:00:00.000Z');
    const programs = [await newProgram(35), await newProgram(27)];
    const automations = await Promise.all(
      programs.map((program) => createAutomation(program, { trigger: { type: 'immediate' } })),
    );
    await pass();
    for (const [index, program] of programs.entries()) {
      const events = await systemEvents(program.programId);
      expect(new Set(events.map((e) => e.participant_id)).size).toBe(events.length);
      expect(events).toHaveLength(index === 0 ? 35 : 27);
      expect(await getAutomation(program, automations[index]?.id ?? '')).toMatchObject({
        execution_status: 'completed',
        participants_processed: events.length,
      });
    }
  });

  it('applies a participant_filter changed during a fan-out from the next chunk, though that chunk was read ahead', async () => {
    t.testClock.set('2026-06-01T13:00:00.000Z');
    const program = await newProgram(30);
    const automation = await createAutomation(program, { trigger: { type: 'immediate' } });
    // The first chunk's store changes the filter in its own transaction, as a PATCH committed
    // between the two chunks would; the second chunk was read ahead before that.
    let stores = 0;
    const filterChangedAtFirstStore: FireEvents = (events, now) => {
      const store = fireSystemEvents(events, now);
      return async (trx) => {
        stores += 1;
        await store(trx);
        if (stores === 1)
          await sql`update automations set participant_filter = '"vip" in participant.tags'
            where id = ${automation.id}`.execute(trx);
      };
    };
    await pass({ fireEvents: filterChangedAtFirstStore });
    const sent = new Set((await systemEvents(program.programId)).map((e) => e.participant_id));
    const participants = await sql<{ id: string; vip: boolean }>`
      select p.id, 'vip' = any(p.tags) as vip from participants p join enrollments e on e.participant_id = p.id
      where e.program_id = ${program.programId} order by p.id`.execute(t.database.handle.db);
    const [first, rest] = [participants.rows.slice(0, 10), participants.rows.slice(10)];
    expect(first.every((p) => sent.has(p.id))).toBe(true);
    expect(rest.some((p) => !p.vip)).toBe(true);
    expect(rest.filter((p) => sent.has(p.id))).toEqual(rest.filter((p) => p.vip));
  });

  it('resumes a fan-out that stopped between chunks where it stopped, showing progress meanwhile', async () => {
    t.testClock.set('2026-06-02T00:00:00.000Z');
    const program = await newProgram(35);
    const automation = await createAutomation(program, { trigger: { type: 'immediate' } });
    await expect(pass({ fireEvents: failingAfterStore(3, 'the process died here') })).rejects.toThrow(
      'the process died here',
    );
    // Two chunks committed; the third rolled back with its cursor.
    expect(await getAutomation(program, automation.id)).toMatchObject({
      execution_status: 'executing',
      participants_total: 35,
      participants_processed: 20,
    });
    expect(await systemEvents(program.programId)).toHaveLength(20);
    await pass();
    const events = await systemEvents(program.programId);
    expect(events).toHaveLength(35);
    expect(new Set(events.map((e) => e.participant_id)).size).toBe(35);
    expect(await getAutomation(program, automation.id)).toMatchObject({
      execution_status: 'completed',
      participants_processed: 35,
    });
  });

  it('cancels a running fan-out: sent participants keep their events, the rest are skipped, and it stays active', async () => {
    t.testClock.set('2026-06-03T00:00:00.000Z');
    const program = await newProgram(30);
    const automation = await createAutomation(program, {
      trigger: { type: 'cron', cron_expression: '0 0 * * *' },
    });
    const url = `${program.base}/${automation.id}`;
    const triggered = await acme.request('POST', `${url}/trigger`);
    expect(triggered.statusCode).toBe(202);
    await expect(pass({ fireEvents: failingAfterStore(2, 'stopped') })).rejects.toThrow('stopped');
    const running = await acme.request('POST', `${url}/trigger`);
    expect(running.statusCode).toBe(400);
    expect(running.json().message).toMatch(/^Automation cannot be triggered/);
    const canceled = await acme.request('POST', `${url}/cancel`);
    expect(canceled.statusCode, canceled.body).toBe(200);
    expect(canceled.json()).toMatchObject({
      status: 'active',
      execution_status: 'failed',
      execution_error: 'canceled',
      participants_processed: 10,
      next_run_at: '2026-06-04T00:00:00.000Z',
    });
    await pass();
    expect(await systemEvents(program.programId)).toHaveLength(10);
    // Idle again: it can be triggered, and the new run sends to everyone.
    const again = await acme.request('POST', `${url}/trigger`);
    expect(again.statusCode).toBe(202);
    await pass();
    expect(await systemEvents(program.programId)).toHaveLength(40);
  });

  it('keeps a paused automation from starting, but lets a fan-out already running finish', async () => {
    t.testClock.set('2026-06-05T00:00:00.000Z');
    const program = await newProgram(15);
    const paused = await createAutomation(program, {
      trigger: { type: 'cron', cron_expression: '0 1 * * *' },
    });
    await acme.request('PATCH', `${program.base}/${paused.id}`, { status: 'paused' });
    const running = await createAutomation(program, { trigger: { type: 'immediate' } });
    await pass({ budgetMs: 0 });
    expect(await getAutomation(program, running.id)).toMatchObject({ execution_status: 'pending' });
    await acme.request('PATCH', `${program.base}/${running.id}`, { status: 'paused' });
    t.testClock.set('2026-06-06T00:00:00.000Z');
    await pass();
    expect(await getAutomation(program, running.id)).toMatchObject({
      execution_status: 'completed',
      status: 'paused',
    });
    expect(await getAutomation(program, paused.id)).toMatchObject({
      execution_status: 'idle',
      last_run_at: null,
    });
    expect(await systemEvents(program.programId)).toHaveLength(15);
  });

  it('fires a program-scope one_time run at trigger_at, once, to its participant; it cannot be triggered by hand', async () => {
    t.testClock.set('2026-07-01T00:00:00.000Z');
    const program = await newProgram(1);
    const automation = await createAutomation(program, {
      scope: 'program',
      participant_id: program.participantId,
      trigger: { type: 'one_time', trigger_at: '2026-07-02T09:00:00.000Z' },
      payload: { statement: 'june' },
    });
    const url = `${program.base}/${automation.id}`;
    expect((await acme.request('POST', `${url}/trigger`)).statusCode).toBe(400);
    await pass();
    expect(await systemEvents(program.programId)).toHaveLength(0);
    t.testClock.set('2026-07-02T09:00:01.000Z');
    await pass();
    await pass();
    const events = await systemEvents(program.programId);
    expect(events).toEqual([
      {
        participant_id: program.participantId,
        idempotency_key: `automation:${automation.id}:1:${program.participantId}`,
        event_data: { statement: 'june', type: 'digest' },
      },
    ]);
    expect(await getAutomation(program, automation.id)).toMatchObject({
      execution_status: 'completed',
      processed_at: '2026-07-02T09:00:01.000Z',
      next_run_at: null,
    });
  });

  it('fails the run with the reason when the program accepts no events', async () => {
    t.testClock.set('2026-07-03T00:00:00.000Z');
    const program = await newProgram(3);
    const cron = await createAutomation(program, {
      scope: 'program',
      participant_id: program.participantId,
      trigger: { type: 'cron', cron_expression: '0 * * * *' },
    });
    const fanOut = await createAutomation(program, { trigger: { type: 'immediate' } });
    await acme.request('PATCH', `/v1/programs/${program.programId}`, { status: 'SUSPENDED' });
    t.testClock.set('2026-07-03T01:00:00.000Z');
    await pass();
    expect(await getAutomation(program, cron.id)).toMatchObject({
      execution_status: 'failed',
      last_error: expect.stringMatching(/^program_inactive: .* SUSPENDED/),
      next_run_at: '2026-07-03T02:00:00.000Z',
    });
    expect(await getAutomation(program, fanOut.id)).toMatchObject({
      execution_status: 'failed',
      error_message: expect.stringMatching(/^program_inactive/),
    });
    expect(await systemEvents(program.programId)).toHaveLength(0);
  });

  it('sends events the rules engine processes like any other: a monthly statement credits points', async () => {
    t.testClock.set('2026-07-31T12:00:00.000Z');
    const fixture = await createLedgerFixture(acme);
    const program = { ...fixture, base: `/v1/programs/${fixture.programId}/automations` };
    const rule = await acme.request('POST', '/v1/rules', {
      program_id: program.programId,
      name: 'Statement bonus',
      condition: 'event.type == "monthly_statement" && event.bonus > 0.0',
      actions: [{ type: 'CREDIT', asset_id: fixture.assetId, amount: 'event.bonus' }],
    });
    expect(rule.statusCode, rule.body).toBe(201);
    const automation = await createAutomation(program, {
      event_name: 'monthly_statement',
      payload: { bonus: 5 },
      trigger: { type: 'cron', cron_expression: '0 9 1 * *', timezone: 'Europe/Paris' },
    });
    expect(automation.next_run_at).toBe('2026-08-01T07:00:00.000Z');
    t.testClock.set('2026-08-01T07:00:00.000Z');
    await pass();
    const workers = startTestWorkers(t);
    try {
      let status = 'PENDING';
      for (let attempt = 0; attempt < 200 && status !== 'COMPLETED'; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        const listed = await acme.request(
          'GET',
          `/v1/events?program_id=${program.programId}&event_type=SYSTEM`,
        );
        status = listed.json().data[0]?.status ?? 'PENDING';
      }
      expect(status).toBe('COMPLETED');
    } finally {
      await workers.stop();
    }
    const participant = (await acme.request('GET', `/v1/participants/${fixture.participantId}`)).json();
    expect(
      participant.balances.find((b: { asset_id: string }) => b.asset_id === fixture.assetId),
    ).toMatchObject({
      available: '5.00',
    });
  });

  it('makes SCHEDULE_EVENT and BROADCAST automations with source rule_action, fired by the same scheduler', async () => {
    t.testClock.set('2026-09-01T10:00:00.000Z');
    const program = await newProgram(3);
    const rule = await acme.request('POST', '/v1/rules', {
      program_id: program.programId,
      name: 'Follow up and announce',
      condition: 'event.type == "signup"',
      actions: [
        { type: 'SCHEDULE_EVENT', event_name: 'welcome_check', delay: '24h', payload: { step: 2 } },
        { type: 'BROADCAST', event_name: 'new_member', payload: { hello: true } },
      ],
    });
    expect(rule.statusCode, rule.body).toBe(201);
    const sent = await acme.request('POST', '/v1/events', {
      program_id: program.programId,
      participant_id: program.participantId,
      idempotency_key: 'signup-1',
      event_timestamp: '2026-09-01T10:00:00.000Z',
      event_data: { type: 'signup' },
    });
    expect(sent.statusCode, sent.body).toBe(202);
    const workers = startTestWorkers(t);
    try {
      let listed: { source: string; trigger_type: string; next_run_at: string | null }[] = [];
      for (let attempt = 0; attempt < 200 && listed.length < 2; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        listed = (await acme.request('GET', `${program.base}?source=rule_action`)).json().data;
      }
      expect(listed.map((a) => [a.trigger_type, a.source]).sort()).toEqual([
        ['immediate', 'rule_action'],
        ['one_time', 'rule_action'],
      ]);
      expect(listed.find((a) => a.trigger_type === 'one_time')?.next_run_at).toBe('2026-09-02T10:00:00.000Z');
      const eventsNamed = async (name: string) =>
        (await systemEvents(program.programId)).filter((e) => e.event_data.event_name === name);
      for (let attempt = 0; attempt < 200 && (await eventsNamed('new_member')).length < 3; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(await eventsNamed('new_member')).toHaveLength(3);
      expect(await eventsNamed('welcome_check')).toHaveLength(0);
      t.testClock.set('2026-09-02T10:00:00.000Z');
      for (let attempt = 0; attempt < 200 && (await eventsNamed('welcome_check')).length < 1; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const [followUp] = await eventsNamed('welcome_check');
      expect(followUp).toMatchObject({
        participant_id: program.participantId,
        event_data: { type: 'welcome_check', event_name: 'welcome_check', step: 2 },
      });
    } finally {
      await workers.stop();
    }
  });

  it('sends a birthday bonus only to the participants whose "MM-DD" birthday is today in the automation’s zone', async () => {
    t.testClock.set('2026-06-14T12:00:00.000Z');
    const program = await newProgram(3);
    await sql`update participants set attributes = case
        when external_id like '%-0' then '{"birthday": "06-15"}'::jsonb
        when external_id like '%-1' then '{"birthday": "06-16"}'::jsonb else '{}'::jsonb end
      where external_id like ${`seed-${program.programId}-%`}`.execute(t.database.handle.db);
    const today = (part: string, offset: string) =>
      `(now.${part}("Europe/Paris") < 9 ? "0" : "") + string(now.${part}("Europe/Paris") + ${offset})`;
    const automation = await createAutomation(program, {
      event_name: 'birthday',
      trigger: { type: 'cron', cron_expression: '0 8 * * *', timezone: 'Europe/Paris' },
      participant_filter: '"birthday" in participant.attributes',
      guard_condition: `participant.attributes.birthday == ${today('getMonth', '1')} + "-" + ${today('getDayOfMonth', '1')}`,
    });
    expect(automation.next_run_at).toBe('2026-06-15T06:00:00.000Z');
    t.testClock.set('2026-06-15T06:00:00.000Z');
    await pass();
    const events = await systemEvents(program.programId);
    const born = await sql<{ id: string }>`
      select id from participants where attributes ->> 'birthday' = '06-15'
        and external_id like ${`seed-${program.programId}-%`}`.execute(t.database.handle.db);
    expect(events.map((e) => e.participant_id)).toEqual(born.rows.map((r) => r.id));
    expect(await getAutomation(program, automation.id)).toMatchObject({ participants_processed: 3 });
  });
});
