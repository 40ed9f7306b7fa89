// Scaling out on one PostgreSQL, as docs/scaling.md describes it: one API process without workers
// (ACCRUE_WORKERS=0) and two `accrue worker` processes. Every accepted event must be applied exactly
// once (a trigger records each committed transition to COMPLETED), every participant must hold exactly
// the points of its events, the ledger must verify, and the two workers' own metrics must add up to
// the number of events.
import type { ChildProcess } from 'node:child_process';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/modules/ledger/index.js';
import { createApiKey } from '../../src/modules/organizations/index.js';
import { systemClock } from '../../src/platform/clock.js';
import { createTestDatabase, type TestDatabase } from '../harness.js';
import {
  createEarnRule,
  freePort,
  type ServerProcess,
  spawnServer,
  startWorkerCommand,
} from './run-process.js';

const eventCount = 1_000;
const participantCount = 100;
const batchSize = 100;

let database: TestDatabase;
let api: ChildProcess | undefined;
const workers: { process: ServerProcess; metricsPort: number }[] = [];
let port: number;
let apiKey: string;

beforeAll(async () => {
  database = await createTestDatabase();
  apiKey = (await createApiKey(database.handle.db, 'scale-out')).secret;
  await sql`create table completions (event_id uuid not null)`.execute(database.handle.db);
  await sql`
    create function record_completion() returns trigger language plpgsql as $$
    begin
      insert into completions (event_id) values (new.event_id);
      return null;
    end;
    $$`.execute(database.handle.db);
  await sql`
    create trigger events_completed after insert on event_outcomes for each row
    when (new.status = 'COMPLETED')
    execute function record_completion()`.execute(database.handle.db);
  port = await freePort();
  const shared = { DATABASE_URL: database.url, LOG_LEVEL: 'warn', ACCRUE_POOL_SIZE: '6' };
  api = await spawnServer(port, { ...shared, ACCRUE_WORKERS: '0' });
  for (let index = 0; index < 2; index += 1) {
    const metricsPort = await freePort();
    const env = {
      ...shared,
      LOG_LEVEL: 'info',
      ACCRUE_WORKERS: '2',
      ACCRUE_METRICS_PORT: String(metricsPort),
    };
    workers.push({ process: await startWorkerCommand(env), metricsPort });
  }
}, 120_000);

afterAll(async () => {
  for (const child of [api, ...workers.map((worker) => worker.process.child)]) {
    if (child?.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }
  await database.handle.close();
});

async function call(method: string, url: string, body?: unknown): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${url}`, {
    method,
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function completedBy(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const line = text
    .split('\n')
    .find((row) => row.startsWith('accrue_events_finished_total{outcome="completed"} '));
  return Number(line?.split(' ')[1] ?? 0);
}

async function waitUntilAllCompleted(): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const { rows } = await sql<{ unfinished: string }>`
      select count(*)::text as unfinished from events_with_status where status <> 'COMPLETED'`.execute(
      database.handle.db,
    );
    if (rows[0]?.unfinished === '0') return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('one API process and two worker processes on one PostgreSQL', () => {
  it('apply every event exactly once, and their metrics add up to the events', async () => {
    const program = await call('POST', '/v1/programs', { name: 'Scale out' });
    const programId = ((await program.json()) as { id: string }).id;
    const assetId = await createEarnRule(call, programId);
    for (let b = 0; b < eventCount / batchSize; b += 1) {
      const events = Array.from({ length: batchSize }, (_, i) => {
        const n = b * batchSize + i;
        return {
          program_id: programId,
          external_id: `scale-user-${n % participantCount}`,
          idempotency_key: `scale-${n}`,
          event_timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
          event_data: { n },
        };
      });
      const response = await call('POST', '/v1/events/batch', { events });
      expect(response.status).toBe(202);
    }
    await waitUntilAllCompleted();
    const db = database.handle.db;
    const { rows: completions } = await sql<{ applied: string; distinct: string }>`
      select count(*)::text as applied, count(distinct event_id)::text as distinct from completions`.execute(
      db,
    );
    expect(completions[0]).toEqual({ applied: String(eventCount), distinct: String(eventCount) });
    const { rows: balances } = await sql<{ holders: string; wrong: string }>`
      select count(*)::text as holders, count(*) filter (where balance <> ${(eventCount / participantCount) * 1000})::text as wrong
      from ledger_accounts
      where owner_type = 'PARTICIPANT' and bucket = 'AVAILABLE' and asset_id = ${assetId}`.execute(db);
    expect(balances[0]).toEqual({ holders: String(participantCount), wrong: '0' });

    const split = await Promise.all(workers.map((worker) => completedBy(worker.metricsPort)));
    process.stdout.write(
      `scale-out: ${eventCount} events applied once, by worker process: ${split.join(' + ')}\n`,
    );
    expect(split.reduce((sum, count) => sum + count, 0)).toBe(eventCount);

    for (const child of [api, ...workers.map((worker) => worker.process.child)]) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child?.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
    expect((await verifyLedger(db, systemClock)).reports.filter((report) => !report.all_passed)).toEqual([]);
  }, 240_000);
});
