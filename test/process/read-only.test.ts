// A read-only API process for a report replica (ACCRUE_READ_ONLY=true), run as a real server on a
// database that a primary process migrated and wrote: it migrates nothing and starts on a current
// schema only, answers reads, reports and CSV exports, refuses every write with 503 read_only without
// touching the database, serves its metrics, and its database sessions refuse a write by themselves.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { connect } from '../../src/platform/db/database.js';
import { createLogger } from '../../src/platform/logger.js';
import {
  buildTestApp,
  createLedgerFixture,
  type LedgerFixture,
  type Tenant,
  type TestApp,
  testWebhookSettings,
} from '../harness.js';
import { runCli, type ServerProcess, startServer } from './run-process.js';

let t: TestApp;
let acme: Tenant;
let fixture: LedgerFixture;
let replica: ServerProcess;
/** The ids of the requests the replica answered, none of which may be logged in request_logs. */
const requestIds: string[] = [];

const readOnlyEnv = () => ({ ACCRUE_READ_ONLY: 'true', DATABASE_URL: t.database.url, ACCRUE_WORKERS: '2' });

async function call(method: string, url: string, body?: unknown): Promise<Response> {
  const response = await fetch(`http://127.0.0.1:${replica.port}${url}`, {
    method,
    headers: { 'x-api-key': acme.key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  requestIds.push(response.headers.get('x-request-id') ?? '');
  return response;
}

async function countRows(table: string): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(
    t.database.handle.db,
  );
  return Number(rows[0]?.n);
}

beforeAll(async () => {
  // The primary's side: a program, an asset, a participant and a credit, through the full API.
  t = await buildTestApp();
  acme = await t.createOrganization();
  fixture = await createLedgerFixture(acme);
  const credit = await acme.request('POST', `/v1/participants/${fixture.participantId}/balances/adjust`, {
    program_id: fixture.programId,
    asset_id: fixture.assetId,
    type: 'CREDIT',
    amount: '12.50',
    description: 'welcome',
  });
  expect(credit.statusCode, credit.body).toBe(200);
  replica = await startServer(readOnlyEnv());
}, 120_000);

afterAll(async () => {
  if (replica?.child.exitCode === null) replica.child.kill('SIGTERM');
  await replica?.exited;
});

describe('a read-only process (ACCRUE_READ_ONLY=true)', () => {
  it('says on start that it serves read-only', () => {
    expect(replica.output()).toContain('Accrue is serving read-only (ACCRUE_READ_ONLY)');
    expect(replica.output()).not.toContain('migrations applied');
  });

  it('answers reads, reports and CSV exports', async () => {
    const balances = await call('GET', `/v1/participants/${fixture.participantId}/balances`);
    expect(balances.status).toBe(200);
    expect(JSON.stringify(await balances.json())).toContain('"available":"12.50"');
    const csv = await call('GET', '/v1/journal-entries?format=csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(await csv.text()).toContain('12.50');
    const summary = await call('GET', '/v1/reports/ledger-summary');
    expect(summary.status).toBe(200);
    const validated = await call('POST', '/v1/rules/validate', { condition: 'event.amount > 10' });
    expect(validated.status).toBe(200);
    expect(await validated.json()).toMatchObject({ valid: true });
  });

  it('refuses every write with 503 read_only before it reads the body or the key', async () => {
    const before = await countRows('programs');
    const writes: [string, string, unknown][] = [
      ['POST', '/v1/programs', { name: 'Written on a replica' }],
      ['PATCH', `/v1/programs/${fixture.programId}`, { name: 'Renamed' }],
      ['POST', `/v1/participants/${fixture.participantId}/balances/adjust`, { type: 'CREDIT' }],
      ['DELETE', `/v1/participants/${fixture.participantId}/state/tags/vip`, undefined],
      ['POST', '/v1/events', 'not even JSON'],
    ];
    for (const [method, url, body] of writes) {
      const response = await call(method, url, body);
      expect(response.status, `${method} ${url}`).toBe(503);
      const refusal = (await response.json()) as { code: string; message: string };
      expect(refusal.code).toBe('read_only');
      expect(refusal.message).toContain('send writes to a process on the primary database');
    }
    const anonymous = await fetch(`http://127.0.0.1:${replica.port}/v1/programs`, { method: 'POST' });
    expect(anonymous.status).toBe(503);
    expect(await countRows('programs')).toBe(before);
    const renamed = await call('GET', `/v1/programs/${fixture.programId}`);
    expect(((await renamed.json()) as { name: string }).name).not.toBe('Renamed');
  });

  it('answers 503 read_only to a read that must write first (the integrity report seals)', async () => {
    const integrity = await call('GET', '/v1/reports/integrity');
    expect(integrity.status).toBe(503);
    expect(((await integrity.json()) as { code: string }).code).toBe('read_only');
  });

  it('answers 404 to an unknown URL, whatever its method', async () => {
    expect((await call('POST', '/v1/no-such-thing', {})).status).toBe(404);
  });

  it('serves its metrics and its probes', async () => {
    const metrics = await fetch(`http://127.0.0.1:${replica.port}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('accrue_http_request_duration_seconds');
    expect((await fetch(`http://127.0.0.1:${replica.port}/readyz`)).status).toBe(200);
  });

  it('refuses to start on a schema behind its version, and applies no migration', async () => {
    const { rows } = await sql<{ version: string }>`
      delete from schema_migrations
      where version = (select max(version) from schema_migrations) returning version`.execute(
      t.database.handle.db,
    );
    const latest = rows[0]?.version ?? '';
    try {
      const stale = await startServer(readOnlyEnv()).then(
        () => 'started',
        (error: Error) => error.message,
      );
      expect(stale).toContain('exit 1');
      expect(stale).toContain(
        `ACCRUE_READ_ONLY: the database lacks 1 migration(s) of this version (${latest})`,
      );
      expect(stale).toContain('run `accrue migrate` on the primary');
      const { rows: after } = await sql<{ n: string }>`
        select count(*) as n from schema_migrations where version = ${latest}`.execute(t.database.handle.db);
      expect(after[0]?.n).toBe('0');
    } finally {
      await sql`insert into schema_migrations (version) values (${latest})`.execute(t.database.handle.db);
    }
  });

  it('runs no worker or other writing command', () => {
    for (const args of [['worker'], ['migrate'], ['keys', 'create', '--org', 'x']]) {
      const result = runCli(args, readOnlyEnv());
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toContain(`accrue: ${args.slice(0, 2).join(' ')} writes to the database`);
      expect(result.stderr).toContain('ACCRUE_READ_ONLY=true allows only `accrue serve`');
    }
  });
});

describe('a read-only process that stops', () => {
  it('exits 0 on SIGTERM and has written no request log (its shutdown flushes them)', async () => {
    replica.child.kill('SIGTERM');
    expect(await replica.exited).toBe(0);
    expect(requestIds.length).toBeGreaterThan(5);
    const { rows } = await sql<{ n: string }>`
      select count(*) as n from request_logs where request_id = any(${requestIds})`.execute(
      t.database.handle.db,
    );
    expect(rows[0]?.n).toBe('0');
  });
});

describe('a read-only database session', () => {
  it('refuses a write in PostgreSQL, which the API answers 503 read_only, nothing written', async () => {
    const pool = { sizeMax: 2, waitMs: 5000, readOnly: true };
    const session = connect(t.database.url, pool, createLogger('silent'), async () => {});
    try {
      await expect(
        sql`insert into schema_migrations (version) values ('x')`.execute(session.db),
      ).rejects.toThrow('cannot execute INSERT in a read-only transaction');
      // An app without the API's refusal, on read-only sessions: the database still refuses.
      const app = await buildApp({
        db: session.db,
        clock: () => new Date(),
        logger: createLogger('silent'),
        version: 'test',
        rateLimit: { ratePerSecond: 0, burst: 1 },
        webhooks: testWebhookSettings(),
      });
      const before = await countRows('programs');
      const response = await app.inject({
        method: 'POST',
        url: '/v1/programs',
        headers: { 'x-api-key': acme.key },
        payload: { name: 'Slipped through' },
      });
      expect(response.statusCode).toBe(503);
      expect(response.json().code).toBe('read_only');
      expect(await countRows('programs')).toBe(before);
      await app.close();
    } finally {
      await session.close();
    }
  });
});
