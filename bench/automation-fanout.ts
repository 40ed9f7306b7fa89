// `DATABASE_URL=… npx tsx bench/automation-fanout.ts [participants]`: an immediate automation fans
// out to every participant of a program (default 100,000) with a one-clause participant_filter and
// guard_condition, on a server process of its own (default configuration: 2 event workers) on a
// fresh database. Prints the fan-out's participants/s (from execution_started_at to
// execution_completed_at), the time until every fired event is COMPLETED, and the processing rate
// of those events. A measurement, not a test.
// `FAN_OUT_ONLY=1` runs the server without event workers (ACCRUE_WORKERS=0) and stops when the
// fan-out completes: the fan-out alone. `CPU_PROF=1` has the server write a CPU profile to
// bench/results/tmp/ when it stops. Each run also prints a baseline of the machine in that run
// (rows/s of 100-row inserts on one connection) and the fan-out as a share of it.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { connect, type Database } from '../src/platform/db/database.js';
import { createLogger } from '../src/platform/logger.js';
import { adminQuery, withDatabase } from '../test/global-setup.js';
import { startServer } from '../test/process/run-process.js';
import { measureDatabaseBaselines } from './baselines.js';
import { seededProgram } from './seeded-program.js';

const participantCount = Number(process.argv[2] ?? 100_000);
const adminUrl = process.env.DATABASE_URL;
const fanOutOnly = process.env.FAN_OUT_ONLY === '1';
const serverArgs = process.env.CPU_PROF === '1' ? ['--cpu-prof', '--cpu-prof-dir=bench/results/tmp'] : [];

async function main(): Promise<void> {
  if (adminUrl === undefined)
    throw new Error('set DATABASE_URL: the benchmark makes a database of its own there');
  const name = `accrue_bench_${randomBytes(4).toString('hex')}`;
  await adminQuery(adminUrl, `create database ${name}`);
  const url = withDatabase(adminUrl, name);
  const env = { DATABASE_URL: url, LOG_LEVEL: 'info', ...(fanOutOnly ? { ACCRUE_WORKERS: '0' } : {}) };
  const handle = connect(url, { sizeMax: 2, waitMs: 10_000 }, createLogger('silent'), async () => {});
  const server = await startServer(env, 60_000, serverArgs);
  try {
    const { call, programId } = await seededProgram(
      handle.db,
      server,
      env,
      'Fan-out bench',
      participantCount,
    );
    // The machine's speed in this run (it varies up to 3x between runs): rows/s of 100-row inserts
    // on one connection to the same database, measured before the fan-out.
    const { multiRowInsertRowsPerSecond } = await measureDatabaseBaselines(url, 1, 2);
    const automation = await call('POST', `/v1/programs/${programId}/automations`, {
      name: 'Announcement',
      event_name: 'announcement',
      scope: 'participants',
      trigger: { type: 'immediate' },
      participant_filter: 'participant.status == "ACTIVE"',
      guard_condition: 'participant.counters.visits >= 0.0',
      payload: { headline: 'hello' },
    });
    const run = await waitFor(handle.db, automation.id);
    const fanOutSeconds = (run.completed.getTime() - run.started.getTime()) / 1000;
    if (fanOutOnly) {
      const figures = {
        participants: participantCount,
        fan_out_seconds: round(fanOutSeconds),
        fan_out_participants_per_second: Math.round(participantCount / fanOutSeconds),
        ...baseline(multiRowInsertRowsPerSecond, participantCount / fanOutSeconds),
      };
      process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
      return;
    }
    const events = await waitForCompleted(handle.db, programId, participantCount);
    const untilCompletedSeconds = (events.lastProcessed.getTime() - run.started.getTime()) / 1000;
    const processingSeconds = (events.lastProcessed.getTime() - events.firstProcessed.getTime()) / 1000;
    const figures = {
      participants: participantCount,
      events: events.count,
      fan_out_seconds: round(fanOutSeconds),
      fan_out_participants_per_second: Math.round(participantCount / fanOutSeconds),
      until_all_completed_seconds: round(untilCompletedSeconds),
      processing_events_per_second: Math.round(events.count / processingSeconds),
      ...baseline(multiRowInsertRowsPerSecond, participantCount / fanOutSeconds),
    };
    process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    await handle.close();
    await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
  }
}

async function waitFor(db: Database, automationId: string) {
  for (;;) {
    const result = await sql<{
      execution_status: string;
      execution_started_at: Date;
      execution_completed_at: Date;
    }>`
      select execution_status, execution_started_at, execution_completed_at from automations
      where id = ${automationId}`.execute(db);
    const row = result.rows[0];
    if (row?.execution_status === 'completed') {
      return { started: row.execution_started_at, completed: row.execution_completed_at };
    }
    if (row?.execution_status === 'failed') throw new Error('the fan-out failed');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function waitForCompleted(db: Database, programId: string, expected: number) {
  for (;;) {
    const result = await sql<{ completed: string; first: Date; last: Date }>`
      select count(*) as completed, min(processed_at) as first, max(processed_at) as last from events_with_status
      where program_id = ${programId} and event_type = 'SYSTEM' and status = 'COMPLETED'`.execute(db);
    const row = result.rows[0];
    if (row !== undefined && Number(row.completed) >= expected) {
      return { count: Number(row.completed), firstProcessed: row.first, lastProcessed: row.last };
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function baseline(insertRowsPerSecond: number, participantsPerSecond: number) {
  return {
    baseline_multi_row_insert_rows_per_second: Math.round(insertRowsPerSecond),
    fan_out_share_of_baseline: round(participantsPerSecond / insertRowsPerSecond),
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

await main();
