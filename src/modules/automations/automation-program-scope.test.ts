import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestApp,
  createLedgerFixture,
  type LedgerFixture,
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

async function createRule(programId: string, body: Record<string, unknown>) {
  const response = await acme.request('POST', '/v1/rules', { program_id: programId, ...body });
  expect(response.statusCode, response.body).toBe(201);
  return response.json() as { id: string };
}

/** A program-scope one_time automation with no participant, due one minute after the clock. */
async function createProgramAutomation(programId: string, eventName: string) {
  const triggerAt = new Date(t.testClock.clock().getTime() + 60_000).toISOString();
  const response = await acme.request('POST', `/v1/programs/${programId}/automations`, {
    name: eventName,
    event_name: eventName,
    scope: 'program',
    trigger: { type: 'one_time', trigger_at: triggerAt },
  });
  expect(response.statusCode, response.body).toBe(201);
  expect(response.json()).toMatchObject({ participant_id: null });
  return triggerAt;
}

interface ListedEvent {
  id: string;
  participant_id: string | null;
  status: string;
  error_message: string | null;
  event_data: { type: string };
}

/** Runs the scheduler and workers until `count` SYSTEM events of the program are processed. */
async function processedSystemEvents(programId: string, count: number): Promise<ListedEvent[]> {
  const workers = startTestWorkers(t);
  try {
    let listed = await acme.request('GET', `/v1/events?program_id=${programId}&event_type=SYSTEM`);
    for (let attempt = 0; attempt < 400; attempt += 1) {
      listed = await acme.request('GET', `/v1/events?program_id=${programId}&event_type=SYSTEM`);
      const events = listed.json().data as ListedEvent[];
      const done = events.filter((event) => event.status === 'COMPLETED' || event.status === 'FAILED');
      if (done.length >= count) return events;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const automations = await acme.request('GET', `/v1/programs/${programId}/automations`);
    throw new Error(`the ${count} SYSTEM events were not processed: ${listed.body} ${automations.body}`);
  } finally {
    await workers.stop();
  }
}

describe('program-scope automations without a participant', () => {
  let fixture: LedgerFixture;
  let events: ListedEvent[];
  let readsParticipant: { id: string };

  beforeAll(async () => {
    t.testClock.set('2026-01-31T12:00:00.000Z');
    fixture = await createLedgerFixture(acme);
    readsParticipant = await createRule(fixture.programId, {
      name: 'Reads the participant',
      condition: 'event.type == "year_end" && "vip" in participant.tags',
      actions: [{ type: 'COUNTER', key: 'vip_year_ends', value: '1', target: { type: 'PROGRAM' } }],
    });
    await createRule(fixture.programId, {
      name: 'Year end',
      condition: 'event.type == "year_end"',
      actions: [
        { type: 'COUNTER', key: 'year_ends', value: '1', target: { type: 'PROGRAM' } },
        {
          type: 'CREDIT',
          asset_id: fixture.assetId,
          amount: '10',
          target: { type: 'PARTICIPANT', id: fixture.participantId },
        },
      ],
    });
    await createRule(fixture.programId, {
      name: 'Needs the event participant',
      condition: 'event.type == "bad_year"',
      actions: [{ type: 'CREDIT', asset_id: fixture.assetId, amount: '1' }],
    });
    await createProgramAutomation(fixture.programId, 'year_end');
    await createProgramAutomation(fixture.programId, 'bad_year');
    t.testClock.set('2026-01-31T12:02:00.000Z');
    const deps = { db: t.database.handle.db, clock: t.testClock.clock, fireEvents: fireSystemEvents };
    expect(await runAutomationPass(deps)).toBe(2);
    events = await processedSystemEvents(fixture.programId, 2);
  });

  it('fires one event with no participant per run', () => {
    expect(events).toHaveLength(2);
    for (const event of events) expect(event.participant_id).toBeNull();
  });

  it('sees participant as absent: a condition that reads it is false, not an error', async () => {
    const yearEnd = events.find((event) => event.event_data.type === 'year_end');
    expect(yearEnd).toMatchObject({ status: 'COMPLETED', error_message: null });
    const shown = (await acme.request('GET', `/v1/events/${yearEnd?.id}`)).json();
    expect(
      shown.rule_evaluations.find(
        (evaluation: { rule_id: string }) => evaluation.rule_id === readsParticipant.id,
      ),
    ).toMatchObject({ status: 'NOT_MATCHED', reason: 'MISSING_FIELD' });
    const counter = await acme.request(
      'GET',
      `/v1/programs/${fixture.programId}/state/counters/vip_year_ends`,
    );
    expect(counter.statusCode).toBe(404);
  });

  it('applies PROGRAM-target and explicitly targeted actions', async () => {
    const counter = await acme.request('GET', `/v1/programs/${fixture.programId}/state/counters/year_ends`);
    expect(counter.json()).toMatchObject({ value: '1' });
    const participant = (await acme.request('GET', `/v1/participants/${fixture.participantId}`)).json();
    expect(
      participant.balances.find((balance: { asset_id: string }) => balance.asset_id === fixture.assetId),
    ).toMatchObject({ available: '10.00' });
  });

  it('fails the event, with the reason, when an action needs the event’s participant', () => {
    expect(events.find((event) => event.event_data.type === 'bad_year')).toMatchObject({
      status: 'FAILED',
      error_message:
        'action CREDIT failed: the event has no participant (a program-scope automation fired it); give the action a target',
    });
  });
});
