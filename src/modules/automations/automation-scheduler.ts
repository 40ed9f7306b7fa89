// The one scheduler of automations (API-made and rule_action ones, participant_state subscriptions)
// and of rule budget resets, in the server and in `accrue worker`. Each pass starts the runs that
// are due, does the subscriptions and budget resets, and then advances fan-outs chunk by chunk.
// Safe with several processes: a due automation and a running fan-out are claimed FOR UPDATE SKIP
// LOCKED, and a chunk's events commit with the fan-out's cursor, so no participant is sent twice and
// a crash resumes at the next one. The events' idempotency keys (automation, run, participant) make
// a repeated insert a replay even so.
// Catch-up policy: a cron automation that missed ticks while nothing ran fires once for the missed
// window, when the scheduler comes back, and its next run is the first tick after that.
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction } from '../../platform/db/transaction.js';
import { DomainError } from '../../platform/errors.js';
import {
  automationFanOutChunkMax,
  automationSchedulerIntervalMs,
  automationStartsPerPassMax,
  subscriptionBatchMax,
} from '../../platform/limits.js';
import { resetDueBudgets } from '../rules/index.js';
import { compileAudience, selectRecipients } from './audience.js';
import { nextRunAfter } from './automation-rules.js';
import type { AutomationChanges, AutomationRow } from './automations.store.js';
import * as store from './automations.store.js';
import {
  eventDataOf,
  type FiredEvent,
  type FireEvents,
  type StoreFiredEvents,
  withSavepoint,
} from './fired-events.js';
import { runSubscriptionPass } from './subscriptions.js';

export interface SchedulerLogger {
  error(object: object, message: string): void;
}

export interface SchedulerDeps {
  db: Database;
  clock: Clock;
  fireEvents: FireEvents;
  /** Participants per fan-out transaction. */
  chunkSize?: number;
}

/**
 * One pass: start every due run, fire and re-evaluate participant_state subscriptions
 * (subscriptions.ts), reset due rule budgets, then advance fan-outs until none is left or `budgetMs`
 * is spent (so that a long fan-out does not hold back the next due start). Answers the events sent.
 */
export async function runAutomationPass(
  deps: SchedulerDeps,
  budgetMs = Number.POSITIVE_INFINITY,
): Promise<number> {
  return (await runPass(deps, budgetMs)).sent;
}

/** A pass; `more` when it stopped at its budget with a fan-out still running. */
async function runPass(deps: SchedulerDeps, budgetMs: number): Promise<{ sent: number; more: boolean }> {
  const startedAt = Date.now();
  let sent = 0;
  for (;;) {
    const started = await startDueRuns(deps);
    for (const run of started) sent += run;
    if (started.length < automationStartsPerPassMax) break;
  }
  sent += await runSubscriptionPass(deps, startedAt + budgetMs);
  await resetDueBudgets(deps.db, deps.clock(), subscriptionBatchMax);
  const fanOut: FanOutPipeline = { ahead: undefined };
  try {
    while (Date.now() - startedAt < budgetMs) {
      const chunk = await advanceFanOut(deps, fanOut);
      if (chunk === undefined) return { sent, more: false };
      sent += chunk;
    }
    return { sent, more: true };
  } finally {
    // A chunk read ahead and not used is dropped; the pass ends once its read has.
    await fanOut.ahead?.chunk;
  }
}

/** Claims due automations and starts their runs; program scope fires at once. */
async function startDueRuns(deps: SchedulerDeps): Promise<number[]> {
  const failures: { row: AutomationRow; error: DomainError }[] = [];
  const started = await withTransaction(deps.db, async (trx) => {
    const now = deps.clock();
    const due = await store.claimDueAutomations(trx, now, automationStartsPerPassMax);
    const counts: number[] = [];
    for (const row of due) {
      const run = startRun(row, now);
      if (row.scope === 'program') {
        const error = await fireProgramEvent(deps, trx, { ...row, ...run });
        if (error !== undefined) failures.push({ row: { ...row, ...run }, error });
        counts.push(error === undefined ? 1 : 0);
        Object.assign(run, { execution_status: 'completed', execution_completed_at: now });
      } else {
        run.participants_total = await store.countFanOutParticipants(
          trx,
          row.organization_id,
          row.program_id,
        );
        counts.push(0);
      }
      await store.updateAutomation(trx, row, run);
    }
    return counts;
  });
  for (const { row, error } of failures) await recordFailure(deps, row, error);
  return started;
}

function startRun(
  row: AutomationRow,
  now: Date,
): AutomationChanges & { run_seq: number; run_fired_at: Date } {
  const once = row.trigger_type !== 'cron';
  return {
    run_seq: row.run_seq + 1,
    // The event time of the run: when it was due (a late run still says which one it is).
    run_fired_at: row.next_run_at ?? now,
    last_run_at: now,
    next_run_at: nextRunAfter(row, now),
    processed_at: once ? now : row.processed_at,
    execution_status: 'pending',
    execution_started_at: now,
    execution_completed_at: null,
    execution_error: null,
    fan_out_after: null,
    participants_total: null,
    participants_processed: 0,
    updated_at: now,
  };
}

/** The program-scope event, inside a savepoint so that a refusal leaves the claim's transaction usable. */
async function fireProgramEvent(
  deps: SchedulerDeps,
  trx: Database,
  row: AutomationRow & { run_fired_at: Date },
): Promise<DomainError | undefined> {
  const event = toFiredEvent(row, row.participant_id, eventDataOf(row), row.run_fired_at);
  try {
    await withSavepoint(trx, () => deps.fireEvents([event], deps.clock())(trx));
    return undefined;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
}

/** The participants of one fan-out chunk, chosen and their events built, ready to store. */
interface FanOutChunk {
  /** Participants listed (the cursor advances past all of them), and the last one's id. */
  listed: number;
  lastId: string | undefined;
  /** Events to send: the listed participants the filter and guard let through. */
  sent: number;
  store: StoreFiredEvents;
}

/**
 * The next chunk of a fan-out, read and built while the current one is written (on another
 * connection, so the database writes one chunk while this process builds the next). It is used
 * only by the run and at the cursor it was read for, and only while the automation's event and
 * conditions are still those it was read with (a PATCH applies from the next chunk); a failed read
 * is dropped and redone in the
 * chunk's own transaction, which then meets the error itself. A pass keeps advancing the fan-out it
 * has read ahead for; the next pass starts with the one advanced longest ago, so fan-outs running
 * at once take turns pass by pass.
 */
interface FanOutPipeline {
  ahead: { row: AutomationRow; after: string; chunk: Promise<FanOutChunk | undefined> } | undefined;
}

/** One chunk of one running fan-out; undefined when no fan-out is left to advance. */
async function advanceFanOut(deps: SchedulerDeps, pipeline: FanOutPipeline): Promise<number | undefined> {
  const chunkSize = deps.chunkSize ?? automationFanOutChunkMax;
  let refused: { row: AutomationRow; error: DomainError } | undefined;
  const sent = await withTransaction(deps.db, async (trx) => {
    const row = await store.claimRunningAutomation(trx, pipeline.ahead?.row.id);
    if (row === undefined) return undefined;
    const now = deps.clock();
    let chunk: FanOutChunk;
    try {
      chunk = (await takeChunkAhead(pipeline, row)) ?? (await readChunk(deps, trx, row, row.fan_out_after));
      if (chunk.listed === chunkSize && chunk.lastId !== undefined)
        readAhead(deps, pipeline, row, chunk.lastId);
      await withSavepoint(trx, () => chunk.store(trx));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      refused = { row, error };
      return 0;
    }
    const done = chunk.listed < chunkSize;
    await store.updateAutomation(trx, row, {
      execution_status: done ? 'completed' : 'executing',
      execution_completed_at: done ? now : null,
      fan_out_after: chunk.lastId ?? row.fan_out_after,
      participants_processed: row.participants_processed + chunk.listed,
      updated_at: now,
    });
    return chunk.sent;
  });
  if (refused !== undefined) await recordFailure(deps, refused.row, refused.error);
  return sent;
}

/** The chunk read ahead, when it is the one `row` is at, read with what `row` sends and to whom. */
async function takeChunkAhead(
  pipeline: FanOutPipeline,
  row: AutomationRow,
): Promise<FanOutChunk | undefined> {
  const ahead = pipeline.ahead;
  pipeline.ahead = undefined;
  if (ahead === undefined) return undefined;
  const chunk = await ahead.chunk;
  const read = ahead.row;
  const current =
    read.id === row.id &&
    read.run_seq === row.run_seq &&
    ahead.after === row.fan_out_after &&
    read.event_name === row.event_name &&
    read.participant_filter === row.participant_filter &&
    read.guard_condition === row.guard_condition &&
    JSON.stringify(read.payload) === JSON.stringify(row.payload);
  return current ? chunk : undefined;
}

function readAhead(deps: SchedulerDeps, pipeline: FanOutPipeline, row: AutomationRow, after: string): void {
  const chunk = readChunk(deps, deps.db, row, after).catch(() => undefined);
  pipeline.ahead = { row, after, chunk };
}

/** The participants after `after` the run sends to, read in `db`, and their events built. */
async function readChunk(
  deps: SchedulerDeps,
  db: Database,
  row: AutomationRow,
  after: string | null,
): Promise<FanOutChunk> {
  const chunkSize = deps.chunkSize ?? automationFanOutChunkMax;
  const firedAt = row.run_fired_at ?? deps.clock();
  const audience = compileAudience(row.participant_filter, row.guard_condition);
  const participants = await store.listFanOutParticipants(
    db,
    { organizationId: row.organization_id, programId: row.program_id, after, limit: chunkSize, now: firedAt },
    audience.reads,
  );
  const eventData = eventDataOf(row);
  const recipients = selectRecipients(audience, participants, eventData, firedAt);
  const events = recipients.map((p) => toFiredEvent(row, p.id, eventData, firedAt));
  return {
    listed: participants.length,
    lastId: participants.at(-1)?.id,
    sent: recipients.length,
    store: deps.fireEvents(events, deps.clock()),
  };
}

/** A run whose events were refused: failed, with the reason where the spec shows it. */
async function recordFailure(deps: SchedulerDeps, row: AutomationRow, error: DomainError): Promise<void> {
  const now = deps.clock();
  const message = `${error.code}: ${error.message}`;
  await store.updateAutomation(deps.db, row, {
    execution_status: 'failed',
    execution_error: message,
    execution_completed_at: now,
    ...(row.trigger_type === 'cron' ? { last_error: message } : { error_message: message }),
    updated_at: now,
  });
}

function toFiredEvent(
  row: AutomationRow,
  participantId: string | null,
  eventData: Record<string, unknown>,
  eventTimestamp: Date,
): FiredEvent {
  return {
    organizationId: row.organization_id,
    programId: row.program_id,
    participantId,
    idempotencyKey: `automation:${row.id}:${row.run_seq}:${participantId ?? 'program'}`,
    eventData,
    eventTimestamp,
  };
}

export interface AutomationScheduler {
  stop(): Promise<void>;
}

/**
 * Runs passes every `intervalMs` until stopped; a failed pass is logged and retried on the next tick.
 * A pass that ends at its budget with a fan-out left is followed by the next one at once, so a
 * fan-out never waits for a tick between passes.
 */
export function startAutomationScheduler(
  deps: SchedulerDeps & { log: SchedulerLogger; intervalMs?: number },
): AutomationScheduler {
  const intervalMs = deps.intervalMs ?? automationSchedulerIntervalMs;
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  let stopped = false;
  const tick = () => {
    if (busy) return;
    busy = true;
    running = runPass(deps, intervalMs)
      .then(({ more }) => more)
      .catch((error: unknown) => {
        deps.log.error({ err: error }, 'automation scheduler failed; retrying on the next tick');
        return false;
      })
      .then((more) => {
        busy = false;
        if (more && !stopped) tick();
      });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
