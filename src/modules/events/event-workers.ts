// Event workers: claim pending events in batches and apply them. Woken by LISTEN/NOTIFY on a
// dedicated connection (a trigger notifies on insert), with a polling fallback for lost
// notifications and delayed retries. Several workers per process and several processes may run:
// claims use SKIP LOCKED and need no coordinator.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { assert } from '../../platform/assert.js';
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { newId } from '../../platform/ids.js';
import {
  eventClaimBatchSizeMax,
  eventClaimConcurrency,
  eventClaimSlowMs,
  eventPollIntervalMs,
  eventQueueAnalyzeIntervalMs,
} from '../../platform/limits.js';
import type { Logger } from '../../platform/logger.js';
import { eventProcessingLag, eventsFinished } from '../../platform/metrics.js';
import type { EventStep } from './apply-event.js';
import { type FinishedEvent, processClaimedEvents } from './event-processor.js';
import { analyzeEventQueue, claimPendingEvents, releaseExpiredLeases } from './event-queue.store.js';
import type { ClaimedEvent } from './events.store.js';

export interface EventWorkerOptions {
  db: Database;
  /** For the LISTEN connection, which must not come from the pool. */
  connectionString: string;
  clock: Clock;
  logger: Logger;
  workerCount: number;
  /** Hooks run for every event after its parties are resolved (tests); production has none. */
  steps?: readonly EventStep[] | undefined;
  /** How long a claim holds an event before another worker may take it (the holder died). */
  leaseMs: number;
  pollIntervalMs?: number;
  claimBatchSize?: number;
  /** Transactions one worker runs at once, each applying a share of its claim. */
  concurrency?: number;
  /** A claim slower than this has the queue's statistics refreshed (see eventClaimSlowMs). */
  claimSlowMs?: number;
}

export interface EventWorkers {
  stop(): Promise<void>;
}

export function startEventWorkers(options: EventWorkerOptions): EventWorkers {
  const settings: Settings = {
    ...options,
    pollIntervalMs: options.pollIntervalMs ?? eventPollIntervalMs,
    claimBatchSize: options.claimBatchSize ?? eventClaimBatchSizeMax,
    concurrency: options.concurrency ?? eventClaimConcurrency,
    claimSlowMs: options.claimSlowMs ?? eventClaimSlowMs,
  };
  const wakeup = createWakeup();
  const state = { stopping: false, leasesCheckedAt: 0, queueAnalyzedAt: 0 };
  const listener = listenForEvents(options.connectionString, options.logger, wakeup.wake, state);
  const loops = Array.from({ length: options.workerCount }, () => runWorker(settings, wakeup, state));
  return {
    async stop() {
      state.stopping = true;
      wakeup.wakeAll();
      await Promise.all(loops);
      await listener.close();
    },
  };
}

type Settings = EventWorkerOptions &
  Required<Pick<EventWorkerOptions, 'pollIntervalMs' | 'claimBatchSize' | 'concurrency' | 'claimSlowMs'>>;

async function runWorker(settings: Settings, wakeup: Wakeup, state: WorkerState): Promise<void> {
  const { db, logger } = settings;
  while (!state.stopping) {
    wakeup.clear();
    let claimed: ClaimedEvent[] = [];
    let claimMs = 0;
    const claimToken = newId();
    try {
      await releaseLeasesNowAndThen(db, settings, state);
      const claimStarted = performance.now();
      claimed = await claimPendingEvents(db, claimToken, settings.claimBatchSize, settings.leaseMs);
      claimMs = performance.now() - claimStarted;
    } catch (error) {
      logger.warn({ err: error }, 'claiming events failed; trying again shortly');
      await wakeup.wait(settings.pollIntervalMs);
      continue;
    }
    if (claimed.length === 0) {
      await analyzeQueueAfterSlowClaim(settings, state, claimMs);
      await wakeup.wait(settings.pollIntervalMs);
      continue;
    }
    const chunks = splitByParticipant(claimed, settings.concurrency);
    const finished = await Promise.all(
      chunks.map((chunk) => processClaimedEvents(settings, chunk, claimToken)),
    );
    countFinishedEvents(finished.flat());
    // After the claim's events, so that their leases do not run while the statistics are sampled.
    await analyzeQueueAfterSlowClaim(settings, state, claimMs);
  }
}

/** Counts the claim's finished events (completed or failed) and their lag for the metrics. */
function countFinishedEvents(finished: FinishedEvent[]): void {
  for (const event of finished) {
    eventsFinished.inc({ outcome: event.status === 'FAILED' ? 'failed' : 'completed' });
    eventProcessingLag.observe(event.lagSeconds);
  }
}

/**
 * Splits a claim into up to `count` chunks applied in parallel transactions. All events of one
 * participant go to the same chunk, in ingestion order, so they are applied one after the other.
 */
function splitByParticipant(claimed: ClaimedEvent[], count: number): ClaimedEvent[][] {
  const chunks: ClaimedEvent[][] = Array.from({ length: count }, () => []);
  const chunkOfKey = new Map<string, ClaimedEvent[]>();
  for (const event of claimed) {
    const chunk = chunkOfKey.get(event.ordering_key) ?? chunks[chunkOfKey.size % count];
    assert(chunk !== undefined, 'every index below count has a chunk');
    chunkOfKey.set(event.ordering_key, chunk);
    chunk.push(event);
  }
  return chunks.filter((chunk) => chunk.length > 0);
}

interface WorkerState {
  stopping: boolean;
  leasesCheckedAt: number;
  queueAnalyzedAt: number;
}

/**
 * Expired leases are looked for among all unfinished events (a lease has no index of its own, so that
 * claiming stays a heap-only update): a quarter of the lease at most apart, not every poll.
 */
async function releaseLeasesNowAndThen(db: Database, settings: Settings, state: WorkerState) {
  const now = Date.now();
  if (now - state.leasesCheckedAt < Math.max(settings.pollIntervalMs, settings.leaseMs / 4)) return;
  state.leasesCheckedAt = now;
  const released = await releaseExpiredLeases(db);
  if (released > 0) settings.logger.info({ released }, 'released events held by a worker that stopped');
}

/**
 * A slow claim usually means the queue grew faster than autovacuum analyzes it (a fan-out, an ingest
 * spike), and the claim is planned for an empty queue: refresh the statistics, once per interval per
 * process. A failure (e.g. a role that does not own the table) costs only the better plan.
 */
async function analyzeQueueAfterSlowClaim(settings: Settings, state: WorkerState, claimMs: number) {
  const now = Date.now();
  if (claimMs < settings.claimSlowMs || now - state.queueAnalyzedAt < eventQueueAnalyzeIntervalMs) return;
  state.queueAnalyzedAt = now;
  try {
    await analyzeEventQueue(settings.db);
    settings.logger.info(
      { claim_ms: Math.round(claimMs) },
      'a slow claim refreshed the event queue statistics',
    );
  } catch (error) {
    settings.logger.warn({ err: error }, 'analyzing the event queue failed');
  }
}

interface Wakeup {
  wake(): void;
  wakeAll(): void;
  clear(): void;
  wait(timeoutMs: number): Promise<void>;
}

/** A wake-up that is not lost when it arrives while the workers are busy: it is remembered. */
function createWakeup(): Wakeup {
  let pending = false;
  let waiters: (() => void)[] = [];
  const wakeAll = () => {
    pending = true;
    const current = waiters;
    waiters = [];
    for (const resolve of current) resolve();
  };
  return {
    wake: wakeAll,
    wakeAll,
    clear: () => {
      pending = false;
    },
    wait: (timeoutMs) => {
      if (pending) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

/**
 * Keeps one LISTEN connection open, reconnecting after a loss; notifications only wake workers.
 * `close` may come while a connection is still being made: the loop sees `stopping` once it is made
 * and ends it, rather than waiting on a connection nobody will end.
 */
function listenForEvents(connectionString: string, logger: Logger, wake: () => void, state: WorkerState) {
  let client: pg.Client | undefined;
  const connectLoop = async () => {
    while (!state.stopping) {
      const current = new pg.Client({ connectionString });
      const lost = new Promise<void>((resolve) => {
        current.on('error', () => resolve());
        current.on('end', () => resolve());
      });
      try {
        await current.connect();
        current.on('notification', wake);
        await current.query('listen accrue_events');
        client = current;
        wake();
        if (!state.stopping) await lost;
        if (!state.stopping) logger.warn('event notification connection lost; reconnecting');
      } catch (error) {
        if (!state.stopping) logger.warn({ err: error }, 'event notification connection failed');
      }
      client = undefined;
      await current.end().catch(() => {});
      if (!state.stopping) await sleep(1_000);
    }
  };
  const running = connectLoop();
  return {
    async close() {
      await client?.end().catch(() => {});
      await running;
    },
  };
}
