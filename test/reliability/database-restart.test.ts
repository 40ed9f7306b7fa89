// The database restarts under a running server process: while it is down, requests answer 503 with
// Retry-After (never hang); afterwards the server has reconnected by itself and nothing was lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type ServerProcess, startServer } from '../process/run-process.js';
import { type DedicatedPostgres, startDedicatedPostgres } from './dedicated-postgres.js';

let database: DedicatedPostgres;
let server: ServerProcess;
let key: string;

beforeAll(async () => {
  database = await startDedicatedPostgres();
  const env = { DATABASE_URL: database.connectionString, ACCRUE_POOL_WAIT_MS: '2000' };
  key = runCli(['keys', 'create', '--org', 'restart-test'], env).stdout.trim().split('\n').pop() ?? '';
  server = await startServer(env);
});

afterAll(async () => {
  if (server?.child.exitCode !== null)
    process.stdout.write(`server exited:\n${server?.output().slice(-3000)}\n`);
  server?.child.kill('SIGKILL');
  await database?.stop();
});

interface Body {
  id: string;
  code: string;
  data: { id: string }[];
  pagination: { has_more: boolean; next_cursor: string };
}

async function call(method: string, url: string, body?: unknown) {
  const response = await fetch(`http://127.0.0.1:${server.port}${url}`, {
    method,
    headers: { 'x-api-key': key, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(15_000),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as Body,
  };
}

describe('a database restart under load', () => {
  it('answers 200 or 503 with Retry-After throughout, reconnects, and keeps every acknowledged write', async () => {
    const acknowledged: string[] = [];
    const statuses = new Map<number, number>();
    let running = true;
    const load = (async () => {
      for (let i = 0; running; i += 1) {
        const response = await call('POST', '/v1/programs', { name: `load ${i}` });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status === 201) acknowledged.push(response.body.id);
        else {
          expect(response.status).toBe(503);
          expect(response.retryAfter).toBe('1');
          expect(response.body.code).toBe('service_unavailable');
        }
      }
    })();
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await database.restart();
      await new Promise((resolve) => setTimeout(resolve, 1000));
    } finally {
      running = false;
      await load;
    }
    expect(statuses.get(201)).toBeGreaterThan(0);
    const after = await call('GET', '/v1/programs?limit=200&include_archived=true');
    expect(after.status).toBe(200);
    const stored = new Set(after.body.data.map((p) => p.id));
    let page = after.body;
    while (page.pagination.has_more) {
      page = (await call('GET', `/v1/programs?limit=200&cursor=${page.pagination.next_cursor}`)).body;
      for (const p of page.data) stored.add(p.id);
    }
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
    process.stdout.write(
      `database restart: responses by status ${JSON.stringify(Object.fromEntries(statuses))}\n`,
    );
  });
});
