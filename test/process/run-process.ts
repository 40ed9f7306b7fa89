// Helpers to run Accrue as real processes (the server and the CLI), as a user would.
import { type ChildProcess, type StdioOptions, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { expect } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  output(): string;
  exited: Promise<number | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}

/** Servers on a DATABASE_URL need the deployment's secret key; tests share this one. */
export const testSecretKey = 'accrue-test-secret-key-0123456789abcdef';

function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const { DATABASE_URL: _unused, ...rest } = process.env;
  return { ...rest, LOG_LEVEL: 'info', ACCRUE_SECRET_KEY: testSecretKey, ...env };
}

/** Starts `src/main.ts` and waits until it serves (or exits); `nodeArgs` go to node before it. */
export async function startServer(
  env: Record<string, string>,
  timeoutMs = 60_000,
  nodeArgs: string[] = [],
): Promise<ServerProcess> {
  const args = [...nodeArgs, '--import', 'tsx', 'src/main.ts'];
  return startAndWait(process.execPath, args, env, timeoutMs, 'Accrue is serving');
}

/** Starts the server as its README says, `npm start`, and waits until it serves (or exits). */
export async function startNpmStart(env: Record<string, string>, timeoutMs = 60_000): Promise<ServerProcess> {
  return startAndWait('npm', ['start'], env, timeoutMs, 'Accrue is serving');
}

/** Starts `accrue worker` (event workers, no HTTP) and waits until its workers run. */
export async function startWorkerCommand(
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<ServerProcess> {
  const args = ['--import', 'tsx', 'src/cli.ts', 'worker'];
  return startAndWait(
    process.execPath,
    args,
    env,
    timeoutMs,
    'Accrue event workers and webhook deliverer are running',
  );
}

async function startAndWait(
  command: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
  readyText: string,
): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(command, args, {
    cwd: root,
    env: childEnv({ PORT: String(port), ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + timeoutMs;
  while (!output.includes(readyText)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`server did not start (exit ${child.exitCode}):\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, port, output: () => output, exited };
}

/**
 * The pids of every process started with `name=value` in its environment (children inherit it):
 * npm, its shell, node and the embedded PostgreSQL alike. Linux only (/proc).
 */
export async function processesWithEnv(name: string, value: string): Promise<number[]> {
  const wanted = `${name}=${value}`;
  const pids = (await fs.readdir('/proc')).filter((entry) => /^\d+$/.test(entry)).map(Number);
  const found: number[] = [];
  for (const pid of pids) {
    if (pid === process.pid) continue;
    const environ = await fs.readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '');
    if (environ.split('\0').includes(wanted)) found.push(pid);
  }
  return found;
}

/**
 * Starts `src/main.ts` on `port` with the caller's environment on top of this process's (the
 * fault tests point it at their own database), and waits until /readyz answers. `onSpawn` sees the
 * child before it is ready, to collect its output from the first line.
 */
export async function spawnServer(
  port: number,
  env: Record<string, string>,
  options: { stdio?: StdioOptions; onSpawn?: (child: ChildProcess) => void; pollMs?: number } = {},
): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ACCRUE_SECRET_KEY: testSecretKey, ...env },
    stdio: options.stdio ?? ['ignore', 'ignore', 'inherit'],
  });
  options.onSpawn?.(child);
  const pollMs = options.pollMs ?? 100;
  for (let waited = 0; waited < 30_000; waited += pollMs) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return child;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  throw new Error('server did not become ready');
}

/** Runs the CLI to its end; a run past `timeoutMs` is killed and answers code null, timedOut true. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 60_000) {
  const started = performance.now();
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: root,
    env: childEnv(env),
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return {
    code: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    timedOut: result.status === null && result.signal !== null,
    seconds: (performance.now() - started) / 1000,
  };
}

/** A request to the server under test, with its key. */
export type ApiCall = (method: string, url: string, body?: unknown) => Promise<Response>;

/** A points asset and a rule crediting 10.00 per event: the effect that must happen exactly once. */
export async function createEarnRule(call: ApiCall, programId: string): Promise<string> {
  const asset = await call('POST', '/v1/assets', {
    program_id: programId,
    name: 'Points',
    symbol: 'PTS',
    inventory_mode: 'SIMPLE',
    issuance_policy: 'UNLIMITED',
    scale: 2,
  });
  const assetId = ((await asset.json()) as { id: string }).id;
  const rule = await call('POST', '/v1/rules', {
    program_id: programId,
    name: 'Earn',
    condition: 'has(event.n)',
    actions: [{ type: 'CREDIT', asset_id: assetId, amount: '10' }],
  });
  expect(rule.status).toBe(201);
  return assetId;
}
