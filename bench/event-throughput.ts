// Event ingest and processing throughput against a real server process.
// usage: DATABASE_URL=postgres://.../empty_db npx tsx bench/event-throughput.ts [events] [participants] [clients]
// The database must be migrated (accrue migrate). The server runs with the environment's settings
// (ACCRUE_WORKERS, ACCRUE_POOL_SIZE); ingest is measured first with workers off, then processing.
// BENCH_CPU_PROF_DIR=dir writes CPU profiles of the server.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { sql } from 'kysely';
import { createApiKey } from '../src/modules/organizations/index.js';
import { connect } from '../src/platform/db/database.js';
import { createLogger } from '../src/platform/logger.js';

const [eventCount = 20_000, participantCount = 2_000, clients = 8] = process.argv.slice(2).map(Number);
const databaseUrl = process.env.DATABASE_URL ?? '';
if (databaseUrl === '') throw new Error('set DATABASE_URL to a migrated database');
const handle = connect(databaseUrl, { sizeMax: 4, waitMs: 10_000 }, createLogger('silent'), async () => {});
const apiKey = (await createApiKey(handle.db, `bench-${Date.now()}`)).secret;
const port = await new Promise<number>((resolve) => {
  const probe = net.createServer().listen(0, '127.0.0.1', () => {
    const address = probe.address();
    probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
  });
});

async function startServer(workers: number) {
  const profile = process.env.BENCH_CPU_PROF_DIR;
  const profileArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [];
  const child = spawn(process.execPath, [...profileArgs, '--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, PORT: String(port), LOG_LEVEL: 'error', ACCRUE_WORKERS: String(workers) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (;;) {
    if (
      await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return child;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const post = (url: string, body: unknown) =>
  fetch(`http://127.0.0.1:${port}${url}`, {
    method: 'POST',
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

let server = await startServer(0);
const programId = ((await (await post('/v1/programs', { name: 'bench' })).json()) as { id: string }).id;
const batches = Array.from({ length: Math.ceil(eventCount / 100) }, (_, b) =>
  Array.from({ length: 100 }, (_, i) => ({
    program_id: programId,
    external_id: `bench-${(b * 100 + i) % participantCount}`,
    idempotency_key: `bench-${b * 100 + i}`,
    event_timestamp: '2024-01-15T10:30:00Z',
    event_data: { amount: '12.50', sku: 'A-1', n: b * 100 + i },
  })),
);
let next = 0;
const ingestStart = performance.now();
await Promise.all(
  Array.from({ length: clients }, async () => {
    for (let b = next++; b < batches.length; b = next++) {
      const response = await post('/v1/events/batch', { events: batches[b] });
      if (response.status !== 202) throw new Error(`batch answered ${response.status}`);
      await response.arrayBuffer();
    }
  }),
);
const ingestSeconds = (performance.now() - ingestStart) / 1000;
console.log(
  `ingest: ${eventCount} events in ${ingestSeconds.toFixed(2)} s = ${Math.round(eventCount / ingestSeconds)} events/s (${clients} clients, batches of 100)`,
);
server.kill('SIGINT');

server = await startServer(Number(process.env.ACCRUE_WORKERS ?? 2));
const processStart = performance.now();
for (;;) {
  const { rows } = await sql<{
    n: string;
  }>`select count(*)::text as n from events_with_status where status <> 'COMPLETED'`.execute(handle.db);
  if (Number(rows[0]?.n) === 0) break;
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const processSeconds = (performance.now() - processStart) / 1000;
console.log(
  `processing: ${eventCount} events in ${processSeconds.toFixed(2)} s = ${Math.round(eventCount / processSeconds)} events/s (no rule steps)`,
);
server.kill('SIGKILL');
await handle.close();
