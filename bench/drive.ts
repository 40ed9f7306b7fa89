// Drives events into a running Accrue and measures ingest, processing and end-to-end latency.
import type pg from 'pg';
import { createProgress } from '../src/platform/progress.js';
import { createAgent, percentile, runLoad, send } from './http-load.js';
import { untilProcessed } from './queue-wait.js';
import { generateEvents, type PurchaseEvent } from './workload.js';

const batchSize = 100;

export async function ingest(port: number, key: string, events: PurchaseEvent[], connections: number) {
  let offset = 0;
  let rejected = 0;
  const result = await runLoad(
    port,
    connections,
    () => {
      if (offset >= events.length) return undefined;
      const batch = events.slice(offset, offset + batchSize);
      offset += batchSize;
      return {
        method: 'POST',
        path: '/v1/events/batch',
        body: JSON.stringify({ events: batch }),
        headers: { 'x-api-key': key },
      };
    },
    (status, body) => {
      if (status !== 202) rejected += batchSize;
      else rejected += (JSON.parse(body) as { error_count: number }).error_count;
    },
  );
  return {
    eventsPerSecond: events.length / result.seconds,
    requestsPerSecond: result.requests / result.seconds,
    p50Ms: percentile(result.latenciesMs, 50),
    p99Ms: percentile(result.latenciesMs, 99),
    rejected,
    seconds: result.seconds,
  };
}

/** Waits until `count` events have left PENDING/PROCESSING; the rate runs from first accept to last completion. */
export async function waitForProcessing(db: pg.Pool, count: number) {
  const progress = createProgress('bench: events processed');
  const processed = await untilProcessed(
    db,
    async () => {
      const { rows } = await db.query(
        `select count(*) filter (where status in ('COMPLETED', 'FAILED')) as done,
                count(*) filter (where status = 'FAILED') as failed,
                extract(epoch from max(processed_at) - min(created_at)) as seconds
         from events_with_status`,
      );
      const row = rows[0];
      if (Number(row.done) < count) return undefined;
      return {
        eventsPerSecond: Number(row.done) / Number(row.seconds),
        failed: Number(row.failed),
        seconds: Number(row.seconds),
      };
    },
    (queued) => progress.update(Math.max(0, count - queued), count),
  );
  progress.finish();
  return processed;
}

/** Sends events at a steady rate and reads accept-to-processed latency from the events themselves. */
export async function measureSteadyLatency(
  port: number,
  key: string,
  programId: string,
  db: pg.Pool,
  count: number,
  perSecond: number,
) {
  // Participants of their own, so the main workload's predicted balances stay exact.
  const { events } = generateEvents(programId, count, 1_000, 7, 'steady');
  const agent = createAgent(4);
  const intervalMs = (batchSize / perSecond) * 1000;
  const started = performance.now();
  const sends: Promise<unknown>[] = [];
  for (let offset = 0; offset < events.length; offset += batchSize) {
    const due = started + (offset / batchSize) * intervalMs;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    const body = JSON.stringify({ events: events.slice(offset, offset + batchSize) });
    sends.push(
      send(agent, port, { method: 'POST', path: '/v1/events/batch', body, headers: { 'x-api-key': key } }),
    );
  }
  await Promise.all(sends);
  agent.destroy();
  const keys = events.map((event) => event.idempotency_key);
  return untilProcessed(db, async () => {
    const { rows } = await db.query(
      `select extract(epoch from processed_at - created_at) * 1000 as ms,
         extract(epoch from created_at) as created from events_with_status
       where idempotency_key = any($1) and processed_at is not null`,
      [keys],
    );
    if (rows.length < count) return undefined;
    const latencies = rows.map((row) => Number(row.ms));
    // The slowest event of each second of sending: tells a tail spread evenly from one stall.
    const first = Math.min(...rows.map((row) => Number(row.created)));
    const maxBySecondMs: number[] = [];
    for (const row of rows) {
      const second = Math.floor(Number(row.created) - first);
      maxBySecondMs[second] = Math.max(maxBySecondMs[second] ?? 0, Math.round(Number(row.ms)));
    }
    return {
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxBySecondMs: Array.from(maxBySecondMs, (ms) => ms ?? 0),
      events: count,
      perSecond,
    };
  });
}
