// A rule budget is a hard cap while several workers, each applying its claims in parallel
// transactions, process events of many participants at once: a budget that pays five events pays
// five of forty, whether they arrive in one batch or as concurrent requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Call,
  capEvents,
  createCappedRule,
  expectCapHeld,
  waitForEvents,
} from '../../../test/budget-cap.js';
import { buildTestApp, startTestWorkers, type TestApp } from '../../../test/harness.js';
import { verifyLedger } from '../ledger/index.js';
import type { EventWorkers } from './index.js';

const participants = 40;

let t: TestApp;
let call: Call;
let workers: EventWorkers;

beforeAll(async () => {
  t = await buildTestApp();
  const acme = await t.createOrganization();
  call = async (method, url, body) => {
    const response = await acme.request(method, url, body);
    return { status: response.statusCode, body: response.json() };
  };
  workers = startTestWorkers(t, { workerCount: 4 });
});

afterAll(async () => {
  await workers.stop();
});

describe('rule budgets under concurrent workers', () => {
  it(`pays a budget of five credits exactly five times for ${participants} events sent in one batch`, async () => {
    const rule = await createCappedRule(call, 'BATCH');
    const response = await call('POST', '/v1/events/batch', {
      events: capEvents(rule.programId, 'batch', participants),
    });
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ error_count: 0 });
    await waitForEvents(t.database.handle.db, rule.programId, participants);
    await expectCapHeld(t.database.handle.db, call, rule, participants);
  });

  it(`pays a budget of five credits exactly five times for ${participants} concurrent requests`, async () => {
    const rule = await createCappedRule(call, 'SINGLE');
    const responses = await Promise.all(
      capEvents(rule.programId, 'single', participants).map((event) => call('POST', '/v1/events', event)),
    );
    expect(responses.map((response) => response.status)).toEqual(responses.map(() => 202));
    await waitForEvents(t.database.handle.db, rule.programId, participants);
    await expectCapHeld(t.database.handle.db, call, rule, participants);
    const verified = await verifyLedger(t.database.handle.db, t.testClock.clock);
    expect(verified.reports.filter((report) => !report.all_passed)).toEqual([]);
  });
});
