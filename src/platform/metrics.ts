// The process's Prometheus metrics, in one registry. Modules count through small hooks where work
// finishes; what the database already knows (queue depth, ledger size) is read when scraped.
// Labels never carry an organization id, a key or any other tenant value: only route templates,
// status codes, outcomes and job names, so a scrape is safe to keep and cheap to store.
import type pg from 'pg';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'accrue_' });

const registers = [registry];

/** Seconds, from a fast API read to a slow report or a claim of many events. */
const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const httpRequestDuration = new Histogram({
  name: 'accrue_http_request_duration_seconds',
  help: 'HTTP requests by method, route template and status code',
  labelNames: ['method', 'route', 'status_code'] as const,
  buckets: latencyBuckets,
  registers,
});

export const eventsIngested = new Counter({
  name: 'accrue_events_ingested_total',
  help: 'Events stored by the API (replays of a stored idempotency key are not counted)',
  registers,
});

export const eventsFinished = new Counter({
  name: 'accrue_events_finished_total',
  help: 'Events applied by this process, by outcome (completed or failed)',
  labelNames: ['outcome'] as const,
  registers,
});

export const eventProcessingLag = new Histogram({
  name: 'accrue_event_processing_lag_seconds',
  help: 'From an event being received to its being applied',
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
  registers,
});

export const eventQueueDepth = new Gauge({
  name: 'accrue_event_queue_depth',
  help: 'Events waiting to be applied (PENDING), read when scraped',
  registers,
});

export const eventQueueOldestAge = new Gauge({
  name: 'accrue_event_queue_oldest_age_seconds',
  help: 'Age of the oldest PENDING event, 0 when none waits; read when scraped',
  registers,
});

export const ruleEvaluationProblems = new Counter({
  name: 'accrue_rule_evaluation_problems_total',
  help: 'Rule evaluations skipped for an evaluation error or a timeout (cost or time limit)',
  labelNames: ['kind'] as const,
  registers,
});

export const ledgerEntries = new Gauge({
  name: 'accrue_ledger_entries',
  help: 'Journal entries in the ledger (sealed and awaiting the sealer), read when scraped',
  registers,
});

export const jobRunDuration = new Histogram({
  name: 'accrue_job_run_duration_seconds',
  help: 'Background job runs by job and outcome (ok or failed); the count is the number of runs',
  labelNames: ['job', 'outcome'] as const,
  buckets: latencyBuckets,
  registers,
});

export const webhookDeliveryAttempts = new Counter({
  name: 'accrue_webhook_delivery_attempts_total',
  help: 'Webhook delivery attempts by outcome: delivered, retrying (will be tried again) or failed (gave up)',
  labelNames: ['outcome'] as const,
  registers,
});

const pools = new Set<pg.Pool>();

// Registered by its construction; read through the registry only.
new Gauge({
  name: 'accrue_db_pool_connections',
  help: 'Database pool connections of this process: total, idle, and requests waiting for one',
  labelNames: ['state'] as const,
  registers,
  collect() {
    const sum = (read: (pool: pg.Pool) => number) =>
      [...pools].reduce((total, pool) => total + read(pool), 0);
    this.set(
      { state: 'total' },
      sum((pool) => pool.totalCount),
    );
    this.set(
      { state: 'idle' },
      sum((pool) => pool.idleCount),
    );
    this.set(
      { state: 'waiting' },
      sum((pool) => pool.waitingCount),
    );
  },
});

/** Counts the pool's connections in accrue_db_pool_connections until `untrack` is called. */
export function trackPool(pool: pg.Pool): { untrack(): void } {
  pools.add(pool);
  return { untrack: () => pools.delete(pool) };
}

/** Times one run of a background job; the run's error is rethrown after it is counted. */
export async function timeJobRun<T>(job: string, run: () => Promise<T>): Promise<T> {
  const end = jobRunDuration.startTimer({ job });
  try {
    const result = await run();
    end({ outcome: 'ok' });
    return result;
  } catch (error) {
    end({ outcome: 'failed' });
    throw error;
  }
}

export interface MetricsText {
  contentType: string;
  body: string;
}

/** The registry in Prometheus text format, after `refresh` has set the gauges read when scraped. */
export async function renderMetrics(refresh: () => Promise<void>): Promise<MetricsText> {
  await refresh();
  return { contentType: registry.contentType, body: await registry.metrics() };
}
