// When every database connection is taken, a request waits a bounded time and then answers 503 with
// Retry-After; once connections free up, requests succeed again and no connection leaks.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type Tenant, type TestApp } from '../harness.js';

let t: TestApp;
let acme: Tenant;

beforeAll(async () => {
  t = await buildTestApp({ pool: { sizeMax: 3, waitMs: 300 } });
  acme = await t.createOrganization();
});

describe('an exhausted connection pool', () => {
  it('answers 503 service_unavailable after the bounded wait, then recovers without leaking', async () => {
    const pool = t.database.handle.pool;
    const held = await Promise.all([pool.connect(), pool.connect(), pool.connect()]);
    const started = Date.now();
    const response = await acme.request('GET', '/v1/programs');
    const waitedMs = Date.now() - started;
    expect(response.statusCode).toBe(503);
    expect(response.json().code).toBe('service_unavailable');
    expect(response.headers['retry-after']).toBe('1');
    expect(waitedMs).toBeGreaterThanOrEqual(250);
    for (const client of held) client.release();
    expect((await acme.request('GET', '/v1/programs')).statusCode).toBe(200);
    const burst = await Promise.all(Array.from({ length: 30 }, () => acme.request('GET', '/v1/programs')));
    expect(burst.every((r) => r.statusCode === 200)).toBe(true);
    expect(pool.totalCount).toBeLessThanOrEqual(3);
    expect(pool.waitingCount).toBe(0);
  });
});
