import { randomBytes } from 'node:crypto';
// How many SQL statements one event costs, by kind: the figure that explains the processing rate.
// `npx tsx bench/queries-per-event.ts [events]` runs the standard workload's rules in-process on a
// fresh embedded database and counts every statement the workers send while processing.
// PG_STAT_STATEMENTS=1 also loads pg_stat_statements into that server and prints the server-side
// execution time by statement, foreign-key checks and trigger queries included, and the planning time
// of all of them. Every run prints the bytes sent and received per statement kind, this process's CPU by
// thread (the main thread, where the workers build and send the claims' statements, and the others:
// the rule evaluation thread, V8's collector and compiler threads) and the main thread's
// garbage-collection pauses. PARTICIPANTS (default 200) spreads the events over that many
// participants; RETURNING=1 creates them before the events. KINDS (default 15) lists that many
// statement kinds by count, KIND_CHARS (default 40) of each statement's text.
// CPU_PROF=<file> writes a CPU profile of this process's main thread while the workers process;
// HEAP_PROF=<file> a sampling heap profile of the same window, counting what the collector freed too
// (where the allocation is, not what is left). AUTO_EXPLAIN=<ms> loads auto_explain into the server
// and, while the workers process, logs the plan (with actual rows and times, nested statements too)
// of every statement slower than that; the log is copied to bench/results/tmp/ at the end. Timing
// every plan node slows the server, so read plans from such a run, not figures.
import fs from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { startEventWorkers } from '../src/modules/events/index.js';
import { createApiKey } from '../src/modules/organizations/index.js';
import { createWebhookSettings } from '../src/modules/webhooks/index.js';
import { systemClock } from '../src/platform/clock.js';
import { connect } from '../src/platform/db/database.js';
import { openEmbeddedServer } from '../src/platform/db/embedded-server.js';
import { migrate } from '../src/platform/db/migrate.js';
import { createLogger } from '../src/platform/logger.js';
import { readPostmasterPid, startCpuMeter, startThreadMeter } from './cpu.js';
import { queueIsEmpty } from './queue-wait.js';
import { assetBodies, generateEvents, ruleBodies, tierBody } from './workload.js';

const eventCount = Number(process.argv[2] ?? 500);
const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'accrue-queries-'));
await fs.chmod(dataDir, 0o755);
const serverStatistics = process.env.PG_STAT_STATEMENTS === '1';
const autoExplainMs = process.env.AUTO_EXPLAIN;
const server = await openServer();
// Piped into `head`, say, the output may close before the run ends: stop the server then, rather
// than leave it running after this process dies of the closed pipe.
process.stdout.on('error', () => {
  void server
    .release()
    .then(() => fs.rm(dataDir, { recursive: true, force: true }))
    .finally(() => process.exit(1));
});
await migrate(server.connectionString);
const handle = connect(
  server.connectionString,
  { sizeMax: 10, waitMs: 10_000 },
  createLogger('silent'),
  async () => {},
);
const deps = { db: handle.db, clock: systemClock, logger: createLogger('silent'), version: 'bench' };
const app = await buildApp({
  ...deps,
  rateLimit: { ratePerSecond: 0, burst: 1 },
  webhooks: createWebhookSettings(randomBytes(32), []),
});
const key = (await createApiKey(handle.db, 'queries')).secret;
const call = async (method: string, url: string, payload?: unknown) =>
  (
    await app.inject({
      method: method as 'POST',
      url,
      headers: { 'x-api-key': key },
      ...(payload ? { payload: payload as object } : {}),
    })
  ).json();

const programId = (await call('POST', '/v1/programs', { name: 'Queries' })).id;
const assets = assetBodies(programId);
const ids = {
  programId,
  pointsAssetId: (await call('POST', '/v1/assets', assets.points)).id,
  lotAssetId: (await call('POST', '/v1/assets', assets.lots)).id,
};
for (const rule of ruleBodies(ids)) await call('POST', '/v1/rules', rule);
await call('POST', `/v1/programs/${programId}/tiers`, tierBody());
const participantCount = Number(process.env.PARTICIPANTS ?? 200);
const { events } = generateEvents(programId, eventCount, participantCount);
// RETURNING=1: every participant exists before its events arrive (returning members), so ingest
// completes their identity; by default the first event of each participant creates it.
if (process.env.RETURNING === '1') {
  const externalIds = new Set(events.map((event) => event.external_id));
  for (const externalId of externalIds) await call('POST', '/v1/participants', { external_id: externalId });
}
for (let i = 0; i < events.length; i += 100)
  await call('POST', '/v1/events/batch', { events: events.slice(i, i + 100) });

const counts = new Map<string, number>();
const times = new Map<string, number>();
// Bytes each connection sent and received while the workers ran, from its first statement on.
const sockets = new Map<Socket, { written: number; read: number }>();
// Bytes received per statement kind: what each connection read between the end of its previous
// statement and the end of this one (a connection runs one statement at a time).
const readAt = new Map<Socket, number>();
const readBy = new Map<string, number>();
// Bytes sent per statement kind: what the connection wrote while the statement was handed to it (a
// statement goes out at once on an idle connection, and a worker waits for each before the next).
const writtenBy = new Map<string, number>();
const original = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const socket = (this as unknown as { connection: { stream: Socket } }).connection.stream;
  if (!sockets.has(socket)) sockets.set(socket, { written: socket.bytesWritten, read: socket.bytesRead });
  const text = typeof args[0] === 'string' ? args[0] : ((args[0] as { text?: string })?.text ?? '');
  const kind = text
    .trim()
    .replace(/\s+/g, ' ')
    .toLowerCase()
    .slice(0, Number(process.env.KIND_CHARS ?? 40));
  counts.set(kind, (counts.get(kind) ?? 0) + 1);
  const started = performance.now();
  const writtenBefore = socket.bytesWritten;
  const result = (original as (...a: unknown[]) => unknown).apply(this, args);
  writtenBy.set(kind, (writtenBy.get(kind) ?? 0) + socket.bytesWritten - writtenBefore);
  if (result instanceof Promise)
    result
      .finally(() => {
        times.set(kind, (times.get(kind) ?? 0) + performance.now() - started);
        readBy.set(
          kind,
          (readBy.get(kind) ?? 0) + socket.bytesRead - (readAt.get(socket) ?? socket.bytesRead),
        );
        readAt.set(socket, socket.bytesRead);
      })
      .catch(() => {});
  return result;
} as typeof pg.Client.prototype.query;

if (serverStatistics) await handle.pool.query('select pg_stat_statements_reset()');
if (autoExplainMs !== undefined) await logSlowPlans(Number(autoExplainMs));
const tablesBefore = await readTableStatistics();
const cpu = startCpuMeter(process.pid, readPostmasterPid(dataDir));
const threads = startThreadMeter(process.pid);
const collections = observeCollections();
const walBefore = await readWalBytes();
const profiler = process.env.CPU_PROF ? await startProfiler() : undefined;
const heapProfiler = process.env.HEAP_PROF ? await startHeapProfiler() : undefined;
const started = performance.now();
const workers = startEventWorkers({
  ...deps,
  connectionString: server.connectionString,
  workerCount: 2,
  ...(process.env.CLAIM ? { claimBatchSize: Number(process.env.CLAIM) } : {}),
  ...(process.env.CONC ? { concurrency: Number(process.env.CONC) } : {}),
  leaseMs: 60_000,
});
// Every event was accepted before the workers started: an empty queue means all are finished.
while (!(await queueIsEmpty(handle.pool))) await new Promise((resolve) => setTimeout(resolve, 100));
const seconds = (performance.now() - started) / 1000;
const cpuSplit = cpu.stop();
const threadSplit = threads.stop();
const collected = collections.stop();
if (profiler !== undefined) await stopProfiler(profiler, process.env.CPU_PROF as string);
if (heapProfiler !== undefined) await stopHeapProfiler(heapProfiler, process.env.HEAP_PROF as string);
await workers.stop();
pg.Client.prototype.query = original;
const total = [...counts.values()].reduce((sum, n) => sum + n, 0);
process.stdout.write(
  `${eventCount} events in ${seconds.toFixed(1)} s (${(eventCount / seconds).toFixed(0)}/s); ${(total / eventCount).toFixed(1)} statements per event\n`,
);
process.stdout.write(
  `CPU per event: PostgreSQL ${(cpuSplit.databaseMs / eventCount).toFixed(3)} ms, this process (workers) ${(cpuSplit.serverMs / eventCount).toFixed(3)} ms\n`,
);
const perEvent = (ms: number) => (ms / eventCount).toFixed(3);
process.stdout.write(
  `this process by thread (ms per event): main ${perEvent(threadSplit.mainMs)}, others ${perEvent(threadSplit.otherMs.reduce((sum, ms) => sum + ms, 0))} (the busiest ${threadSplit.otherMs.slice(0, 6).map(perEvent).join(', ')})\n`,
);
process.stdout.write(
  `main thread's garbage collection: ${collected.minor.count} minor, ${collected.minor.ms.toFixed(0)} ms; ${collected.major.count} major or incremental, ${collected.major.ms.toFixed(0)} ms\n`,
);
const traffic = [...sockets].reduce(
  (sum, [socket, start]) => ({
    written: sum.written + socket.bytesWritten - start.written,
    read: sum.read + socket.bytesRead - start.read,
  }),
  { written: 0, read: 0 },
);
process.stdout.write(
  `bytes per event to / from PostgreSQL: ${(traffic.written / eventCount).toFixed(0)} / ${(traffic.read / eventCount).toFixed(0)}\n`,
);
for (const [kind, n] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.KINDS ?? 15))) {
  process.stdout.write(`  ${(n / eventCount).toFixed(2).padStart(6)}  ${kind}\n`);
}
process.stdout.write('time spent waiting, by statement kind (ms, all workers):\n');
for (const [kind, ms] of [...times].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
  process.stdout.write(`  ${ms.toFixed(0).padStart(7)}  ${kind}\n`);
}
process.stdout.write('bytes received per event, by statement kind:\n');
for (const [kind, bytes] of [...readBy].sort((a, b) => b[1] - a[1]).slice(0, 8)) {
  process.stdout.write(`  ${(bytes / eventCount).toFixed(0).padStart(7)}  ${kind}\n`);
}
process.stdout.write('bytes sent per event, by statement kind:\n');
for (const [kind, bytes] of [...writtenBy].sort((a, b) => b[1] - a[1]).slice(0, 8)) {
  process.stdout.write(`  ${(bytes / eventCount).toFixed(0).padStart(7)}  ${kind}\n`);
}
if (serverStatistics) await printServerStatistics();
await printTableStatistics();
await app.close();
await handle.close();
await server.release();
if (autoExplainMs !== undefined) await keepServerLog();
await fs.rm(dataDir, { recursive: true, force: true });

/**
 * The embedded server; with PG_STAT_STATEMENTS=1 or AUTO_EXPLAIN, started a second time with the
 * extensions loaded (auto_explain logs nothing until logSlowPlans).
 */
async function openServer() {
  const first = await openEmbeddedServer(dataDir, 'cli', createLogger('warn'));
  if (!serverStatistics && autoExplainMs === undefined) return first;
  await first.release();
  const libraries = [
    ...(serverStatistics ? ['pg_stat_statements'] : []),
    ...(autoExplainMs ? ['auto_explain'] : []),
  ];
  await fs.appendFile(
    path.join(dataDir, 'pg', 'postgresql.conf'),
    [
      '',
      `shared_preload_libraries = '${libraries.join(',')}'`,
      'pg_stat_statements.track = all',
      'pg_stat_statements.track_planning = on',
      'auto_explain.log_analyze = on',
      'auto_explain.log_nested_statements = on',
      'auto_explain.log_parameter_max_length = 0',
      '',
    ].join('\n'),
  );
  const second = await openEmbeddedServer(dataDir, 'cli', createLogger('warn'));
  if (!serverStatistics) return second;
  const client = new pg.Client({ connectionString: second.connectionString });
  await client.connect();
  await client.query('create extension pg_stat_statements');
  await client.end();
  return second;
}

/** From now on, every session's statements slower than `ms` have their plans written to the log. */
async function logSlowPlans(ms: number) {
  await handle.pool.query(`alter system set auto_explain.log_min_duration = ${Math.trunc(ms)}`);
  await handle.pool.query('select pg_reload_conf()');
}

/** The server's log, with the plans auto_explain wrote, kept where bench/run.ts keeps profiles. */
async function keepServerLog() {
  const dir = path.join('bench', 'results', 'tmp');
  await fs.mkdir(dir, { recursive: true });
  const kept = path.join(dir, `auto-explain-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
  await fs.copyFile(path.join(dataDir, 'postgres.log'), kept);
  process.stdout.write(`plans of statements slower than ${autoExplainMs} ms: ${kept}\n`);
}

async function printServerStatistics() {
  const totals = await handle.pool.query(
    `select round(sum(total_exec_time) filter (where toplevel))::int as exec_ms,
       round(sum(total_plan_time))::int as plan_ms, sum(calls) filter (where toplevel)::int as calls
     from pg_stat_statements where query not like '%pg_stat_statements%'`,
  );
  const { exec_ms, plan_ms, calls } = totals.rows[0];
  process.stdout.write(
    `server-side time of the statements sent: execution ${exec_ms} ms, planning ${plan_ms} ms, ${calls} statements\n`,
  );
  const { rows } = await handle.pool.query(
    `select round(total_exec_time)::int as ms, calls, toplevel,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 70) as statement
     from pg_stat_statements where query not like '%pg_stat_statements%'
     order by total_exec_time desc limit 15`,
  );
  process.stdout.write(
    'server-side execution time, by statement (ms, calls; "in" = run by a trigger or key check):\n',
  );
  for (const row of rows) {
    const where = row.toplevel ? '  ' : 'in';
    process.stdout.write(
      `  ${String(row.ms).padStart(7)} ${String(row.calls).padStart(7)} ${where} ${row.statement}\n`,
    );
  }
}

interface TableStatistics {
  relname: string;
  inserted: number;
  updated: number;
  hot: number;
  deleted: number;
}

/** Row writes by table since the server started (statistics are flushed by each backend within a second). */
async function readTableStatistics(): Promise<Map<string, TableStatistics>> {
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const { rows } = await handle.pool.query<TableStatistics>(
    `select relname, n_tup_ins::int as inserted, n_tup_upd::int as updated, n_tup_hot_upd::int as hot,
       n_tup_del::int as deleted
     from pg_stat_user_tables`,
  );
  return new Map(rows.map((row) => [row.relname, row]));
}

async function readWalBytes(): Promise<number> {
  const { rows } = await handle.pool.query('select wal_bytes::float8 as bytes from pg_stat_wal');
  return Number(rows[0].bytes);
}

/** Rows inserted, updated (and how many of those heap-only) and deleted per event, and WAL per event. */
async function printTableStatistics() {
  const after = await readTableStatistics();
  const wal = (await readWalBytes()) - walBefore;
  process.stdout.write(
    `row writes per event by table (inserted / updated, of which heap-only / deleted); WAL ${(wal / eventCount).toFixed(0)} bytes per event:\n`,
  );
  const rows = [...after.values()]
    .map((row) => {
      const before = tablesBefore.get(row.relname);
      const per = (key: keyof Omit<TableStatistics, 'relname'>) =>
        (row[key] - (before?.[key] ?? 0)) / eventCount;
      return {
        name: row.relname,
        inserted: per('inserted'),
        updated: per('updated'),
        hot: per('hot'),
        deleted: per('deleted'),
      };
    })
    .filter((row) => row.inserted + row.updated + row.deleted >= 0.01)
    .sort((a, b) => b.inserted + b.updated - (a.inserted + a.updated));
  for (const row of rows) {
    const figures = [row.inserted, row.updated, row.hot, row.deleted].map((n) => n.toFixed(2).padStart(6));
    process.stdout.write(`  ${figures.join(' ')}  ${row.name}\n`);
  }
  const { rows: sizes } = await handle.pool.query(
    `select (pg_relation_size('events') + pg_relation_size('event_outcomes'))::float8 as heap,
       (pg_indexes_size('events') + pg_indexes_size('event_outcomes'))::float8 as indexes`,
  );
  const heap = Number(sizes[0].heap) / eventCount;
  const indexes = Number(sizes[0].indexes) / eventCount;
  process.stdout.write(
    `events and their outcomes: ${heap.toFixed(0)} heap + ${indexes.toFixed(0)} index bytes per event\n`,
  );
}

/** The main thread's garbage collections from now on, minor (scavenges) and the rest, with their pauses. */
function observeCollections() {
  const minor = { count: 0, ms: 0 };
  const major = { count: 0, ms: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      const sum = kind === constants.NODE_PERFORMANCE_GC_MINOR ? minor : major;
      sum.count += 1;
      sum.ms += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop() {
      observer.disconnect();
      return { minor, major };
    },
  };
}

async function startProfiler(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return session;
}

async function stopProfiler(session: Session, file: string): Promise<void> {
  const { profile } = await session.post('Profiler.stop');
  await fs.writeFile(file, JSON.stringify(profile));
  session.disconnect();
}

async function startHeapProfiler(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 16_384,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return session;
}

async function stopHeapProfiler(session: Session, file: string): Promise<void> {
  const { profile } = await session.post('HeapProfiler.stopSampling');
  await fs.writeFile(file, JSON.stringify(profile));
  session.disconnect();
}
