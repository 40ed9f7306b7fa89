// A rule budget is a hard cap across processes: two servers on one database, four event workers
// each, apply the events of forty participants that clients send to both at once. The budget pays
// exactly its limit, every other evaluation is BUDGET_EXCEEDED, and the ledger verifies.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/modules/ledger/index.js';
import { createApiKey } from '../../src/modules/organizations/index.js';
import { systemClock } from '../../src/platform/clock.js';
import { type Call, capEvents, createCappedRule, expectCapHeld, waitForEvents } from '../budget-cap.js';
import { createTestDatabase, type TestDatabase } from '../harness.js';
import { freePort, spawnServer } from './run-process.js';

const participants = 40;
const eventsPerRequest = 4;

let database: TestDatabase;
let apiKey: string;
const servers: { child: ChildProcess; port: number }[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  apiKey = (await createApiKey(database.handle.db, 'budget-cap')).secret;
  for (let i = 0; i < 2; i += 1) {
    const port = await freePort();
    const child = await spawnServer(port, {
      DATABASE_URL: database.url,
      LOG_LEVEL: 'error',
      ACCRUE_WORKERS: '4',
      ACCRUE_POOL_SIZE: '10',
    });
    servers.push({ child, port });
  }
}, 90_000);

afterAll(async () => {
  for (const { child } of servers)
    if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
  await database.handle.close();
});

/** Calls the server at `port`. */
function callAt(port: number): Call {
  return async (method, url, body) => {
    const response = await fetch(`http://127.0.0.1:${port}${url}`, {
      method,
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: await response.json() };
  };
}

/** Stops a server gracefully: its workers finish what they hold. */
function stop(child: ChildProcess): Promise<unknown> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  return exited;
}

describe('rule budgets across two server processes', () => {
  it(`pays a budget of five credits exactly five times for ${participants} events sent to both`, async () => {
    const calls = servers.map((server) => callAt(server.port));
    const [first, second] = calls;
    if (first === undefined || second === undefined) throw new Error('two servers are running');
    const rule = await createCappedRule(first, 'PROCS');
    const events = capEvents(rule.programId, 'procs', participants);
    const requests = [];
    for (let start = 0; start < participants; start += eventsPerRequest) {
      const call = calls[(start / eventsPerRequest) % calls.length] ?? first;
      requests.push(
        call('POST', '/v1/events/batch', { events: events.slice(start, start + eventsPerRequest) }),
      );
    }
    const responses = await Promise.all(requests);
    expect(responses.map((response) => response.status)).toEqual(responses.map(() => 202));
    await waitForEvents(database.handle.db, rule.programId, participants);
    await expectCapHeld(database.handle.db, second, rule, participants);
    // Verified once both have stopped: a running server's sealer would hold the chain meanwhile.
    expect(await Promise.all(servers.map(({ child }) => stop(child)))).toEqual([0, 0]);
    const verified = await verifyLedger(database.handle.db, systemClock);
    expect(verified.reports.filter((report) => !report.all_passed)).toEqual([]);
  }, 120_000);
});
