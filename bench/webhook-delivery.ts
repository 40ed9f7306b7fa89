// Webhook delivery throughput and latency against a real server process.
// usage: DATABASE_URL=postgres://.../empty_db npx tsx bench/webhook-delivery.ts [events]
// The database must be migrated (accrue migrate). Phase 1: one endpoint subscribed to
// event.completed with a fast local receiver; prints the event processing rate, deliveries/s and
// the p50/p99 from the event's commit (processed_at) to receipt. Phase 2: the same again with a
// second endpoint whose receiver takes 2 s per request; prints the fast endpoint's rate beside
// phase 1's (the slow one must lower it by less than 10%). A warm-up phase comes first.
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { sql } from 'kysely';
import { createApiKey } from '../src/modules/organizations/index.js';
import { connect } from '../src/platform/db/database.js';
import { createLogger } from '../src/platform/logger.js';

const [eventCount = 10_000] = process.argv.slice(2).map(Number);
const databaseUrl = process.env.DATABASE_URL ?? '';
if (databaseUrl === '') throw new Error('set DATABASE_URL to a migrated database');
const handle = connect(databaseUrl, { sizeMax: 4, waitMs: 10_000 }, createLogger('silent'), async () => {});
const apiKey = (await createApiKey(handle.db, `bench-${Date.now()}`)).secret;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

interface Receipt {
  processedAtMs: number;
  receivedAtMs: number;
}

/** A receiver that answers after `delayMs` and records when each event arrived. */
async function startReceiver(delayMs: number): Promise<{ url: string; receipts: Receipt[] }> {
  const receipts: Receipt[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const envelope = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      receipts.push({ processedAtMs: Date.parse(envelope.data.processed_at), receivedAtMs: Date.now() });
      setTimeout(() => response.end('ok'), delayMs);
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}/hooks`, receipts };
}

const port = await freePort();
const server = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
  env: {
    ...process.env,
    PORT: String(port),
    LOG_LEVEL: 'error',
    ACCRUE_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
    ACCRUE_SECRET_KEY: process.env.ACCRUE_SECRET_KEY ?? 'bench-secret-key-0123456789abcdefghij',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
while (
  !(await fetch(`http://127.0.0.1:${port}/readyz`).then(
    (r) => r.ok,
    () => false,
  ))
) {
  await new Promise((resolve) => setTimeout(resolve, 100));
}

const post = async (url: string, body: unknown) => {
  const response = await fetch(`http://127.0.0.1:${port}${url}`, {
    method: 'POST',
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status >= 300) throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  return response.json() as Promise<{ id: string }>;
};

const programId = (await post('/v1/programs', { name: 'bench' })).id;
const fast = await startReceiver(0);
await post('/v1/webhook-endpoints', { url: fast.url, enabled_events: ['event.completed'] });

async function runPhase(name: string, offset: number): Promise<number> {
  const before = fast.receipts.length;
  const start = performance.now();
  for (let batch = 0; batch < eventCount / 100; batch += 1) {
    const events = Array.from({ length: 100 }, (_, index) => ({
      program_id: programId,
      external_id: `bench-${(batch * 100 + index) % Math.min(1000, eventCount)}`,
      idempotency_key: `bench-${offset + batch * 100 + index}`,
      event_timestamp: '2026-01-15T10:30:00Z',
      event_data: { amount: 10 },
    }));
    await post('/v1/events/batch', { events });
  }
  let processedSeconds = 0;
  while (fast.receipts.length - before < eventCount) {
    if (processedSeconds === 0) {
      const { rows } = await sql<{
        n: string;
      }>`select count(*)::text as n from events_with_status where status <> 'COMPLETED'`.execute(handle.db);
      if (Number(rows[0]?.n) === 0) processedSeconds = (performance.now() - start) / 1000;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const deliveredSeconds = (performance.now() - start) / 1000;
  const latencies = fast.receipts
    .slice(before)
    .map((receipt) => receipt.receivedAtMs - receipt.processedAtMs)
    .sort((a, b) => a - b);
  const at = (share: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * share))];
  const rate = eventCount / deliveredSeconds;
  console.log(
    `${name}: ${eventCount} events processed in ${processedSeconds.toFixed(1)} s (${Math.round(eventCount / (processedSeconds || deliveredSeconds))} events/s); ` +
      `delivered in ${deliveredSeconds.toFixed(1)} s (${Math.round(rate)} deliveries/s); commit to receipt p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`,
  );
  return rate;
}

// A first, uncounted phase creates the participants, so both measured phases process alike.
await runPhase('warm-up', 0);
const alone = await runPhase('fast endpoint alone', eventCount);
const slow = await startReceiver(2000);
await post('/v1/webhook-endpoints', { url: slow.url, enabled_events: ['event.completed'] });
const beside = await runPhase('beside a 2 s receiver', 2 * eventCount);
console.log(
  `the slow receiver changed the fast endpoint's delivery rate by ${(((beside - alone) / alone) * 100).toFixed(1)}%`,
);
server.kill('SIGKILL');
await handle.close();
process.exit(0);
