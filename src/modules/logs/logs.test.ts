import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type Tenant, type TestApp } from '../../../test/harness.js';
import { redactBody } from './logs.service.js';

let t: TestApp;
let acme: Tenant;
let other: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  other = await t.createOrganization();
});

describe('request logs', () => {
  it('records each authenticated request with its route pattern, status and error code', async () => {
    const created = await acme.request('POST', '/v1/programs', { name: 'logged' });
    const missing = await acme.request('GET', '/v1/programs/01900000-0000-7000-8000-000000000000');
    const requestId = String(missing.headers['x-request-id']);
    const list = (await acme.request('GET', '/v1/logs?limit=100')).json();
    const byRequest = list.data.find((log: { request_id: string }) => log.request_id === requestId);
    expect(byRequest).toMatchObject({
      method: 'GET',
      route_pattern: '/v1/programs/{id}',
      status_code: 404,
      error_code: 'not_found',
      auth_type: 'api_key',
    });
    expect(byRequest.duration_ms).toBeGreaterThanOrEqual(0);
    const createdLog = list.data.find(
      (log: { request_id: string }) => log.request_id === created.headers['x-request-id'],
    );
    expect(createdLog).toMatchObject({
      method: 'POST',
      route_pattern: '/v1/programs',
      status_code: 201,
      error_code: null,
    });
  });

  it('finds a log by request id with or without the req_ prefix, and shows the bodies in detail', async () => {
    const created = await acme.request('POST', '/v1/programs', { name: 'find me' });
    const requestId = String(created.headers['x-request-id']);
    for (const id of [requestId, requestId.slice(4)]) {
      const found = (await acme.request('GET', `/v1/logs?request_id=${id}`)).json().data;
      expect(found).toHaveLength(1);
      const detail = (await acme.request('GET', `/v1/logs/${found[0].id}`)).json();
      expect(JSON.parse(detail.request_body)).toEqual({ name: 'find me' });
      expect(JSON.parse(detail.response_body).name).toBe('find me');
      expect(detail.user_agent).toBeDefined();
    }
  });

  it('keeps a summary of an event batch, not its bodies: keys, counts and the failed items', async () => {
    const program = (await acme.request('POST', '/v1/programs', { name: 'batch log' })).json();
    const event = (key: string, programId: string) => ({
      program_id: programId,
      external_id: 'batch-logged',
      idempotency_key: key,
      event_timestamp: '2026-01-01T00:00:00Z',
      event_data: { type: 'purchase', amount: 12.5 },
    });
    const missingProgram = '01900000-0000-7000-8000-000000000000';
    const batch = await acme.request('POST', '/v1/events/batch', {
      events: [event('logged-1', program.id), event('logged-2', missingProgram)],
    });
    expect(batch.statusCode).toBe(202);
    const requestId = String(batch.headers['x-request-id']);
    const [found] = (await acme.request('GET', `/v1/logs?request_id=${requestId}`)).json().data;
    const detail = (await acme.request('GET', `/v1/logs/${found.id}`)).json();
    expect(JSON.parse(detail.request_body)).toEqual({
      events: 2,
      idempotency_keys: ['logged-1', 'logged-2'],
    });
    expect(JSON.parse(detail.response_body)).toEqual({
      total: 2,
      success_count: 1,
      error_count: 1,
      errors: [{ index: 1, error_code: 'not_found' }],
    });
  });

  it('never stores an API key', async () => {
    await acme.request('GET', '/v1/programs');
    await acme.request('GET', '/v1/logs');
    const { rows } = await t.database.handle.pool.query('select * from request_logs');
    expect(rows.length).toBeGreaterThan(0);
    expect(JSON.stringify(rows)).not.toContain(acme.key);
  });

  it('redacts secret-looking keys and truncates bodies to 4 KiB', () => {
    const redacted = redactBody(
      JSON.stringify({ url: 'https://x', secret: 'whsec_abc', nested: { api_key: 'sk_1' } }),
    );
    expect(JSON.parse(redacted ?? '')).toEqual({
      url: 'https://x',
      secret: '[redacted]',
      nested: { api_key: '[redacted]' },
    });
    const long = redactBody(JSON.stringify({ text: 'x'.repeat(10_000) })) ?? '';
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(4096 + 20);
    expect(long.endsWith('[truncated]')).toBe(true);
    expect(redactBody(undefined)).toBeNull();
  });

  it('filters by method, status range and route pattern, sorts and pages', async () => {
    const org = await t.createOrganization();
    for (let i = 0; i < 3; i += 1) await org.request('POST', '/v1/programs', { name: `p${i}` });
    await org.request('POST', '/v1/programs', {});
    const posts = (await org.request('GET', '/v1/logs?method=POST&status_min=200&status_max=299')).json()
      .data;
    expect(posts).toHaveLength(3);
    const errors = (await org.request('GET', '/v1/logs?status_min=400')).json().data;
    expect(errors.map((log: { error_code: string }) => log.error_code)).toEqual(['bad_request']);
    const byRoute = (
      await org.request('GET', '/v1/logs?route_pattern=/v1/programs&limit=2&sort_by=status_code&sort_dir=asc')
    ).json();
    const next = (
      await org.request(
        'GET',
        `/v1/logs?route_pattern=/v1/programs&limit=2&sort_by=status_code&sort_dir=asc&cursor=${byRoute.pagination.next_cursor}`,
      )
    ).json();
    const statuses = [...byRoute.data, ...next.data].map((log: { status_code: number }) => log.status_code);
    expect(statuses).toEqual([201, 201, 201, 400]);
  });

  it('takes limit 100 and refuses 101 (the logs page size)', async () => {
    expect((await acme.request('GET', '/v1/logs?limit=100')).statusCode).toBe(200);
    const response = await acme.request('GET', '/v1/logs?limit=101');
    expect(response.statusCode).toBe(400);
    expect(response.json().details.field).toBe('limit');
  });

  it("keeps organizations' logs apart", async () => {
    const mine = (await acme.request('GET', '/v1/logs?limit=1')).json().data[0];
    expect((await other.request('GET', `/v1/logs/${mine.id}`)).statusCode).toBe(404);
    const theirs = (await other.request('GET', '/v1/logs?limit=100')).json().data;
    expect(theirs.map((log: { id: string }) => log.id)).not.toContain(mine.id);
  });
});

describe('usage', () => {
  it('aggregates requests, errors and latency per UTC day', async () => {
    const org = await t.createOrganization();
    await org.request('GET', '/v1/programs');
    await org.request('GET', '/v1/programs/not-a-uuid');
    const usage = (await org.request('GET', '/v1/usage')).json();
    expect(usage.data).toHaveLength(1);
    expect(usage.data[0]).toMatchObject({
      date: new Date().toISOString().slice(0, 10),
      request_count: 2,
      error_count: 1,
    });
    const empty = (
      await org.request('GET', '/v1/usage?from=2020-01-01T00:00:00Z&to=2020-01-31T00:00:00Z')
    ).json();
    expect(empty).toEqual({ from: '2020-01-01T00:00:00.000Z', to: '2020-01-31T00:00:00.000Z', data: [] });
  });
});
