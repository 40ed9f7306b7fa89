// The shared test harness: a fresh database per test file (cloned from the migrated template) and
// the real app on it, driven through app.inject().
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, inject } from 'vitest';
import { buildApp } from '../src/app.js';
import { startAutomationScheduler } from '../src/modules/automations/index.js';
import { type EventWorkers, fireSystemEvents, startEventWorkers } from '../src/modules/events/index.js';
import { verifyLedger } from '../src/modules/ledger/index.js';
import { createApiKey } from '../src/modules/organizations/index.js';
import { createWebhookSettings, type Resolver, type WebhookSettings } from '../src/modules/webhooks/index.js';
import type { Clock } from '../src/platform/clock.js';
import { connect, type DatabaseHandle, type PoolSettings } from '../src/platform/db/database.js';
import type { RateLimit } from '../src/platform/http/rate-limit.js';
import { createLogger } from '../src/platform/logger.js';
import { adminQuery, withDatabase } from './global-setup.js';

// buildTestApp is called from beforeAll, where a new afterAll would not be registered; this one is,
// at import, on the test file's root suite, and runs the cleanups of every app the file built.
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

export interface TestDatabase {
  handle: DatabaseHandle;
  url: string;
}

/** A database of its own for the calling test file, dropped when the file ends. */
export async function createTestDatabase(
  pool: PoolSettings = { sizeMax: 10, waitMs: 10_000 },
): Promise<TestDatabase> {
  const adminUrl = inject('adminDatabaseUrl');
  const name = `accrue_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `create database ${name} template ${inject('templateDatabase')}`);
  const url = withDatabase(adminUrl, name);
  const handle = connect(url, pool, createLogger('silent'), async () => {
    await adminQuery(adminUrl, `drop database if exists ${name} with (force)`);
  });
  return { handle, url };
}

export interface TestClock {
  clock: Clock;
  set(time: string | Date): void;
  advance(ms: number): void;
}

/** A clock that follows real time until a test sets it. */
export function createTestClock(): TestClock {
  let fixed: Date | undefined;
  return {
    clock: () => (fixed === undefined ? new Date() : new Date(fixed)),
    set: (time) => {
      fixed = new Date(time);
    },
    advance: (ms) => {
      fixed = new Date((fixed ?? new Date()).getTime() + ms);
    },
  };
}

export interface TestApp {
  app: FastifyInstance;
  database: TestDatabase;
  testClock: TestClock;
  /** A new organization with a key; each call makes another tenant. */
  createOrganization(name?: string): Promise<Tenant>;
}

export interface Tenant {
  organizationId: string;
  key: string;
  request(method: string, url: string, body?: unknown): Promise<LightMyRequestResponse>;
}

export interface TestAppOptions {
  rateLimit?: RateLimit;
  pool?: PoolSettings;
  webhooks?: WebhookSettings;
}

/** Tests have no DNS: every name resolves to one public documentation address unless told otherwise. */
export const publicResolver: Resolver = async () => ['93.184.215.14'];

/** Webhook settings with a random key; `allowHosts` as ACCRUE_WEBHOOK_ALLOW_HOSTS would give them. */
export function testWebhookSettings(
  allowHosts: string[] = [],
  resolve: Resolver = publicResolver,
): WebhookSettings {
  return createWebhookSettings(randomBytes(32), allowHosts, resolve);
}

export async function buildTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = await createTestDatabase(options.pool);
  const testClock = createTestClock();
  const app = await buildApp({
    db: database.handle.db,
    clock: testClock.clock,
    logger: createLogger('silent'),
    version: 'test',
    rateLimit: options.rateLimit ?? { ratePerSecond: 0, burst: 1 },
    webhooks: options.webhooks ?? testWebhookSettings(),
  });
  cleanups.push(async () => {
    await app.close();
    // Whatever a test file did through the app, its ledger must still verify: every stored balance
    // equals its postings, every entry balances, the hash chain holds.
    const verified = await verifyLedger(database.handle.db, testClock.clock);
    await database.handle.close();
    if (!verified.ok)
      throw new Error(`the ledger does not verify: ${JSON.stringify(verified.reports).slice(0, 2000)}`);
  });
  return {
    app,
    database,
    testClock,
    async createOrganization(name = `org-${randomBytes(4).toString('hex')}`) {
      const created = await createApiKey(database.handle.db, name);
      return {
        organizationId: created.organizationId,
        key: created.secret,
        request: (method, url, body) =>
          app.inject({
            method: method as 'GET',
            url,
            headers: { 'x-api-key': created.secret },
            ...(body === undefined ? {} : { payload: body as object }),
          }),
      };
    },
  };
}

/**
 * Event workers on a test app's database that apply events as the server does; they poll every 50 ms.
 * Beside them runs the automation scheduler, every 50 ms, which fires the rule actions SCHEDULE_EVENT
 * and BROADCAST.
 */
export function startTestWorkers(t: TestApp, options: { workerCount?: number } = {}): EventWorkers {
  const deps = { db: t.database.handle.db, clock: t.testClock.clock };
  const workers = startEventWorkers({
    ...deps,
    connectionString: t.database.url,
    logger: createLogger('silent'),
    workerCount: options.workerCount ?? 1,
    leaseMs: 10_000,
    pollIntervalMs: 50,
  });
  const scheduler = startAutomationScheduler({
    ...deps,
    fireEvents: fireSystemEvents,
    log: createLogger('silent'),
    intervalMs: 50,
  });
  return {
    async stop() {
      await scheduler.stop();
      await workers.stop();
    },
  };
}

/**
 * Subscribes a webhook endpoint of the tenant to `events`, so that the outbox keeps their rows (it
 * writes only subscribed types). Nothing is delivered: tests run no deliverer unless they start one.
 */
export async function subscribeToWebhooks(tenant: Tenant, events: string[]): Promise<void> {
  const created = await tenant.request('POST', '/v1/webhook-endpoints', {
    url: 'https://receiver.example.com/hooks',
    enabled_events: events,
  });
  if (created.statusCode !== 201) throw new Error(`webhook endpoint not created: ${created.body}`);
}

export interface LedgerFixture {
  programId: string;
  assetId: string;
  participantId: string;
}

let fixtureCounter = 0;

/** A program, an asset linked to it and a participant enrolled in it. */
export async function createLedgerFixture(
  tenant: Tenant,
  asset: Record<string, unknown> = {},
): Promise<LedgerFixture> {
  fixtureCounter += 1;
  const programId = (
    await tenant.request('POST', '/v1/programs', { name: `program ${fixtureCounter}` })
  ).json().id;
  const created = await tenant.request('POST', '/v1/assets', {
    program_id: programId,
    name: 'Points',
    symbol: `P${fixtureCounter}${randomBytes(3).toString('hex')}`,
    inventory_mode: 'SIMPLE',
    issuance_policy: 'UNLIMITED',
    scale: 2,
    ...asset,
  });
  const participant = await tenant.request('POST', '/v1/participants', {
    external_id: `user-${fixtureCounter}-${randomBytes(3).toString('hex')}`,
    program_id: programId,
  });
  return { programId, assetId: created.json().id, participantId: participant.json().id };
}
