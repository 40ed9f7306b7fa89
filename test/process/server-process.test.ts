// The server and the CLI as real processes on the embedded PostgreSQL: first start, keys, SIGKILL
// and restart, a stale pid file, graceful shutdown, and invalid configuration.
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCacheTtlMs } from '../../src/platform/limits.js';
import { runCli, type ServerProcess, startServer } from './run-process.js';

let dataDir: string;
let server: ServerProcess | undefined;
let firstKey: string;

const api = (key: string, method: string, url: string, body?: unknown) =>
  fetch(`http://127.0.0.1:${server?.port}${url}`, {
    method,
    headers: { 'x-api-key': key, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });

function postmasterPid(): number {
  const file = path.join(dataDir, 'pg', 'postmaster.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : 0;
}

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'accrue-process-'));
  await fs.chmod(dataDir, 0o755);
});

afterAll(async () => {
  server?.child.kill('SIGKILL');
  const pid = postmasterPid();
  if (pid > 0) {
    try {
      process.kill(pid, 'SIGINT');
    } catch {}
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  await fs.rm(dataDir, { recursive: true, force: true });
});

describe('the server process on the embedded database', () => {
  it('starts on a fresh data directory and prints a first key once', async () => {
    server = await startServer({ ACCRUE_DATA_DIR: dataDir });
    const match = /\n {2}(sk_[A-Za-z0-9_-]{32,})\n/.exec(server.output());
    expect(match).not.toBeNull();
    firstKey = match![1]!;
    expect((await api(firstKey, 'GET', '/v1/programs')).status).toBe(200);
  });

  it('lets the CLI create, list and revoke keys while the server runs, sharing the database', async () => {
    const created = runCli(['keys', 'create', '--org', 'acme'], { ACCRUE_DATA_DIR: dataDir });
    expect(created.code).toBe(0);
    const key = created.stdout.trim().split('\n').pop()!;
    expect(key).toMatch(/^sk_/);
    expect((await api(key, 'GET', '/v1/programs')).status).toBe(200);
    const listed = runCli(['keys', 'list'], { ACCRUE_DATA_DIR: dataDir });
    expect(listed.stdout).toContain('acme');
    expect(listed.stdout).not.toContain(key);
    const id = listed.stdout
      .split('\n')
      .find((line) => line.includes('acme'))!
      .split(/\s+/)[0]!;
    expect(runCli(['keys', 'revoke', id], { ACCRUE_DATA_DIR: dataDir }).code).toBe(0);
    // The server reads keys through a cache of at most readCacheTtlMs: the revocation reaches it within that.
    expect(await statusWithin(readCacheTtlMs + 2_000, () => api(key, 'GET', '/v1/programs'), 401)).toBe(401);
    expect(runCli(['keys', 'revoke', id], { ACCRUE_DATA_DIR: dataDir }).code).toBe(1);
    expect(runCli(['keys', 'create'], { ACCRUE_DATA_DIR: dataDir }).code).toBe(2);
  });

  it("lists keys under a header row, all of them or one organization's with --org", async () => {
    const globex = runCli(['keys', 'create', '--org', 'globex'], { ACCRUE_DATA_DIR: dataDir });
    expect(globex.code).toBe(0);
    const header = /^KEY ID +PREFIX +ORGANIZATION +CREATED +STATE$/;

    const all = runCli(['keys', 'list'], { ACCRUE_DATA_DIR: dataDir }).stdout.trim().split('\n');
    expect(all[0]).toMatch(header);
    expect(all.slice(1).map((line) => line.split(/\s+/)[2])).toEqual(['default', 'acme', 'globex']);

    const one = runCli(['keys', 'list', '--org', 'globex'], { ACCRUE_DATA_DIR: dataDir });
    expect(one.code).toBe(0);
    const lines = one.stdout.trim().split('\n');
    expect(lines[0]).toMatch(header);
    expect(lines.slice(1)).toHaveLength(1);
    expect(lines[1]).toMatch(/^[0-9a-f-]{36} +sk_\S+\.\.\. +globex +\S+ +active$/);

    const unknown = runCli(['keys', 'list', '--org', 'nobody'], { ACCRUE_DATA_DIR: dataDir });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('accrue: organization "nobody" not found\n');
    const badOption = runCli(['keys', 'list', '--organisation', 'acme'], { ACCRUE_DATA_DIR: dataDir });
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toMatch(/^accrue: .*--organisation/);
  });

  it('verifies the ledger naming each organization', () => {
    const result = runCli(['ledger', 'verify'], { ACCRUE_DATA_DIR: dataDir });
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ORGANIZATION +ID +CHAIN HEAD +RESULT$/);
    const rows = lines.slice(1, -1).map((line) => line.split(/\s+/));
    expect(rows.map((row) => row[0]).sort()).toEqual(['acme', 'default', 'globex']);
    for (const row of rows) expect(row.at(-1)).toBe('ok');
    expect(lines.at(-1)).toBe('ledger verified: 3 organization(s), no difference');
  });

  it('prints its usage on --help, -h and help with exit 0, and on an unknown command with exit 2', () => {
    for (const flag of ['--help', '-h', 'help']) {
      const result = runCli([flag], { ACCRUE_DATA_DIR: dataDir });
      expect(result.code, flag).toBe(0);
      expect(result.stdout).toMatch(/^usage: accrue <command>/);
      expect(result.stderr).toBe('');
    }
    const unknown = runCli(['frobnicate'], { ACCRUE_DATA_DIR: dataDir });
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/^usage: accrue <command>/);
  });

  it('comes back after SIGKILL with the data still there', async () => {
    const program = (await (await api(firstKey, 'POST', '/v1/programs', { name: 'survives' })).json()) as {
      id: string;
    };
    server!.child.kill('SIGKILL');
    await server!.exited;
    server = await startServer({ ACCRUE_DATA_DIR: dataDir });
    expect(server.output()).not.toContain('shown only this once');
    const fetched = await api(firstKey, 'GET', `/v1/programs/${program.id}`);
    expect(fetched.status).toBe(200);
    expect(((await fetched.json()) as { name: string }).name).toBe('survives');
  });

  it('stops PostgreSQL on SIGTERM, and starts again over a stale postmaster.pid', async () => {
    const pid = postmasterPid();
    server!.child.kill('SIGTERM');
    expect(await server!.exited).toBe(0);
    expect(() => process.kill(pid, 0)).toThrow();
    await fs.writeFile(path.join(dataDir, 'pg', 'postmaster.pid'), '999999\n/x\n0\n5999\n');
    server = await startServer({ ACCRUE_DATA_DIR: dataDir });
    expect((await api(firstKey, 'GET', '/v1/programs')).status).toBe(200);
  });

  it('makes sure an organization owns ACCRUE_API_KEY', async () => {
    server!.child.kill('SIGTERM');
    await server!.exited;
    const configured = `sk_${'c'.repeat(40)}`;
    server = await startServer({ ACCRUE_DATA_DIR: dataDir, ACCRUE_API_KEY: configured });
    expect((await api(configured, 'GET', '/v1/programs')).status).toBe(200);
  });

  it('refuses to start on an invalid setting, naming it', () => {
    const result = runCli(['serve'], { ACCRUE_DATA_DIR: dataDir, PORT: 'eighty' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('PORT');
  });
});

/** Calls until the answer has the wanted status or `ms` have passed; answers the last status. */
async function statusWithin(ms: number, call: () => Promise<{ status: number }>, wanted: number) {
  const deadline = Date.now() + ms;
  let status = (await call()).status;
  while (status !== wanted && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    status = (await call()).status;
  }
  return status;
}
