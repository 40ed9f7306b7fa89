// `npm run bench [-- --quick]`: starts Accrue as its own process on a fresh embedded database (or on
// DATABASE_URL), measures the machine's baselines on the same database, loads the standard workload
// over HTTP from this process, and prints the figures with their ratios. Writes
// bench/results/<date>.json. Figures never fail anything: this is a measurement, not a test.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { runCli, type ServerProcess, startServer } from '../test/process/run-process.js';
import { measureDatabaseBaselines, measureParseOnlyBaseline } from './baselines.js';
import { type CpuSplit, cpuCeiling, readPostmasterPid, startCpuMeter } from './cpu.js';
import { ingest, measureSteadyLatency, waitForProcessing } from './drive.js';
import { setUpProgram, verifyBalances } from './setup.js';
import { measureWorkerProcesses, type WorkerPhase } from './worker-processes.js';
import { generateEvents } from './workload.js';

const quick = process.argv.includes('--quick');
/** Ingest alone: the server runs no workers, so nothing competes with accepting events. */
const ingestOnly = process.argv.includes('--ingest-only');
/** The server writes a CPU profile to bench/results/tmp when it stops (open it in Chrome DevTools). */
const serverNodeArgs = process.argv.includes('--cpu-prof')
  ? ['--cpu-prof', `--cpu-prof-dir=${path.join(import.meta.dirname, 'results', 'tmp')}`]
  : [];
const plan = quick
  ? { events: 20_000, participants: 2_000, steadyEvents: 4_000, workerEvents: 5_000, baselineSeconds: 2 }
  : { events: 200_000, participants: 10_000, steadyEvents: 20_000, workerEvents: 40_000, baselineSeconds: 5 };
/** `accrue worker` processes beside an API-only server, one phase each, after the main workload. */
const workerProcessCounts = [1, 2];
const connections = 8;
const verifyTimeoutMs = 30 * 60_000;
const poolSize = 20;

async function main(): Promise<void> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'accrue-bench-'));
  await fs.chmod(dataDir, 0o755);
  const env = {
    ACCRUE_DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    // The balance check reads two requests per participant as fast as the server answers, which can
    // pass the default 1,000 requests/s; no measured phase comes near it.
    ACCRUE_RATE_LIMIT_PER_SECOND: '0',
    ...externalDatabase(),
    ...(ingestOnly ? { ACCRUE_WORKERS: '0' } : {}),
  };
  let server = await startServer(env, 60_000, serverNodeArgs);
  const rss = sampleRss(server);
  const restartWithoutWorkers = async () => {
    rss.stop();
    server.child.kill('SIGTERM');
    await server.exited;
    server = await startServer({ ...env, ACCRUE_WORKERS: '0' });
    return server;
  };
  try {
    await runWorkload({ server, env, dataDir, rssPeakMb: rss.peakMb, restartWithoutWorkers });
  } finally {
    rss.stop();
    server.child.kill('SIGTERM');
    await server.exited;
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

interface BenchRun {
  server: ServerProcess;
  env: Record<string, string>;
  dataDir: string;
  rssPeakMb: () => number;
  /** Stops the server (its RSS is then final) and starts it again as an API-only node. */
  restartWithoutWorkers: () => Promise<ServerProcess>;
}

/** Baselines, then the workload through the API, then the checks; prints and writes the figures. */
async function runWorkload(run: BenchRun): Promise<void> {
  const key = runCli(['keys', 'create', '--org', 'bench'], run.env).stdout.trim().split('\n').pop() ?? '';
  const databaseUrl = process.env.DATABASE_URL || (await embeddedUrl(run.dataDir));
  const db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  db.on('error', (error) => log(`database connection closed: ${error.message}`));
  try {
    const storageBefore = await storageSnapshot(db);
    const baselines = await measureBaselines(databaseUrl);
    const ids = await setUpProgram(run.server.port, key);
    const { events, expected } = generateEvents(ids.programId, plan.events, plan.participants);
    log(`ingesting ${events.length} events in batches of 100 over ${connections} connections ...`);
    const postmasterPid = process.env.DATABASE_URL ? undefined : readPostmasterPid(run.dataDir);
    const cpu = startCpuMeter(run.server.child.pid ?? 0, postmasterPid);
    const ingested = await ingest(run.server.port, key, events, connections);
    if (ingestOnly) return reportIngestOnly(ingested, cpu.stop());
    const processed = await waitForProcessing(db, events.length);
    const cpuSplit = cpu.stop();
    const steady = await measureSteadyLatency(
      run.server.port,
      key,
      ids.programId,
      db,
      plan.steadyEvents,
      2_000,
    );
    const storage = storageGrowth(
      storageBefore,
      await storageSnapshot(db),
      events.length + plan.steadyEvents,
    );
    log('running accrue ledger verify ...');
    const verify = runCli(['ledger', 'verify'], run.env, verifyTimeoutMs);
    const balances = await verifyBalances(run.server.port, key, ids, expected);
    const rssPeakMb = run.rssPeakMb();
    await db.end();
    log(`processing with ${workerProcessCounts.join(' and ')} accrue worker processes ...`);
    const apiOnly = await run.restartWithoutWorkers();
    const workerProcesses = await measureWorkerProcesses(
      {
        server: apiOnly,
        env: { ...run.env, ACCRUE_WORKERS: '0' },
        key,
        ids,
        databaseUrl: process.env.DATABASE_URL || (await embeddedUrl(run.dataDir)),
        events: plan.workerEvents,
        participants: plan.participants,
      },
      workerProcessCounts,
    );
    const figures = {
      plan,
      ingested,
      processed,
      cpu: cpuSplit,
      steady,
      baselines,
      rssPeakMb,
      ...storage,
      ledgerVerify: verifyOutcome(verify),
      ledgerVerifySeconds: verify.seconds,
      balances,
      workerProcesses,
    };
    report(figures);
    await writeResults(figures);
  } finally {
    if (!db.ended) await db.end();
  }
}

async function measureBaselines(databaseUrl: string): Promise<Record<string, number>> {
  log(`baselines (${plan.baselineSeconds}s each) ...`);
  return {
    ...(await measureDatabaseBaselines(databaseUrl, poolSize, plan.baselineSeconds)),
    ...(await measureParseOnlyBaseline(JSON.stringify(sampleBatch()), connections, 5_000)),
  };
}

function externalDatabase(): Record<string, string> {
  return process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {};
}

async function embeddedUrl(dataDir: string): Promise<string> {
  const pid = await fs.readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8');
  const password = (await fs.readFile(path.join(dataDir, 'pg-password'), 'utf8')).trim();
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${pid.split('\n')[3]}/accrue`;
}

interface StorageSnapshot {
  databaseBytes: number;
  /** Each table's bytes with its indexes and TOAST. */
  tableBytes: Map<string, number>;
}

async function storageSnapshot(db: pg.Pool): Promise<StorageSnapshot> {
  const database = await db.query('select pg_database_size(current_database()) as size');
  const tables = await db.query<{ name: string; bytes: string }>(
    `select relname as name, pg_total_relation_size(oid) as bytes from pg_class
     where relkind = 'r' and relnamespace = 'public'::regnamespace`,
  );
  return {
    databaseBytes: Number(database.rows[0].size),
    tableBytes: new Map(tables.rows.map((row) => [row.name, Number(row.bytes)])),
  };
}

/** Bytes per event, and where they went: each table's growth per event, largest first. */
function storageGrowth(before: StorageSnapshot, after: StorageSnapshot, events: number) {
  const byTable = [...after.tableBytes]
    .map(([name, bytes]): [string, number] => [
      name,
      Math.round((bytes - (before.tableBytes.get(name) ?? 0)) / events),
    ])
    .filter(([, perEvent]) => perEvent > 0)
    .sort((a, b) => b[1] - a[1]);
  return {
    bytesPerEvent: (after.databaseBytes - before.databaseBytes) / events,
    bytesPerEventByTable: Object.fromEntries(byTable),
  };
}

function sampleRss(server: ServerProcess) {
  let peakKb = 0;
  const timer = setInterval(async () => {
    const status = await fs.readFile(`/proc/${server.child.pid}/status`, 'utf8').catch(() => '');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    peakKb = Math.max(peakKb, kb);
  }, 100);
  return { peakMb: () => peakKb / 1024, stop: () => clearInterval(timer) };
}

function sampleBatch() {
  return generateEvents('01900000-0000-7000-8000-000000000000', 100, 100).events;
}

function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

type Figures = Record<string, unknown> & {
  ingested: Awaited<ReturnType<typeof ingest>>;
  processed: Awaited<ReturnType<typeof waitForProcessing>>;
  cpu: CpuSplit;
  steady: Awaited<ReturnType<typeof measureSteadyLatency>>;
  baselines: Record<string, number>;
  rssPeakMb: number;
  bytesPerEvent: number;
  bytesPerEventByTable: Record<string, number>;
  ledgerVerify: string;
  ledgerVerifySeconds: number;
  balances: Awaited<ReturnType<typeof verifyBalances>>;
  workerProcesses: WorkerPhase[];
};

function report(f: Figures): void {
  const b = f.baselines;
  const rows: [string, string, string, string][] = [
    [
      'ingest (events accepted/s)',
      f.ingested.eventsPerSecond.toFixed(0),
      '>= 20000',
      `${ratio(f.ingested.eventsPerSecond, b.multiRowInsertRowsPerSecond)} of multi-row INSERT rows/s`,
    ],
    [
      'batch request p50 / p99 (ms)',
      `${f.ingested.p50Ms.toFixed(1)} / ${f.ingested.p99Ms.toFixed(1)}`,
      '',
      `parse-only p99 ${b.parseOnlyP99Ms?.toFixed(1)} ms`,
    ],
    [
      'batch requests/s',
      f.ingested.requestsPerSecond.toFixed(0),
      '',
      `${ratio(f.ingested.requestsPerSecond, b.parseOnlyRequestsPerSecond)} of parse-only route`,
    ],
    [
      'processing (events completed/s)',
      f.processed.eventsPerSecond.toFixed(0),
      '>= 5000',
      `${ratio(f.processed.eventsPerSecond, b.singleRowCommitsPerSecond)} of single-row commits/s`,
    ],
    [
      'processing, share of bare transfers',
      `${ratio(f.processed.eventsPerSecond, b.bareTransfersPerSecond)}`,
      '',
      'events completed/s against bare double-entry transfers/s',
    ],
    ['events failed', String(f.processed.failed), '0', ''],
    [
      'CPU per event (ms)',
      [f.cpu.serverMs, f.cpu.otherMs, f.cpu.clientMs].map((ms) => (ms / plan.events).toFixed(2)).join(' / '),
      '',
      `server / database and rest / client, ingest to last processed; ` +
        `all ${f.cpu.cores} cores allow ${cpuCeiling(f.cpu, plan.events).toFixed(0)} events/s`,
    ],
    [
      'PostgreSQL CPU per event (ms)',
      (f.cpu.databaseMs / plan.events).toFixed(2),
      '',
      'the embedded database processes alone, ingest to last processed: steadier than the ratios',
    ],
    [
      'e2e latency p50 / p99 at 2000/s (ms)',
      `${f.steady.p50Ms.toFixed(0)} / ${f.steady.p99Ms.toFixed(0)}`,
      'p99 <= 500',
      `slowest by second sent: ${f.steady.maxBySecondMs.join(', ')}`,
    ],
    ['peak server RSS (MB)', f.rssPeakMb.toFixed(0), '<= 500', ''],
    ['database bytes per event', f.bytesPerEvent.toFixed(0), '<= 2048', ''],
    ['accrue ledger verify', f.ledgerVerify, 'passed', `took ${f.ledgerVerifySeconds.toFixed(1)} s`],
    ['balances equal the prediction', `${f.balances.matched}/${f.balances.checked}`, 'all', ''],
    ...f.workerProcesses.map((phase) => workerPhaseRow(phase, f.workerProcesses[0], b)),
    ['baseline: single-row commits/s', b.singleRowCommitsPerSecond?.toFixed(0) ?? '', '', `pool ${poolSize}`],
    [
      'baseline: multi-row INSERT rows/s',
      b.multiRowInsertRowsPerSecond?.toFixed(0) ?? '',
      '',
      '100 rows per statement',
    ],
    [
      'baseline: bare transfers/s',
      b.bareTransfersPerSecond?.toFixed(0) ?? '',
      '',
      `pool ${poolSize}: 2 balance rows locked in order and updated, 1 entry, 2 postings, 1 commit`,
    ],
    [
      'baseline: parse-only requests/s',
      b.parseOnlyRequestsPerSecond?.toFixed(0) ?? '',
      '',
      `${connections} connections`,
    ],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(`\n${'figure'.padEnd(width)}  value            target        ratio / note\n`);
  for (const [name, value, target, note] of rows) {
    process.stdout.write(`${name.padEnd(width)}  ${value.padEnd(16)} ${target.padEnd(13)} ${note}\n`);
  }
  const tables = Object.entries(f.bytesPerEventByTable).slice(0, 8);
  process.stdout.write(
    `\nbytes per event by table: ${tables.map(([name, bytes]) => `${name} ${bytes}`).join(', ')}\n`,
  );
}

/** Processing by `accrue worker` processes beside an API-only server, with its exactly-once checks. */
function workerPhaseRow(
  phase: WorkerPhase,
  onePhase: WorkerPhase | undefined,
  b: Record<string, number>,
): [string, string, string, string] {
  const scaling =
    onePhase && onePhase !== phase
      ? `, x${(phase.eventsPerSecond / onePhase.eventsPerSecond).toFixed(2)} of 1 process`
      : '';
  return [
    `processing, ${phase.processes} accrue worker process${phase.processes > 1 ? 'es' : ''} (events/s)`,
    phase.eventsPerSecond.toFixed(0),
    '',
    `${ratio(phase.eventsPerSecond, b.bareTransfersPerSecond)} of bare transfers/s${scaling}; ` +
      `${phase.events} events, ${phase.failed} failed, ${phase.eventsTwice} applied twice, ` +
      `balances ${phase.balancesMatched}/${phase.balancesChecked} as predicted`,
  ];
}

function verifyOutcome(verify: ReturnType<typeof runCli>): string {
  if (verify.code === 0) return 'passed';
  if (verify.timedOut) return `TIMED OUT after ${verifyTimeoutMs / 1000} s`;
  return `FAILED: ${verify.stdout}${verify.stderr}`;
}

function reportIngestOnly(ingested: Awaited<ReturnType<typeof ingest>>, cpu: CpuSplit): void {
  const perEvent = [cpu.serverMs, cpu.otherMs, cpu.clientMs].map((ms) => (ms / plan.events).toFixed(3));
  process.stdout.write(
    `ingest only (no workers): ${ingested.eventsPerSecond.toFixed(0)} events/s, batch p50 / p99 ` +
      `${ingested.p50Ms.toFixed(1)} / ${ingested.p99Ms.toFixed(1)} ms; CPU per event ${perEvent.join(' / ')} ms ` +
      `(server / database and rest / client); all ${cpu.cores} cores allow ` +
      `${cpuCeiling(cpu, plan.events).toFixed(0)} events/s; ` +
      `PostgreSQL CPU per event ${(cpu.databaseMs / plan.events).toFixed(3)} ms (${databaseByKind(cpu)})\n`,
  );
}

/** The database's CPU per event by kind of process, largest first: "sessions 0.061, walwriter 0.012". */
function databaseByKind(cpu: CpuSplit): string {
  return Object.entries(cpu.databaseByKindMs)
    .filter(([, ms]) => ms > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, ms]) => `${kind} ${(ms / plan.events).toFixed(3)}`)
    .join(', ');
}

function ratio(value: number, baseline: number | undefined): string {
  return baseline ? `${((value / baseline) * 100).toFixed(0)}%` : 'n/a';
}

async function writeResults(figures: Figures): Promise<void> {
  const file = path.join(
    'bench',
    'results',
    `${new Date().toISOString().slice(0, 19).replaceAll(':', '-')}${quick ? '-quick' : ''}.json`,
  );
  const machine = {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  };
  await fs.writeFile(file, `${JSON.stringify({ machine, ...figures }, null, 2)}\n`);
  log(`wrote ${file}`);
}

await main();
