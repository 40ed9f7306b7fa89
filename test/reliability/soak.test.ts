// A soak against a real server process: event batches crediting points through a rule, plus reads,
// at a steady rate (half the processing capacity measured at the start, or ACCRUE_SOAK_RATE) for
// ACCRUE_SOAK_SECONDS (20 by default; CI's embedded run takes 300). No request may fail, no error may
// be logged, every event must complete, every balance must be exact, the ledger must verify, and the
// server's memory must stay flat: the least-squares slope of its RSS over the second half of the run.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/modules/ledger/index.js';
import { createApiKey } from '../../src/modules/organizations/index.js';
import { systemClock } from '../../src/platform/clock.js';
import { createTestDatabase, type TestDatabase } from '../harness.js';
import { freePort, spawnServer } from '../process/run-process.js';

const soakSeconds = Number(process.env.ACCRUE_SOAK_SECONDS ?? 20);
const fixedRate =
  process.env.ACCRUE_SOAK_RATE === undefined ? undefined : Number(process.env.ACCRUE_SOAK_RATE);
const participantCount = 500;
const burstEvents = 1000;
/** Points per event: 1.00 at scale 2. */
const pointsPerEvent = 100;
/**
 * Memory growth that fails the run. Healthy 300 s runs measured slopes from -10.8 to +4.3 MB/min
 * (garbage-collector timing), so the bound sits above that noise; a leak of 1 KB per event at the
 * soak's 200-300 events/s grows 12-18 MB/min and still fails it.
 */
const slopeMaxMbPerMinute = 10;
/** A slope over a short run is mostly garbage-collector noise: it decides only from two minutes on. */
const slopeDecidesFromSeconds = 120;
const peakRssMaxMb = 500;

let database: TestDatabase;
let server: ChildProcess | undefined;
let port: number;
let apiKey: string;
const errorLines: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  apiKey = (await createApiKey(database.handle.db, 'soak-test')).secret;
  port = await freePort();
});

afterAll(async () => {
  if (
    server !== undefined &&
    server.exitCode === null &&
    server.signalCode === null &&
    server.pid !== undefined
  )
    process.kill(server.pid, 'SIGKILL');
  await database.handle.close();
});

function startServer(): Promise<ChildProcess> {
  return spawnServer(
    port,
    {
      DATABASE_URL: database.url,
      // Only warnings and errors reach stdout; any line there fails the soak.
      LOG_LEVEL: 'warn',
      ACCRUE_WORKERS: '2',
      ACCRUE_POOL_SIZE: '10',
    },
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      onSpawn: (child) => {
        for (const stream of [child.stdout, child.stderr])
          stream?.on('data', (chunk: Buffer) => {
            for (const line of chunk.toString().split('\n')) if (line.trim() !== '') errorLines.push(line);
          });
      },
    },
  );
}

const statuses = new Map<number, number>();

async function call<T>(method: string, url: string, body?: unknown): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${port}${url}`, {
    method,
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
  const text = await response.text();
  if (response.status < 200 || response.status > 299)
    throw new Error(`${method} ${url} answered ${response.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

/** The server's resident set in MB, from /proc. */
function readRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kilobytes = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kilobytes === undefined) throw new Error(`no VmRSS for ${pid}`);
  return Number(kilobytes) / 1024;
}

/** Least-squares slope of (seconds, MB) samples, in MB per minute. */
function slopeMbPerMinute(samples: { atSeconds: number; mb: number }[]): number {
  const n = samples.length;
  const meanX = samples.reduce((sum, s) => sum + s.atSeconds, 0) / n;
  const meanY = samples.reduce((sum, s) => sum + s.mb, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const s of samples) {
    covariance += (s.atSeconds - meanX) * (s.mb - meanY);
    variance += (s.atSeconds - meanX) ** 2;
  }
  return variance === 0 ? 0 : (covariance / variance) * 60;
}

async function unfinishedEvents(): Promise<number> {
  const { rows } = await sql<{ unfinished: string }>`
    select count(*)::text as unfinished from events_with_status where status <> 'COMPLETED'`.execute(
    database.handle.db,
  );
  return Number(rows[0]?.unfinished);
}

async function waitUntilProcessed(deadlineMs: number): Promise<void> {
  while ((await unfinishedEvents()) > 0) {
    if (Date.now() > deadlineMs) throw new Error(`events still unfinished: ${await unfinishedEvents()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Events of sequence numbers [from, to): event n credits participant n % participantCount. */
function eventsOf(programId: string, from: number, to: number) {
  return Array.from({ length: to - from }, (_, i) => {
    const n = from + i;
    return {
      program_id: programId,
      external_id: `soak-user-${n % participantCount}`,
      idempotency_key: `soak-${n}`,
      event_timestamp: new Date(Date.UTC(2024, 0, 1) + n * 1000).toISOString(),
      event_data: { n, amount: '10.00' },
    };
  });
}

async function sendBatch(programId: string, from: number, to: number): Promise<void> {
  const result = await call<{ error_count: number }>('POST', '/v1/events/batch', {
    events: eventsOf(programId, from, to),
  });
  if (result.error_count !== 0) throw new Error(`batch ${from}-${to}: ${result.error_count} errors`);
}

async function createProgram(): Promise<{ programId: string; assetId: string }> {
  const { id: programId } = await call<{ id: string }>('POST', '/v1/programs', { name: 'Soak' });
  const { id: assetId } = await call<{ id: string }>('POST', '/v1/assets', {
    program_id: programId,
    name: 'Points',
    symbol: 'PTS',
    inventory_mode: 'SIMPLE',
    issuance_policy: 'UNLIMITED',
    scale: 2,
  });
  await call('POST', '/v1/rules', {
    program_id: programId,
    name: 'Earn',
    condition: 'has(event.n)',
    actions: [{ type: 'CREDIT', asset_id: assetId, amount: (pointsPerEvent / 100).toFixed(2) }],
  });
  return { programId, assetId };
}

/** Sends events at `rate` per second for `seconds`, in batches of up to 100, with a few reads each second. */
async function runSteady(programId: string, firstEvent: number, rate: number, seconds: number) {
  const participantIds = (
    await call<{ data: { id: string }[] }>('GET', `/v1/participants?limit=100`)
  ).data.map((p) => p.id);
  const started = Date.now();
  const endAt = started + seconds * 1000;
  let sent = 0;
  let reads = 0;
  let nextReadAt = started;
  while (Date.now() < endAt) {
    const due = Math.floor(((Date.now() - started) / 1000) * rate) - sent;
    if (due > 0) {
      const size = Math.min(100, due);
      await sendBatch(programId, firstEvent + sent, firstEvent + sent + size);
      sent += size;
    }
    if (Date.now() >= nextReadAt) {
      const id = participantIds[reads % participantIds.length];
      await Promise.all([
        call('GET', `/v1/participants/${id}/balances`),
        call('GET', '/v1/events?limit=20'),
        call('GET', '/v1/participants?limit=20'),
      ]);
      reads += 3;
      nextReadAt += 1000;
    }
    if (due <= 0) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { sent, reads };
}

describe('a soak at half capacity', () => {
  it(
    'answers every request, completes every event, keeps balances exact and memory flat',
    async () => {
      server = await startServer();
      const pid = server.pid ?? 0;
      const { programId, assetId } = await createProgram();

      // Capacity: a burst of batches as fast as they are accepted, timed until every event completed.
      const burstStarted = Date.now();
      for (let from = 0; from < burstEvents; from += 100) await sendBatch(programId, from, from + 100);
      await waitUntilProcessed(Date.now() + 120_000);
      const capacity = burstEvents / ((Date.now() - burstStarted) / 1000);
      const rate = fixedRate ?? Math.max(1, Math.floor(capacity / 2));
      const rateSource =
        fixedRate === undefined
          ? `half of the measured capacity of ${capacity.toFixed(0)} events/s`
          : 'ACCRUE_SOAK_RATE';

      const samples: { atSeconds: number; mb: number }[] = [];
      const soakStarted = Date.now();
      const sample = () => samples.push({ atSeconds: (Date.now() - soakStarted) / 1000, mb: readRssMb(pid) });
      sample();
      const sampler = setInterval(sample, 1000);
      let steady: { sent: number; reads: number };
      try {
        steady = await runSteady(programId, burstEvents, rate, soakSeconds);
      } finally {
        clearInterval(sampler);
      }
      sample();
      const events = burstEvents + steady.sent;
      await waitUntilProcessed(Date.now() + 120_000);

      const secondHalf = samples.filter((s) => s.atSeconds >= soakSeconds / 2);
      const slope = slopeMbPerMinute(secondHalf);
      const peak = Math.max(...samples.map((s) => s.mb));
      const first = samples[0]?.mb ?? 0;
      const last = samples[samples.length - 1]?.mb ?? 0;
      const errors = [...statuses].filter(([status]) => status < 200 || status > 299).length;
      process.stdout.write(
        `soak: ${soakSeconds} s at ${rate} events/s (${rateSource}), ${events} events, ${steady.reads} reads, ` +
          `errors ${errors}, RSS start/end/peak ${first.toFixed(0)}/${last.toFixed(0)}/${peak.toFixed(0)} MB, ` +
          `slope ${slope.toFixed(2)} MB/min over the second half` +
          `${soakSeconds >= slopeDecidesFromSeconds ? '' : ` (informative: the bound applies from ${slopeDecidesFromSeconds} s)`}\n`,
      );

      expect([...statuses.keys()].every((status) => status >= 200 && status <= 299)).toBe(true);
      expect(errorLines).toEqual([]);
      const db = database.handle.db;
      const { rows: totals } = await sql<{ events: string; completed: string }>`
        select count(*)::text as events, count(*) filter (where status = 'COMPLETED')::text as completed
        from events_with_status`.execute(db);
      expect(totals[0]).toEqual({ events: String(events), completed: String(events) });
      const { rows: balances } = await sql<{ external_id: string; balance: string }>`
        select p.external_id, a.balance::text as balance
        from ledger_accounts a join participants p on p.organization_id = a.organization_id and p.id = a.owner_id
        where a.owner_type = 'PARTICIPANT' and a.bucket = 'AVAILABLE' and a.asset_id = ${assetId}`.execute(
        db,
      );
      const expected = new Map<string, number>();
      for (let n = 0; n < events; n += 1) {
        const key = `soak-user-${n % participantCount}`;
        expected.set(key, (expected.get(key) ?? 0) + pointsPerEvent);
      }
      expect(new Map(balances.map((row) => [row.external_id, Number(row.balance)]))).toEqual(expected);
      expect((await verifyLedger(db, systemClock)).reports.filter((report) => !report.all_passed)).toEqual(
        [],
      );
      expect(peak).toBeLessThan(peakRssMaxMb);
      if (soakSeconds >= slopeDecidesFromSeconds) expect(slope).toBeLessThan(slopeMaxMbPerMinute);

      const stopping = server;
      const exited = new Promise((resolve) => stopping.once('exit', resolve));
      if (stopping.pid !== undefined) process.kill(stopping.pid, 'SIGTERM');
      expect(await exited).toBe(0);
    },
    soakSeconds * 1000 + 300_000,
  );
});
