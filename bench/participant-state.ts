// `DATABASE_URL=… npx tsx bench/participant-state.ts [participants]`: a participant_state THRESHOLD
// automation (counter "visits" at or above 0, which every seeded participant reaches) with a
// one-clause participant_filter and guard_condition, on a server process of its own on a fresh
// database (default 100,000 participants). Prints how fast the scheduler subscribes the program's
// participants (automation created -> last subscription saved) and fires them (first -> last SYSTEM
// event stored), and checks each participant got exactly one event. A measurement, not a test.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { connect, type Database } from '../src/platform/db/database.js';
import { createLogger } from '../src/platform/logger.js';
import { adminQuery, withDatabase } from '../test/global-setup.js';
import { startServer } from '../test/process/run-process.js';
import { seededProgram } from './seeded-program.js';

const participantCount = Number(process.argv[2] ?? 100_000);
const adminUrl = process.env.DATABASE_URL;

async function main(): Promise<void> {
  if (adminUrl === undefined)
    throw new Error('set DATABASE_URL: the benchmark makes a database of its own there');
  const name = `accrue_bench_${randomBytes(4).toString('hex')}`;
  await adminQuery(adminUrl, `create database ${name}`);
  const url = withDatabase(adminUrl, name);
  // No event workers: the figures are the scheduler's alone.
  const env = { DATABASE_URL: url, LOG_LEVEL: 'info', ACCRUE_WORKERS: '0' };
  const handle = connect(url, { sizeMax: 2, waitMs: 10_000 }, createLogger('silent'), async () => {});
  const server = await startServer(env);
  try {
    const { call, programId } = await seededProgram(
      handle.db,
      server,
      env,
      'participant_state bench',
      participantCount,
    );
    const createdAt = Date.now();
    const automation = await call('POST', `/v1/programs/${programId}/automations`, {
      name: 'Reached zero visits',
      event_name: 'milestone',
      scope: 'participants',
      trigger: {
        type: 'participant_state',
        schedule_type: 'THRESHOLD',
        schedule_config: { counter: 'visits', value: 0 },
      },
      participant_filter: 'participant.status == "ACTIVE"',
      guard_condition: 'participant.counters.visits >= 0.0',
    });
    const fired = await waitForEvents(handle.db, programId);
    const subscribed = await sql<{ count: string; last: Date; completed: string }>`
      select count(*) as count, max(created_at) as last, count(*) filter (where status = 'completed' and trigger_count = 1) as completed
      from automation_subscriptions where automation_id = ${automation.id}`.execute(handle.db);
    const subscriptions = subscribed.rows[0];
    const subscribeSeconds = ((subscriptions?.last.getTime() ?? createdAt) - createdAt) / 1000;
    const fireSeconds = (fired.last.getTime() - fired.first.getTime()) / 1000;
    const figures = {
      participants: participantCount,
      subscriptions: Number(subscriptions?.count),
      fired_once: Number(subscriptions?.completed),
      events: fired.count,
      subscribe_seconds: round(subscribeSeconds),
      subscribe_participants_per_second: Math.round(participantCount / subscribeSeconds),
      fire_seconds: round(fireSeconds),
      fire_subscriptions_per_second: Math.round(fired.count / fireSeconds),
    };
    process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    await handle.close();
    await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
  }
}

/** Waits until one SYSTEM event per participant is stored; their first and last creation times. */
async function waitForEvents(db: Database, programId: string) {
  for (;;) {
    const result = await sql<{ count: string; first: Date; last: Date }>`
      select count(*) as count, min(created_at) as first, max(created_at) as last from events
      where program_id = ${programId} and event_type = 'SYSTEM'`.execute(db);
    const row = result.rows[0];
    if (row !== undefined && Number(row.count) >= participantCount) {
      return { count: Number(row.count), first: row.first, last: row.last };
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

await main();
