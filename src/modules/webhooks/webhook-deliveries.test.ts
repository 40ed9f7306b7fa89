import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, type Tenant, type TestApp, testWebhookSettings } from '../../../test/harness.js';
import { buildWebhookTestApp, type Receiver, startReceiver } from '../../../test/webhook-receiver.js';
import {
  webhookAgentsMax,
  webhookInFlightPerEndpointMax,
  webhookRetryAfterMaxMs,
} from '../../platform/limits.js';
import { enqueueNotification } from '../../platform/outbox.js';
import { type AttemptOutcome, retryAfterMs, summarizeEndpoints } from './attempt-outcome.js';
import {
  type DelivererDeps,
  deliverDueWebhooks,
  fanOutOutbox,
  pruneDeliveredOutbox,
  startWebhookDeliverer,
} from './deliverer.js';
import { ConnectionPool } from './http-sender.js';
import { verifyWebhook } from './webhook-secrets.js';

let t: TestApp;
let deps: DelivererDeps;

beforeAll(async () => {
  ({ t, deps } = await buildWebhookTestApp());
});

interface Setup {
  tenant: Tenant;
  receiver: Receiver;
  endpoint: { id: string; secret: string };
}

async function setUp(enabledEvents: string[] = ['*']): Promise<Setup> {
  const tenant = await t.createOrganization();
  const receiver = await startReceiver();
  const created = await tenant.request('POST', '/v1/webhook-endpoints', {
    url: receiver.url,
    enabled_events: enabledEvents,
  });
  expect(created.statusCode).toBe(201);
  return { tenant, receiver, endpoint: created.json() };
}

async function notify(
  tenant: Tenant,
  topic = 'balance.credited',
  data: Record<string, unknown> = { amount: '1.00' },
) {
  await enqueueNotification(t.database.handle.db, {
    organizationId: tenant.organizationId,
    topic,
    payload: data,
    now: new Date(),
  });
}

async function deliveriesOf(setup: Setup) {
  const page = await setup.tenant.request('GET', `/v1/webhook-endpoints/${setup.endpoint.id}/deliveries`);
  expect(page.statusCode).toBe(200);
  return page.json().data as Record<string, unknown>[];
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Runs rounds until nothing is due or `rounds` ran, waiting `pauseMs` between them (backoff). */
async function deliverRounds(rounds: number, pauseMs = 0): Promise<void> {
  for (let round = 0; round < rounds; round += 1) {
    await deliverDueWebhooks(deps);
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}

describe('webhook delivery', () => {
  it('delivers a Standard Webhooks request that the standardwebhooks package verifies', async () => {
    const setup = await setUp();
    await notify(setup.tenant, 'balance.credited', { participant_id: 'p1', amount: '5.00' });
    await deliverRounds(1);
    expect(setup.receiver.received).toHaveLength(1);
    const [request] = setup.receiver.received;
    const headers = request?.headers as Record<string, string>;
    const body = request?.body ?? '';
    expect(new Webhook(setup.endpoint.secret).verify(body, headers)).toMatchObject({
      type: 'balance.credited',
    });
    expect(verifyWebhook(setup.endpoint.secret, headers as never, body)).toBe(true);
    expect(verifyWebhook(setup.endpoint.secret, headers as never, `${body} `)).toBe(false);
    const envelope = JSON.parse(body);
    expect(envelope).toMatchObject({
      type: 'balance.credited',
      api_version: '2026-03-01',
      organization_id: setup.tenant.organizationId,
      data: { participant_id: 'p1', amount: '5.00' },
    });
    expect(headers['webhook-id']).toBe(envelope.id);
    expect(Number(headers['webhook-timestamp'])).toBeCloseTo(Date.now() / 1000, -1);
    const [delivery] = await deliveriesOf(setup);
    expect(delivery).toMatchObject({
      status: 'DELIVERED',
      attempt_count: 1,
      max_attempts: 8,
      webhook_event_id: envelope.id,
      event_type: 'balance.credited',
      last_response_status: 200,
      resend_seq: 0,
      next_attempt_at: null,
    });
    const detail = (await setup.tenant.request('GET', `/v1/webhook-deliveries/${delivery?.id}`)).json();
    expect(detail.last_response_body).toBe('ok');
    expect(detail.payload).toEqual(envelope);
    const outbox = await sql<{ delivered_at: Date | null }>`
      select delivered_at from outbox where id = ${envelope.id}`.execute(t.database.handle.db);
    expect(outbox.rows[0]?.delivered_at).not.toBeNull();
  });

  it('sends one event to every subscribed endpoint with the same id, and skips the others', async () => {
    const setup = await setUp(['balance.credited']);
    const wildcard = await startReceiver();
    const unsubscribed = await startReceiver();
    const disabled = await startReceiver();
    await setup.tenant.request('POST', '/v1/webhook-endpoints', { url: wildcard.url, enabled_events: ['*'] });
    await setup.tenant.request('POST', '/v1/webhook-endpoints', {
      url: unsubscribed.url,
      enabled_events: ['event.failed'],
    });
    const off = (
      await setup.tenant.request('POST', '/v1/webhook-endpoints', {
        url: disabled.url,
        enabled_events: ['*'],
      })
    ).json();
    await setup.tenant.request('PATCH', `/v1/webhook-endpoints/${off.id}`, { status: 'DISABLED' });
    await notify(setup.tenant);
    await deliverRounds(1);
    expect(setup.receiver.received).toHaveLength(1);
    expect(wildcard.received).toHaveLength(1);
    expect(unsubscribed.received).toHaveLength(0);
    expect(disabled.received).toHaveLength(0);
    expect(wildcard.received[0]?.headers['webhook-id']).toBe(
      setup.receiver.received[0]?.headers['webhook-id'],
    );
  });

  it('writes no outbox row for a type no ACTIVE endpoint subscribes to', async () => {
    const setup = await setUp(['event.failed']);
    await notify(setup.tenant, 'balance.credited');
    const bare = await t.createOrganization();
    await notify(bare, 'balance.credited');
    const rows = await sql<{ count: string }>`select count(*) from outbox
      where organization_id in (${setup.tenant.organizationId}, ${bare.organizationId})`.execute(
      t.database.handle.db,
    );
    expect(rows.rows[0]?.count).toBe('0');
  });

  it('signs each attempt with the current secret: after rotation the old one no longer verifies', async () => {
    const setup = await setUp();
    const rotated = (
      await setup.tenant.request('POST', `/v1/webhook-endpoints/${setup.endpoint.id}/rotate-secret`)
    ).json();
    await notify(setup.tenant);
    await deliverRounds(1);
    const request = setup.receiver.received[0];
    const headers = request?.headers as Record<string, string>;
    expect(() => new Webhook(setup.endpoint.secret).verify(request?.body ?? '', headers)).toThrow();
    expect(new Webhook(rotated.secret).verify(request?.body ?? '', headers)).toBeTruthy();
  });

  it('retries a failing receiver with growing delays, keeping the webhook-id, then delivers', async () => {
    const setup = await setUp();
    const slower = { ...deps, retryBaseMs: 200 };
    let calls = 0;
    setup.receiver.respond((_request, response) => {
      calls += 1;
      response.statusCode = calls < 3 ? 503 : 204;
      response.end(calls < 3 ? 'busy' : '');
    });
    const delayOf = (delivery: Record<string, unknown> | undefined) =>
      Date.parse(String(delivery?.next_attempt_at)) - Date.parse(String(delivery?.last_attempt_at));
    await notify(setup.tenant);
    await deliverDueWebhooks(slower);
    const [afterFirst] = await deliveriesOf(setup);
    expect(afterFirst).toMatchObject({ status: 'PENDING', attempt_count: 1, last_response_status: 503 });
    expect(delayOf(afterFirst)).toBeGreaterThanOrEqual(150);
    expect(delayOf(afterFirst)).toBeLessThanOrEqual(250);
    await deliverDueWebhooks(slower);
    expect(setup.receiver.received).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 260));
    await deliverDueWebhooks(slower);
    const [afterSecond] = await deliveriesOf(setup);
    expect(afterSecond).toMatchObject({ status: 'PENDING', attempt_count: 2 });
    expect(delayOf(afterSecond)).toBeGreaterThanOrEqual(300);
    expect(delayOf(afterSecond)).toBeLessThanOrEqual(500);
    await new Promise((resolve) => setTimeout(resolve, 510));
    await deliverDueWebhooks(slower);
    const [done] = await deliveriesOf(setup);
    expect(done).toMatchObject({ status: 'DELIVERED', attempt_count: 3, last_response_status: 204 });
    expect(setup.receiver.received).toHaveLength(3);
    expect(new Set(setup.receiver.received.map((request) => request.headers['webhook-id'])).size).toBe(1);
  });

  it('fails after 8 attempts on 3xx, 4xx, garbage, a timeout or a refused connection; retry grants 8 more', async () => {
    const cases: [string, (response: import('node:http').ServerResponse) => void, Record<string, unknown>][] =
      [
        [
          'redirect',
          (r) => r.writeHead(302, { location: 'https://example.com' }).end(),
          { last_response_status: 302 },
        ],
        ['client error', (r) => r.writeHead(400).end('x'.repeat(10_000)), { last_response_status: 400 }],
        ['garbage', (r) => r.socket?.end('HTTP/1.1 ???\r\n\r\n'), { error_code: 'connection_failed' }],
        ['silence', () => {}, { error_code: 'consumer_response_timeout' }],
      ];
    for (const [name, answer, expected] of cases) {
      const setup = await setUp();
      setup.receiver.respond((_request, response) => answer(response));
      await notify(setup.tenant);
      for (let round = 0; round < 8; round += 1) {
        await sql`update webhook_deliveries set next_attempt_at = now() - interval '1 second'
          where organization_id = ${setup.tenant.organizationId} and status = 'PENDING'`.execute(
          t.database.handle.db,
        );
        await sql`update webhook_endpoints set circuit_broken_until = null
          where organization_id = ${setup.tenant.organizationId}`.execute(t.database.handle.db);
        await deliverRounds(1);
      }
      const [failed] = await deliveriesOf(setup);
      expect(failed, name).toMatchObject({
        status: 'FAILED',
        attempt_count: 8,
        next_attempt_at: null,
        ...expected,
      });
      expect(setup.receiver.received, name).toHaveLength(8);
      const detail = (await setup.tenant.request('GET', `/v1/webhook-deliveries/${failed?.id}`)).json();
      expect(Buffer.byteLength(detail.last_response_body ?? '')).toBeLessThanOrEqual(4096);
      if (name === 'client error') expect(detail.last_response_body).toHaveLength(4096);
      setup.receiver.respond((_request, response) => response.end('ok'));
      const retried = await setup.tenant.request('POST', `/v1/webhook-deliveries/${failed?.id}/retry`);
      expect(retried.statusCode).toBe(200);
      expect(retried.json()).toMatchObject({ status: 'PENDING', attempt_count: 0, max_attempts: 8 });
      await sql`update webhook_endpoints set circuit_broken_until = null
        where organization_id = ${setup.tenant.organizationId}`.execute(t.database.handle.db);
      await deliverRounds(1);
      const [delivered] = await deliveriesOf(setup);
      expect(delivered, name).toMatchObject({ status: 'DELIVERED', attempt_count: 1 });
      const again = await setup.tenant.request('POST', `/v1/webhook-deliveries/${failed?.id}/retry`);
      expect(again.statusCode).toBe(404);
    }
  }, 30_000);

  it('records an answer with NUL characters, and the other attempts of the round beside it', async () => {
    const setup = await setUp();
    const other = await setUp();
    setup.receiver.respond((_request, response) => response.writeHead(500).end('bad\u0000body'));
    await notify(setup.tenant);
    await notify(other.tenant);
    await deliverRounds(1);
    const [failed] = await deliveriesOf(setup);
    expect(failed).toMatchObject({ status: 'PENDING', attempt_count: 1, last_response_status: 500 });
    const detail = (await setup.tenant.request('GET', `/v1/webhook-deliveries/${failed?.id}`)).json();
    expect(detail.last_response_body).toBe('badbody');
    expect((await deliveriesOf(other))[0]).toMatchObject({ status: 'DELIVERED', attempt_count: 1 });
  });

  it('counts a refused connection as a failed attempt', async () => {
    const setup = await setUp();
    await setup.tenant.request('PATCH', `/v1/webhook-endpoints/${setup.endpoint.id}`, {
      url: 'http://127.0.0.1:1/hooks',
    });
    await notify(setup.tenant);
    await deliverRounds(1);
    const [delivery] = await deliveriesOf(setup);
    expect(delivery).toMatchObject({ status: 'PENDING', attempt_count: 1, error_code: 'connection_failed' });
    expect(String(delivery?.last_error)).toMatch(/ECONNREFUSED/);
  });

  it('opens the circuit after 5 consecutive failures and leaves the endpoint alone until it closes', async () => {
    const setup = await setUp();
    setup.receiver.respond((_request, response) => response.writeHead(500).end());
    for (let index = 0; index < 6; index += 1) await notify(setup.tenant);
    await deliverRounds(1);
    expect(setup.receiver.received).toHaveLength(6);
    const stats = (await setup.tenant.request('GET', '/v1/webhook-endpoints/delivery-stats')).json();
    expect(stats.data).toHaveLength(1);
    expect(stats.data[0]).toMatchObject({
      endpoint_id: setup.endpoint.id,
      success_24h: 0,
      fail_24h: 6,
      success_rate: 0,
      degraded: true,
      pending_count: 6,
      blocked_reason: 'circuit_broken',
    });
    expect(Date.parse(stats.data[0].circuit_broken_until)).toBeGreaterThan(Date.now() + 50_000);
    await sql`update webhook_deliveries set next_attempt_at = now() - interval '1 second'
      where organization_id = ${setup.tenant.organizationId}`.execute(t.database.handle.db);
    await deliverRounds(1);
    expect(setup.receiver.received).toHaveLength(6);
    setup.receiver.respond((_request, response) => response.end('ok'));
    await sql`update webhook_endpoints set circuit_broken_until = now() - interval '1 second'
      where id = ${setup.endpoint.id}`.execute(t.database.handle.db);
    await deliverRounds(1);
    expect(setup.receiver.received).toHaveLength(12);
    const healed = (await setup.tenant.request('GET', '/v1/webhook-endpoints/delivery-stats')).json().data[0];
    expect(healed).toMatchObject({
      success_24h: 6,
      fail_24h: 0,
      success_rate: 1,
      degraded: false,
      circuit_broken_until: null,
    });
  });

  it(`claims at most ${webhookInFlightPerEndpointMax} deliveries of one endpoint at a time, so others keep their share`, async () => {
    const busy = await setUp();
    const quiet = await setUp();
    for (let index = 0; index < webhookInFlightPerEndpointMax + 2; index += 1) await notify(busy.tenant);
    await notify(quiet.tenant);
    await deliverDueWebhooks(deps);
    expect(busy.receiver.received).toHaveLength(webhookInFlightPerEndpointMax);
    expect(quiet.receiver.received).toHaveLength(1);
    await deliverDueWebhooks(deps);
    expect(busy.receiver.received).toHaveLength(webhookInFlightPerEndpointMax + 2);
  });

  it('resends a finished delivery as a new one with resend_seq + 1, the same webhook-id', async () => {
    const setup = await setUp();
    await notify(setup.tenant);
    await fanOutOutbox(t.database.handle.db, new Date());
    const [pending] = await deliveriesOf(setup);
    const early = await setup.tenant.request('POST', `/v1/webhook-deliveries/${pending?.id}/resend`);
    expect(early.statusCode).toBe(409);
    expect(early.json().code).toBe('not_resendable');
    await deliverRounds(1);
    // The payload lives with the delivery: pruning the outbox does not stop a resend.
    await pruneDeliveredOutbox(t.database.handle.db, new Date(Date.now() + 60_000), 0);
    const resent = await setup.tenant.request('POST', `/v1/webhook-deliveries/${pending?.id}/resend`);
    expect(resent.statusCode).toBe(201);
    expect(resent.json()).toMatchObject({
      status: 'PENDING',
      resend_seq: 1,
      webhook_event_id: pending?.webhook_event_id,
    });
    expect(resent.json().id).not.toBe(pending?.id);
    const twice = await setup.tenant.request('POST', `/v1/webhook-deliveries/${pending?.id}/resend`);
    expect(twice.json().resend_seq).toBe(2);
    await deliverRounds(1);
    expect(setup.receiver.received).toHaveLength(3);
    expect(new Set(setup.receiver.received.map((request) => request.headers['webhook-id'])).size).toBe(1);
    const source = (await setup.tenant.request('GET', `/v1/webhook-deliveries/${pending?.id}`)).json();
    expect(source).toMatchObject({ status: 'DELIVERED', resend_seq: 0, attempt_count: 1 });
    await setup.tenant.request('PATCH', `/v1/webhook-endpoints/${setup.endpoint.id}`, { status: 'DISABLED' });
    const inactive = await setup.tenant.request('POST', `/v1/webhook-deliveries/${pending?.id}/resend`);
    expect(inactive.statusCode).toBe(409);
    expect(inactive.json().code).toBe('endpoint_not_active');
    await setup.tenant.request('DELETE', `/v1/webhook-endpoints/${setup.endpoint.id}`);
    const archived = await setup.tenant.request('POST', `/v1/webhook-deliveries/${pending?.id}/resend`);
    expect(archived.json().code).toBe('endpoint_not_active');
  });

  it('filters and pages deliveries, and hides every delivery from another organization', async () => {
    const setup = await setUp();
    await notify(setup.tenant);
    await notify(setup.tenant);
    await fanOutOutbox(t.database.handle.db, new Date());
    const url = `/v1/webhook-endpoints/${setup.endpoint.id}/deliveries`;
    const first = (await setup.tenant.request('GET', `${url}?limit=1`)).json();
    expect(first.data).toHaveLength(1);
    expect(first.data[0]).not.toHaveProperty('last_response_body');
    const second = (
      await setup.tenant.request('GET', `${url}?limit=1&cursor=${first.pagination.next_cursor}`)
    ).json();
    expect(second.data).toHaveLength(1);
    expect(second.data[0].id).not.toBe(first.data[0].id);
    expect((await setup.tenant.request('GET', `${url}?status=DELIVERED`)).json().data).toEqual([]);
    expect((await setup.tenant.request('GET', `${url}?status=PENDING`)).json().data).toHaveLength(2);
    expect((await setup.tenant.request('GET', `${url}?status=LOST`)).statusCode).toBe(400);
    expect((await setup.tenant.request('GET', `${url}?limit=101`)).statusCode).toBe(400);
    const stranger = await t.createOrganization();
    const id = first.data[0].id;
    for (const [method, path] of [
      ['GET', `/v1/webhook-deliveries/${id}`],
      ['POST', `/v1/webhook-deliveries/${id}/retry`],
      ['POST', `/v1/webhook-deliveries/${id}/resend`],
    ] as const) {
      const response = await stranger.request(method, path);
      expect(response.statusCode, path).toBe(404);
    }
    const strangerStats = await stranger.request('GET', '/v1/webhook-endpoints/delivery-stats');
    expect(strangerStats.json(), strangerStats.body).toEqual({ data: [] });
  });

  it('refuses at delivery time a URL whose host now resolves privately', async () => {
    const resolved = { addresses: ['93.184.215.14'] };
    const settings = testWebhookSettings([], async () => resolved.addresses);
    const strict = await buildTestApp({ webhooks: settings });
    const tenant = await strict.createOrganization();
    const created = await tenant.request('POST', '/v1/webhook-endpoints', {
      url: 'https://hooks.example.com/x',
      enabled_events: ['*'],
    });
    expect(created.statusCode).toBe(201);
    resolved.addresses = ['127.0.0.1'];
    await enqueueNotification(strict.database.handle.db, {
      organizationId: tenant.organizationId,
      topic: 'event.failed',
      payload: {},
      now: new Date(),
    });
    await deliverDueWebhooks({ ...deps, db: strict.database.handle.db, settings });
    const [delivery] = (
      await tenant.request('GET', `/v1/webhook-endpoints/${created.json().id}/deliveries`)
    ).json().data;
    expect(delivery).toMatchObject({ status: 'PENDING', attempt_count: 1, error_code: 'url_refused' });
  });

  it('prunes outbox rows fanned out longer ago than the retention, and only those', async () => {
    const setup = await setUp();
    await notify(setup.tenant);
    await fanOutOutbox(t.database.handle.db, new Date());
    await notify(setup.tenant);
    const count = async () =>
      (
        await sql<{
          count: string;
        }>`select count(*) from outbox where organization_id = ${setup.tenant.organizationId}`.execute(
          t.database.handle.db,
        )
      ).rows[0]?.count;
    await pruneDeliveredOutbox(t.database.handle.db, new Date(), 60_000);
    expect(await count()).toBe('2');
    await pruneDeliveredOutbox(t.database.handle.db, new Date(Date.now() + 120_000), 60_000);
    expect(await count()).toBe('1');
  });
});

describe('connections', () => {
  it('reuses one kept-alive connection for an endpoint between attempts', async () => {
    const setup = await setUp();
    const deliverer = startWebhookDeliverer({ ...deps, pollIntervalMs: 20 });
    try {
      for (let index = 1; index <= 3; index += 1) {
        await notify(setup.tenant);
        await waitFor(() => setup.receiver.received.length === index, 'a delivery');
      }
    } finally {
      await deliverer.stop();
    }
    const ports = setup.receiver.received.map((request) => request.remotePort);
    expect(ports[0]).toEqual(expect.any(Number));
    expect(new Set(ports).size).toBe(1);
    const delivered = await deliveriesOf(setup);
    expect(delivered.map((delivery) => delivery.status)).toEqual(['DELIVERED', 'DELIVERED', 'DELIVERED']);
  });

  it('keeps one pool per endpoint and checked address, and closes the least recently used beyond the limit', () => {
    const pool = new ConnectionPool();
    const url = new URL('https://hooks.example.com/a');
    const agentOf = (endpointId: string, address = '93.184.215.14', at = url) =>
      pool.agentFor({ endpointId, url: at, address });
    const first = agentOf('e1');
    const closed = vi.spyOn(first, 'destroy');
    expect(agentOf('e1', '93.184.215.14', new URL('https://hooks.example.com/b'))).toBe(first);
    expect(agentOf('e1', '93.184.215.15')).not.toBe(first);
    expect(agentOf('e2')).not.toBe(first);
    expect(agentOf('e1', '93.184.215.14', new URL('https://other.example.com/a'))).not.toBe(first);
    for (let index = 4; index < webhookAgentsMax; index += 1) agentOf(`filler-${index}`);
    expect(closed).not.toHaveBeenCalled();
    agentOf('one-more');
    expect(closed).toHaveBeenCalledTimes(1);
    expect(agentOf('e1')).not.toBe(first);
    pool.close();
  });
});

describe('rate limiting (429)', () => {
  it('pauses the endpoint for Retry-After seconds, without counting toward the circuit breaker', async () => {
    const setup = await setUp();
    let limited = true;
    setup.receiver.respond((_request, response) => {
      if (limited) response.writeHead(429, { 'retry-after': '30' }).end('slow down');
      else response.end('ok');
    });
    for (let index = 0; index < 6; index += 1) await notify(setup.tenant);
    const before = Date.now();
    await deliverRounds(1);
    expect(setup.receiver.received).toHaveLength(6);
    const deliveries = await deliveriesOf(setup);
    for (const delivery of deliveries) {
      expect(delivery).toMatchObject({ status: 'PENDING', attempt_count: 1, last_response_status: 429 });
      expect(Date.parse(String(delivery.next_attempt_at))).toBeGreaterThanOrEqual(before + 30_000);
    }
    const stats = (await setup.tenant.request('GET', '/v1/webhook-endpoints/delivery-stats')).json().data[0];
    expect(Date.parse(stats.rate_limited_until)).toBeGreaterThanOrEqual(before + 30_000);
    expect(Date.parse(stats.rate_limited_until)).toBeLessThanOrEqual(Date.now() + 30_000);
    expect(stats).toMatchObject({
      circuit_broken_until: null,
      blocked_reason: 'rate_limited',
      blocked_until: stats.rate_limited_until,
      degraded: true,
    });
    // Due again, but the endpoint is paused: nothing is sent, not even a new delivery.
    await sql`update webhook_deliveries set next_attempt_at = now() - interval '1 second'
      where organization_id = ${setup.tenant.organizationId}`.execute(t.database.handle.db);
    await notify(setup.tenant);
    await deliverRounds(1);
    expect(setup.receiver.received).toHaveLength(6);
    limited = false;
    await sql`update webhook_endpoints set rate_limited_until = now() - interval '1 second'
      where id = ${setup.endpoint.id}`.execute(t.database.handle.db);
    await deliverRounds(1);
    expect(setup.receiver.received).toHaveLength(13);
    const healed = (await setup.tenant.request('GET', '/v1/webhook-endpoints/delivery-stats')).json().data[0];
    expect(healed).toMatchObject({ rate_limited_until: null, blocked_reason: null, blocked_until: null });
  });

  it('without Retry-After pauses the endpoint for the retry delay', async () => {
    const setup = await setUp();
    setup.receiver.respond((_request, response) => response.writeHead(429).end());
    await notify(setup.tenant);
    await deliverDueWebhooks({ ...deps, retryBaseMs: 60_000 });
    const stats = (await setup.tenant.request('GET', '/v1/webhook-endpoints/delivery-stats')).json().data[0];
    const [delivery] = await deliveriesOf(setup);
    expect(stats.rate_limited_until).toBe(delivery?.next_attempt_at);
    expect(Date.parse(stats.rate_limited_until)).toBeGreaterThan(Date.now() + 40_000);
  });

  it('reads Retry-After as seconds or an HTTP date, at most one hour ahead', () => {
    const now = new Date('2026-03-01T10:00:00Z');
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs(' 0 ', now)).toBe(0);
    expect(retryAfterMs('Sun, 01 Mar 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Sun, 01 Mar 2026 09:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs(String(webhookRetryAfterMaxMs / 1000), now)).toBe(webhookRetryAfterMaxMs);
    expect(retryAfterMs(String(webhookRetryAfterMaxMs / 1000 + 1), now)).toBe(webhookRetryAfterMaxMs);
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs('-5', now)).toBeNull();
    expect(retryAfterMs(null, now)).toBeNull();
  });
});

describe('recording a batch of attempts', () => {
  const outcome = (endpoint: string, verdict: 'success' | 'failure' | 'rate_limited') => ({
    organization_id: 'o',
    webhook_endpoint_id: endpoint,
    verdict,
    rate_limited_until: verdict === 'rate_limited' ? new Date(1000) : null,
  });

  it('counts per endpoint the failures after its last success, leaving 429s out', () => {
    const outcomes = [
      outcome('a', 'failure'),
      outcome('a', 'success'),
      outcome('a', 'failure'),
      outcome('a', 'rate_limited'),
      outcome('b', 'failure'),
      outcome('b', 'failure'),
      outcome('c', 'success'),
    ] as AttemptOutcome[];
    expect(summarizeEndpoints(outcomes)).toEqual([
      { organization_id: 'o', id: 'a', reset: true, failures: 1, rate_limited_until: new Date(1000) },
      { organization_id: 'o', id: 'b', reset: false, failures: 2, rate_limited_until: null },
      { organization_id: 'o', id: 'c', reset: true, failures: 0, rate_limited_until: null },
    ]);
  });

  it('records the outcomes of one round in one transaction', async () => {
    const setup = await setUp();
    for (let index = 0; index < 5; index += 1) await notify(setup.tenant);
    await fanOutOutbox(t.database.handle.db, new Date());
    const xmins = async () =>
      (
        await sql<{ xmin: string }>`select xmin::text from webhook_deliveries
          where organization_id = ${setup.tenant.organizationId}`.execute(t.database.handle.db)
      ).rows.map((row) => row.xmin);
    await deliverRounds(1);
    expect(setup.receiver.received).toHaveLength(5);
    // Every delivery's final state was written by the same transaction.
    expect(new Set(await xmins()).size).toBe(1);
  });
});
