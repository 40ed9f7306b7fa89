// Evaluations sent ahead with an earlier event of the claim are used only while what they read
// still holds: each case puts, in one claim, an event between the one that sent an evaluation
// ahead and the event it belongs to, which changes what that event's rules read.
import { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, type Tenant, type TestApp } from '../../../test/harness.js';
import { evaluationMessageJobsMax } from '../../platform/limits.js';
import { createLogger } from '../../platform/logger.js';
import { type EventWorkers, startEventWorkers } from './index.js';

let t: TestApp;
let acme: Tenant;
let earning: string;
let tagging: string;
let sequence = 0;
/** Participant ids by external_id. */
const participants = new Map<string, string>();

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  earning = (await acme.request('POST', '/v1/programs', { name: 'Earning' })).json().id;
  tagging = (await acme.request('POST', '/v1/programs', { name: 'Tagging' })).json().id;
  const rules = [
    {
      program_id: earning,
      name: 'Count program visits',
      condition: 'event.type == "visit"',
      actions: [{ type: 'COUNTER', key: 'visits', value: '1', target: { type: 'PROGRAM' } }],
    },
    {
      program_id: earning,
      name: 'Tag readers of visits',
      condition: 'event.type == "read" && program.counters.visits >= 1',
      actions: [{ type: 'TAG', tag: 'saw_visits' }],
    },
    {
      program_id: earning,
      name: 'Tag VIP purchases',
      condition: 'event.type == "purchase" && "vip" in participant.tags',
      actions: [{ type: 'TAG', tag: 'vip_purchase' }],
    },
    {
      program_id: tagging,
      name: 'Make VIP',
      condition: 'event.type == "promote"',
      actions: [{ type: 'TAG', tag: 'vip' }],
    },
  ];
  for (const rule of rules) {
    const created = await acme.request('POST', '/v1/rules', rule);
    expect(created.statusCode, created.body).toBe(201);
  }
});

/** Sends the events in one batch, then lets one worker apply them as one claim in one transaction. */
async function processAsOneClaim(events: { program_id: string; external_id: string; type: string }[]) {
  for (const externalId of new Set(events.map((event) => event.external_id))) {
    const created = await acme.request('POST', '/v1/participants', { external_id: externalId });
    expect(created.statusCode, created.body).toBe(201);
    participants.set(externalId, created.json().id);
  }
  const batch = events.map(({ program_id, external_id, type }) => {
    sequence += 1;
    return {
      program_id,
      external_id,
      idempotency_key: `ahead-${sequence}`,
      event_timestamp: new Date().toISOString(),
      event_data: { type },
    };
  });
  const accepted = await acme.request('POST', '/v1/events/batch', { events: batch });
  expect(accepted.statusCode, accepted.body).toBe(202);
  const workers: EventWorkers = startEventWorkers({
    db: t.database.handle.db,
    connectionString: t.database.url,
    clock: t.testClock.clock,
    logger: createLogger('silent'),
    workerCount: 1,
    concurrency: 1,
    leaseMs: 10_000,
    pollIntervalMs: 50,
  });
  try {
    const ids: string[] = accepted.json().results.map((item: { event: { id: string } }) => item.event.id);
    for (const id of ids) {
      for (let attempt = 0; ; attempt += 1) {
        const event = (await acme.request('GET', `/v1/events/${id}`)).json();
        if (event.status === 'COMPLETED') break;
        expect(event.status, JSON.stringify(event)).not.toBe('FAILED');
        expect(attempt).toBeLessThan(400);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    }
  } finally {
    await workers.stop();
  }
}

const tagsOf = async (externalId: string) =>
  (await acme.request('GET', `/v1/participants/${participants.get(externalId)}`)).json().tags;

describe('evaluations sent ahead', () => {
  it(`go with an event's own, ${evaluationMessageJobsMax - 1} at most, in one message`, async () => {
    const sent = vi.spyOn(Worker.prototype, 'postMessage');
    try {
      const count = evaluationMessageJobsMax + 1;
      await processAsOneClaim(
        Array.from({ length: count }, (_, n) => ({
          program_id: earning,
          external_id: `shopper-${n}`,
          type: 'purchase',
        })),
      );
      // The first event and the next 15 in one message; the 17th, which no look reached, on its own.
      const messages = sent.mock.calls.map(([message]) => (message as { events: unknown[] }).events.length);
      expect(messages).toEqual([evaluationMessageJobsMax, 1]);
    } finally {
      sent.mockRestore();
    }
  });

  it('are evaluated again after an event of the claim wrote to the database itself', async () => {
    // The visit's program counter goes to the database; the read was sent ahead with the visit.
    await processAsOneClaim([
      { program_id: earning, external_id: 'visitor', type: 'visit' },
      { program_id: earning, external_id: 'reader', type: 'read' },
    ]);
    expect(await tagsOf('reader')).toEqual(['saw_visits']);
  });

  it("are evaluated again after another program's event changed the participant in memory", async () => {
    // The purchase was sent ahead with the first event; the promotion, of another program, tags
    // the same participant in memory before the purchase's turn.
    await processAsOneClaim([
      { program_id: earning, external_id: 'first', type: 'read' },
      { program_id: tagging, external_id: 'member', type: 'promote' },
      { program_id: earning, external_id: 'member', type: 'purchase' },
    ]);
    expect(await tagsOf('member')).toEqual(['vip', 'vip_purchase']);
  });
});
