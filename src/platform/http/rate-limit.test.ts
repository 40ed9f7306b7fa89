import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type Tenant, type TestApp, testWebhookSettings } from '../../../test/harness.js';
import { buildApp } from '../../app.js';
import { createApiKey } from '../../modules/organizations/index.js';
import { rateLimitBucketsMax } from '../limits.js';
import { createLogger } from '../logger.js';
import { TokenBuckets } from './rate-limit.js';

let t: TestApp;
let acme: Tenant;

// Slow enough that no token comes back while a test runs, however loaded the machine is.
const rateLimit = { ratePerSecond: 0.01, burst: 3 };

beforeAll(async () => {
  t = await buildTestApp({ rateLimit });
  acme = await t.createOrganization();
});

describe('rate limiting per organization', () => {
  it('lets a burst through with the X-RateLimit headers, then answers 429 with Retry-After', async () => {
    const remaining: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const response = await acme.request('GET', '/v1/programs');
      expect(response.statusCode).toBe(200);
      expect(response.headers['x-ratelimit-limit']).toBe('3');
      expect(Number(response.headers['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000 - 1);
      remaining.push(String(response.headers['x-ratelimit-remaining']));
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const limited = await acme.request('GET', '/v1/programs');
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe('too_many_requests');
    expect(limited.headers['retry-after']).toBe('100');
    expect(limited.headers['x-ratelimit-remaining']).toBe('0');
  });

  it('refills over time', async () => {
    const refilling = await buildApp({
      db: t.database.handle.db,
      clock: t.testClock.clock,
      logger: createLogger('silent'),
      version: 'test',
      rateLimit: { ratePerSecond: 1, burst: 1 },
      webhooks: testWebhookSettings(),
    });
    const org = await createApiKey(t.database.handle.db, 'refilling');
    const call = () =>
      refilling.inject({ method: 'GET', url: '/v1/programs', headers: { 'x-api-key': org.secret } });
    expect((await call()).statusCode).toBe(200);
    expect((await call()).statusCode).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await call()).statusCode).toBe(200);
    await refilling.close();
  });

  it('shares one bucket between the keys of an organization; each server process has its own', async () => {
    const first = await createApiKey(t.database.handle.db, 'shared-bucket');
    const second = await createApiKey(t.database.handle.db, 'shared-bucket');
    const otherProcess = await buildApp({
      db: t.database.handle.db,
      clock: t.testClock.clock,
      logger: createLogger('silent'),
      version: 'test',
      rateLimit,
      webhooks: testWebhookSettings(),
    });
    const call = (app: typeof otherProcess, key: string) =>
      app.inject({ method: 'GET', url: '/v1/programs', headers: { 'x-api-key': key } });
    const here = [first.secret, second.secret, first.secret, second.secret];
    const statuses = [];
    for (const key of here) statuses.push((await call(t.app, key)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect((await call(otherProcess, first.secret)).statusCode).toBe(200);
    await otherProcess.close();
  });

  it('keeps organizations apart: one at its limit does not limit another', async () => {
    const busy = await t.createOrganization();
    const quiet = await t.createOrganization();
    for (let i = 0; i < 4; i += 1) await busy.request('GET', '/v1/programs');
    expect((await busy.request('GET', '/v1/programs')).statusCode).toBe(429);
    expect((await quiet.request('GET', '/v1/programs')).statusCode).toBe(200);
  });
});

describe('token buckets in memory', () => {
  const limit = { ratePerSecond: 1, burst: 1 };

  it('keeps rateLimitBucketsMax organizations, and forgets the least recently used at one more', () => {
    const buckets = new TokenBuckets(limit);
    for (let i = 0; i < rateLimitBucketsMax; i += 1) expect(buckets.take(`org-${i}`, 0).allowed).toBe(true);
    expect(buckets.take('org-0', 0).allowed).toBe(false);
    expect(buckets.take('org-1', 0).allowed).toBe(false);
    expect(buckets.take('one-more', 0).allowed).toBe(true);
    expect(buckets.take('org-2', 0).allowed).toBe(true);
    expect(buckets.take('org-0', 0).allowed).toBe(false);
  });

  it('refills at the rate up to the burst, by the clock it is given', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 2, burst: 3 });
    for (let i = 0; i < 3; i += 1) expect(buckets.take('org', 0).allowed).toBe(true);
    expect(buckets.take('org', 0).allowed).toBe(false);
    expect(buckets.take('org', 499).allowed).toBe(false);
    expect(buckets.take('org', 1_000).allowed).toBe(true);
    expect(buckets.take('org', 60_000)).toEqual({ tokens: 2, allowed: true });
  });
});
