// Starting and stopping the server the way users and supervisors do: `npm start` and one SIGTERM,
// Ctrl-C (a signal that arrives twice), a second start on a busy port, and a data directory the
// embedded PostgreSQL's user cannot reach.
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  processesWithEnv,
  runCli,
  type ServerProcess,
  startNpmStart,
  startServer,
  startWorkerCommand,
} from './run-process.js';

let dataDir: string;
let server: ServerProcess | undefined;

const leftRunning = () => processesWithEnv('ACCRUE_DATA_DIR', dataDir);

async function waitUntilNoneLeft(): Promise<number[]> {
  for (let waited = 0; waited < 10_000; waited += 100) {
    if ((await leftRunning()).length === 0) return [];
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return leftRunning();
}

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'accrue-start-stop-'));
  await fs.chmod(dataDir, 0o755);
});

afterEach(async () => {
  server?.child.kill('SIGTERM');
  await server?.exited;
  server = undefined;
});

afterAll(async () => {
  for (const pid of await leftRunning()) process.kill(pid, 'SIGKILL');
  await fs.rm(dataDir, { recursive: true, force: true });
});

describe('stopping the server', () => {
  it('one SIGTERM to `npm start` stops npm, the server and the embedded PostgreSQL', async () => {
    server = await startNpmStart({ ACCRUE_DATA_DIR: dataDir });
    // npm, node and PostgreSQL's processes at least; before the fix, also sh and tsx.
    expect((await leftRunning()).length).toBeGreaterThanOrEqual(3);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(await waitUntilNoneLeft()).toEqual([]);
  }, 90_000);

  it('a signal repeated while the server drains (Ctrl-C under npm) still stops PostgreSQL', async () => {
    server = await startServer({ ACCRUE_DATA_DIR: dataDir });
    server.child.kill('SIGINT');
    server.child.kill('SIGINT');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(await waitUntilNoneLeft()).toEqual([]);
  }, 90_000);

  it('one SIGTERM to `accrue worker` stops its workers and the PostgreSQL it started', async () => {
    server = await startWorkerCommand({ ACCRUE_DATA_DIR: dataDir });
    expect((await leftRunning()).length).toBeGreaterThanOrEqual(2);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(await waitUntilNoneLeft()).toEqual([]);
  }, 90_000);
});

describe('starting a second server', () => {
  it('on a busy port says so in one line and leaves the running server and its pid file alone', async () => {
    server = await startServer({ ACCRUE_DATA_DIR: dataDir });
    const pidFile = path.join(dataDir, 'server.pid');
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(server.child.pid));

    const second = runCli(['serve'], { ACCRUE_DATA_DIR: dataDir, PORT: String(server.port) });

    expect(second.code).toBe(1);
    expect(second.stdout).toBe('');
    expect(second.stderr).toMatch(new RegExp(`^accrue: port ${server.port} is in use[^\\n]*\\n$`));
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(server.child.pid));
    expect((await fetch(`http://127.0.0.1:${server.port}/readyz`)).status).toBe(200);
  }, 90_000);
});

describe.runIf(process.getuid?.() === 0)('starting as root', () => {
  it('with data the postgres user cannot reach stops with one sentence naming the directory', async () => {
    const closed = await fs.mkdtemp(path.join(os.tmpdir(), 'accrue-closed-'));
    await fs.chmod(closed, 0o700);
    try {
      const result = runCli(['serve'], { ACCRUE_DATA_DIR: path.join(closed, 'data') });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        new RegExp(
          `^accrue: as root, the embedded PostgreSQL runs as the "postgres" user, which cannot enter ${closed} \\(mode 0700\\)[^\\n]*DATABASE_URL\\n$`,
        ),
      );
      expect(result.stderr).not.toContain('EACCES');
      expect(await fs.readdir(path.join(closed, 'data'))).not.toContain('pg');
    } finally {
      await fs.rm(closed, { recursive: true, force: true });
    }
  });
});
