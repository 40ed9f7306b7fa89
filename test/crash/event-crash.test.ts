// Crash safety of event ingestion and processing against a real server process: the server is
// killed with SIGKILL several times while clients send batches and workers apply them, each event
// crediting points through a rule. Afterwards every event a client sent exists once and was
// COMPLETED exactly once (a trigger records each committed transition to COMPLETED, so an event
// applied twice would show two rows), every participant holds exactly the points of its events, and
// the ledger verifies.
import type { ChildProcess } from 'node:child_process';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/modules/ledger/index.js';
import { createApiKey } from '../../src/modules/organizations/index.js';
import { systemClock } from '../../src/platform/clock.js';
import { createTestDatabase, type TestDatabase } from '../harness.js';
import { createEarnRule, freePort, spawnServer } from '../process/run-process.js';

// Moderate by default so the suite stays fast; ACCRUE_CRASH_EVENTS=10000 runs the full size
// (1 participant per 10 events, kills spread over the run).
const eventCount = Number(process.env.ACCRUE_CRASH_EVENTS ?? 2_000);
const participantCount = eventCount / 10;
const batchSize = 100;
const clients = 4;
const batchCount = eventCount / batchSize;
const killAfterBatches = [0.15, 0.45, 0.75].map((share) => Math.max(1, Math.round(batchCount * share)));

let database: TestDatabase;
let server: ChildProcess | undefined;
let port: number;
let apiKey: string;

beforeAll(async () => {
  database = await createTestDatabase();
  apiKey = (await createApiKey(database.handle.db, 'crash-test')).secret;
  await sql`create table completions (event_id uuid not null, at timestamptz not null default clock_timestamp())`.execute(
    database.handle.db,
  );
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
});

afterAll(async () => {
  if (server?.exitCode === null && server.pid !== undefined) process.kill(server.pid, 'SIGKILL');
  await database.handle.close();
});

function startServer(): Promise<ChildProcess> {
  return spawnServer(port, {
    DATABASE_URL: database.url,
    LOG_LEVEL: 'error',
    ACCRUE_WORKERS: '2',
    ACCRUE_EVENT_LEASE_MS: '1000',
    ACCRUE_POOL_SIZE: '10',
  });
}

function killServer(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  });
}

async function call(method: string, url: string, body?: unknown): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${url}`, {
    method,
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** Sends a batch until the server accepts it, as a client that retries on timeouts and resets would. */
async function sendUntilAccepted(events: unknown[]): Promise<string[]> {
  for (;;) {
    try {
      const response = await call('POST', '/v1/events/batch', { events });
      if (response.status === 202) {
        const result = (await response.json()) as {
          error_count: number;
          results: { event: { id: string } }[];
        };
        expect(result.error_count).toBe(0);
        return result.results.map((item) => item.event.id);
      }
    } catch {
      // The server is down; try again once it is back.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('events under SIGKILL', () => {
  it(
    'completes every accepted event exactly once after three kills and restarts',
    async () => {
      server = await startServer();
      const programResponse = await call('POST', '/v1/programs', { name: 'Crash' });
      const programId = ((await programResponse.json()) as { id: string }).id;
      const assetId = await createEarnRule(call, programId);
      const batches = Array.from({ length: batchCount }, (_, b) =>
        Array.from({ length: batchSize }, (_, i) => {
          const n = b * batchSize + i;
          return {
            program_id: programId,
            external_id: `crash-user-${n % participantCount}`,
            idempotency_key: `crash-${n}`,
            event_timestamp: new Date(Date.UTC(2024, 0, 1, 0, 0, n)).toISOString(),
            event_data: { n, amount: '10.00' },
          };
        }),
      );
      let accepted = 0;
      let next = 0;
      const acceptedIds: string[] = [];
      const kills = [...killAfterBatches];
      let restarting: Promise<void> | undefined;
      const client = async () => {
        for (let b = next++; b < batches.length; b = next++) {
          acceptedIds.push(...(await sendUntilAccepted(batches[b] ?? [])));
          accepted += 1;
          if (kills.length > 0 && accepted >= (kills[0] ?? 0) && restarting === undefined) {
            kills.shift();
            const victim = server;
            restarting = (async () => {
              if (victim) await killServer(victim);
              server = await startServer();
              restarting = undefined;
            })();
          }
        }
      };
      await Promise.all(Array.from({ length: clients }, client));
      await restarting;
      expect(kills).toEqual([]);
      expect(new Set(acceptedIds).size).toBe(eventCount);

      const db = database.handle.db;
      // Processing runs at about 100 events/s with the rule (see bench/README.md); allow for it.
      const deadline = Date.now() + Math.max(90_000, eventCount * 30);
      for (;;) {
        const { rows } = await sql<{ unfinished: string }>`
        select count(*)::text as unfinished from events_with_status where status <> 'COMPLETED'`.execute(db);
        if (Number(rows[0]?.unfinished) === 0 || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const { rows: totals } = await sql<{ events: string; keys: string; completed: string }>`
      select count(*)::text as events, count(distinct idempotency_key)::text as keys,
        count(*) filter (where status = 'COMPLETED')::text as completed from events_with_status`.execute(db);
      expect(totals[0]).toEqual({
        events: String(eventCount),
        keys: String(eventCount),
        completed: String(eventCount),
      });
      const { rows: completions } = await sql<{ applied: string; twice: string }>`
      select count(*)::text as applied,
        (select count(*) from (select event_id from completions group by event_id having count(*) > 1) d)::text as twice
      from completions`.execute(db);
      expect(completions[0]).toEqual({ applied: String(eventCount), twice: '0' });
      const lost = eventCount - Number(totals[0]?.completed);
      process.stdout.write(
        `crash test: ${killAfterBatches.length} SIGKILLs survived, ${eventCount} events, events lost: ${lost}, ` +
          `events applied twice: ${completions[0]?.twice}\n`,
      );
      // Each participant got 10 events of 10.00 each, exactly once: 100.00, 10000 minor units.
      const { rows: balances } = await sql<{ holders: string; wrong: string }>`
      select count(*)::text as holders, count(*) filter (where balance <> 10000)::text as wrong
      from ledger_accounts
      where owner_type = 'PARTICIPANT' and bucket = 'AVAILABLE' and asset_id = ${assetId}`.execute(db);
      expect(balances[0]).toEqual({ holders: String(participantCount), wrong: '0' });
      // SIGTERM is a graceful stop: requests drain, workers finish what they hold, exit code 0.
      // Verified after it: the server's own sealer, still running, would hold the chain while the
      // verification seals, and leave entries it had not sealed yet counted as unsealed.
      const stopping = server;
      const exited = new Promise((resolve) => stopping?.once('exit', resolve));
      if (stopping?.pid !== undefined) process.kill(stopping.pid, 'SIGTERM');
      expect(await exited).toBe(0);
      expect((await verifyLedger(db, systemClock)).reports.filter((report) => !report.all_passed)).toEqual(
        [],
      );
      const { rows: people } = await sql<{ participants: string; enrollments: string }>`
      select (select count(*) from participants)::text as participants,
        (select count(*) from enrollments)::text as enrollments`.execute(db);
      expect(people[0]).toEqual({
        participants: String(participantCount),
        enrollments: String(participantCount),
      });
    },
    Math.max(180_000, eventCount * 60),
  );
});
