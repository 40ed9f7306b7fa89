// Processing by `accrue worker` processes beside an API-only server: a backlog is accepted while no
// worker runs, then 1 (or 2) worker processes drain it. Each phase has participants of its own, so
// exactly-once is checked against the generator: every balance as predicted, every event completed
// once, no rule applied twice to an event.
import pg from 'pg';
import { type ServerProcess, startWorkerCommand } from '../test/process/run-process.js';
import { ingest } from './drive.js';
import { untilProcessed } from './queue-wait.js';
import { verifyBalances } from './setup.js';
import { generateEvents, type WorkloadIds } from './workload.js';

export interface WorkerPhase {
  processes: number;
  events: number;
  eventsPerSecond: number;
  failed: number;
  balancesMatched: number;
  balancesChecked: number;
  /** Events with more than one evaluation, or a rule that wrote two entries for one event. */
  eventsTwice: number;
}

interface PhaseInput {
  /** The running server, started with ACCRUE_WORKERS=0. */
  server: ServerProcess;
  /** The environment of that server; the worker processes get it without ACCRUE_WORKERS=0. */
  env: Record<string, string>;
  key: string;
  ids: WorkloadIds;
  databaseUrl: string;
  events: number;
  participants: number;
}

export async function measureWorkerProcesses(input: PhaseInput, counts: number[]): Promise<WorkerPhase[]> {
  const phases: WorkerPhase[] = [];
  for (const processes of counts) phases.push(await runPhase(input, processes));
  return phases;
}

async function runPhase(input: PhaseInput, processes: number): Promise<WorkerPhase> {
  const { events, expected } = generateEvents(
    input.ids.programId,
    input.events,
    input.participants,
    100 + processes,
    `proc${processes}`,
  );
  await ingest(input.server.port, input.key, events, 8);
  const db = new pg.Pool({ connectionString: input.databaseUrl, max: 1 });
  // A connection still closing when the server stops its embedded database must not end the run.
  db.on('error', (error) => process.stderr.write(`bench: phase connection closed: ${error.message}\n`));
  const { ACCRUE_WORKERS: _off, ...workerEnv } = input.env;
  const workers = await Promise.all(Array.from({ length: processes }, () => startWorkerCommand(workerEnv)));
  try {
    const keys = events.map((event) => event.idempotency_key);
    const timing = await waitForPhase(db, keys);
    for (const worker of workers) worker.child.kill('SIGTERM');
    await Promise.all(workers.map((worker) => worker.exited));
    const balances = await verifyBalances(input.server.port, input.key, input.ids, expected);
    return {
      processes,
      events: keys.length,
      eventsPerSecond: keys.length / timing.seconds,
      failed: timing.failed,
      balancesMatched: balances.matched,
      balancesChecked: balances.checked,
      eventsTwice: await countEventsTwice(db, keys),
    };
  } finally {
    for (const worker of workers) worker.child.kill('SIGTERM');
    await db.end();
  }
}

/** Waits for the phase's events; its rate runs from the first to the last completion, the backlog being there before both. */
async function waitForPhase(db: pg.Pool, keys: string[]) {
  return untilProcessed(db, async () => {
    const { rows } = await db.query(
      `select count(*) filter (where status in ('COMPLETED', 'FAILED')) as done,
              count(*) filter (where status = 'FAILED') as failed,
              extract(epoch from max(processed_at) - min(processed_at)) as seconds
       from events_with_status where idempotency_key = any($1)`,
      [keys],
    );
    const row = rows[0];
    if (Number(row.done) < keys.length) return undefined;
    return { seconds: Number(row.seconds), failed: Number(row.failed) };
  });
}

async function countEventsTwice(db: pg.Pool, keys: string[]): Promise<number> {
  // An event applied twice writes a rule's journal entry twice: its outcome row, and the
  // evaluations in it, cannot be written twice (one per event by its primary key).
  const { rows } = await db.query(
    `with phase as (select organization_id, id from events where idempotency_key = any($1))
     select count(distinct j.event_id) as twice from (
       select j.event_id from journal_entries j join phase p on (p.organization_id, p.id) = (j.organization_id, j.event_id)
       group by j.event_id, j.rule_id having count(*) > 1) j`,
    [keys],
  );
  return Number(rows[0].twice);
}
