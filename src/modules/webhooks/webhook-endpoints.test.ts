import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type Tenant, type TestApp, testWebhookSettings } from '../../../test/harness.js';
import {
  webhookEndpointsPerOrganizationMax,
  webhookPageSizeMax,
  webhookUrlLengthMax,
} from '../../platform/limits.js';
import type { Resolver } from './url-safety.js';

let t: TestApp;
let acme: Tenant;
let other: Tenant;

// Names resolve as a fake DNS says; unknown names do not resolve.
const dns: Record<string, string[]> = {
  'hooks.example.com': ['93.184.215.14'],
  'dual.example.com': ['93.184.215.14', '2606:2800:220:1:248:1893:25c8:1946'],
  'rebind.example.com': ['93.184.215.14', '10.0.0.7'],
  'private.example.com': ['192.168.1.20'],
  'loopback6.example.com': ['::1'],
  'mapped.example.com': ['::ffff:127.0.0.1'],
  'metadata.example.com': ['169.254.169.254'],
  'receiver.corp': ['10.1.2.3'],
};
const fakeResolver: Resolver = async (host) => dns[host] ?? [];

beforeAll(async () => {
  t = await buildTestApp({ webhooks: testWebhookSettings(['receiver.corp'], fakeResolver) });
  acme = await t.createOrganization();
  other = await t.createOrganization();
});

const create = (tenant: Tenant, body: Record<string, unknown> = {}) =>
  tenant.request('POST', '/v1/webhook-endpoints', {
    url: 'https://hooks.example.com/accrue',
    enabled_events: ['balance.credited'],
    ...body,
  });

describe('webhook endpoints', () => {
  it('creates an endpoint with a whsec_ secret shown once and stored only encrypted', async () => {
    const response = await create(acme, { description: 'ERP', metadata: { team: 'billing' } });
    expect(response.statusCode).toBe(201);
    const endpoint = response.json();
    expect(endpoint).toMatchObject({
      url: 'https://hooks.example.com/accrue',
      description: 'ERP',
      enabled_events: ['balance.credited'],
      metadata: { team: 'billing' },
      status: 'ACTIVE',
    });
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(endpoint.secret.slice(6), 'base64')).toHaveLength(32);
    const read = await acme.request('GET', `/v1/webhook-endpoints/${endpoint.id}`);
    expect(read.json()).toEqual({ ...endpoint, secret: undefined });
    expect(read.json()).not.toHaveProperty('secret');
    const stored = await sql<{ secret_ciphertext: string }>`
      select secret_ciphertext from webhook_endpoints where id = ${endpoint.id}`.execute(
      t.database.handle.db,
    );
    expect(stored.rows[0]?.secret_ciphertext).toMatch(/^v1:/);
    expect(stored.rows[0]?.secret_ciphertext).not.toContain(endpoint.secret.slice(6, 20));
  });

  it('rotating the secret returns a new one and keeps the endpoint', async () => {
    const endpoint = (await create(acme)).json();
    const rotated = await acme.request('POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`);
    expect(rotated.statusCode).toBe(200);
    expect(rotated.json().secret).toMatch(/^whsec_/);
    expect(rotated.json().secret).not.toBe(endpoint.secret);
    expect(rotated.json().id).toBe(endpoint.id);
  });

  it('updates fields partially, replacing enabled_events and metadata', async () => {
    const endpoint = (await create(acme, { metadata: { a: 1 } })).json();
    const patched = await acme.request('PATCH', `/v1/webhook-endpoints/${endpoint.id}`, {
      enabled_events: ['*'],
      metadata: { b: 2 },
      status: 'DISABLED',
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({
      enabled_events: ['*'],
      metadata: { b: 2 },
      status: 'DISABLED',
      url: endpoint.url,
    });
    const cleared = await acme.request('PATCH', `/v1/webhook-endpoints/${endpoint.id}`, {
      description: null,
    });
    expect(cleared.json().description).toBeNull();
  });

  it('archives on delete: the endpoint leaves the listing and answers 404', async () => {
    const endpoint = (await create(acme)).json();
    const deleted = await acme.request('DELETE', `/v1/webhook-endpoints/${endpoint.id}`);
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json().status).toBe('ARCHIVED');
    expect((await acme.request('GET', `/v1/webhook-endpoints/${endpoint.id}`)).statusCode).toBe(404);
    expect((await acme.request('DELETE', `/v1/webhook-endpoints/${endpoint.id}`)).statusCode).toBe(404);
    const listed = (await acme.request('GET', '/v1/webhook-endpoints?limit=100')).json();
    expect(listed.data.map((row: { id: string }) => row.id)).not.toContain(endpoint.id);
  });

  it('lists newest first with a status filter and pages of at most 100', async () => {
    const tenant = await t.createOrganization();
    const first = (await create(tenant)).json();
    const second = (await create(tenant)).json();
    await tenant.request('PATCH', `/v1/webhook-endpoints/${first.id}`, { status: 'DISABLED' });
    const page = (await tenant.request('GET', '/v1/webhook-endpoints?limit=1')).json();
    expect(page.data.map((row: { id: string }) => row.id)).toEqual([second.id]);
    expect(page.data[0]).not.toHaveProperty('secret');
    const next = (
      await tenant.request('GET', `/v1/webhook-endpoints?limit=1&cursor=${page.pagination.next_cursor}`)
    ).json();
    expect(next.data.map((row: { id: string }) => row.id)).toEqual([first.id]);
    expect(next.pagination.has_more).toBe(false);
    const disabled = (await tenant.request('GET', '/v1/webhook-endpoints?status=DISABLED')).json();
    expect(disabled.data.map((row: { id: string }) => row.id)).toEqual([first.id]);
    expect(
      (await tenant.request('GET', `/v1/webhook-endpoints?limit=${webhookPageSizeMax}`)).statusCode,
    ).toBe(200);
    expect(
      (await tenant.request('GET', `/v1/webhook-endpoints?limit=${webhookPageSizeMax + 1}`)).statusCode,
    ).toBe(400);
    expect((await tenant.request('GET', '/v1/webhook-endpoints?status=ARCHIVED')).statusCode).toBe(400);
  });

  it("answers 404 for another organization's endpoint on every route", async () => {
    const endpoint = (await create(acme)).json();
    const base = `/v1/webhook-endpoints/${endpoint.id}`;
    for (const [method, url, body] of [
      ['GET', base],
      ['PATCH', base, { description: 'x' }],
      ['DELETE', base],
      ['POST', `${base}/rotate-secret`],
      ['GET', `${base}/deliveries`],
    ] as const) {
      const response = await other.request(method, url, body);
      expect(response.statusCode, `${method} ${url}`).toBe(404);
      expect(response.json().code).toBe('not_found');
    }
    const listed = (await other.request('GET', '/v1/webhook-endpoints')).json();
    expect(listed.data).toEqual([]);
  });

  it('refuses empty, unknown or repeated enabled_events', async () => {
    for (const enabled_events of [[], ['balance.teleported'], ['*', '*']]) {
      const response = await create(acme, { enabled_events });
      expect(response.statusCode).toBe(400);
      expect(response.json().code).toBe('bad_request');
    }
  });

  it(`accepts a URL of ${webhookUrlLengthMax} characters and refuses one more`, async () => {
    const base = 'https://hooks.example.com/';
    const at = `${base}${'a'.repeat(webhookUrlLengthMax - base.length)}`;
    expect((await create(acme, { url: at })).statusCode).toBe(201);
    const over = await create(acme, { url: `${at}a` });
    expect(over.statusCode).toBe(400);
    expect(over.json().details.field).toBe('url');
  });

  it.each([
    ['http://hooks.example.com/x', 'not_https'],
    ['ftp://hooks.example.com/x', 'not_https'],
    ['not a url', 'invalid'],
    ['https://user:pw@hooks.example.com/x', 'invalid'],
    ['https://nowhere.example.com/x', 'unresolvable'],
    ['https://private.example.com/x', 'private_address'],
    ['https://rebind.example.com/x', 'private_address'],
    ['https://loopback6.example.com/x', 'private_address'],
    ['https://mapped.example.com/x', 'private_address'],
    ['https://metadata.example.com/x', 'private_address'],
    ['https://localhost/x', 'private_address'],
    ['https://printer.local/x', 'private_address'],
    ['https://api.internal/x', 'private_address'],
    ['https://127.0.0.1/x', 'private_address'],
    ['https://10.0.0.1/x', 'private_address'],
    ['https://[::1]/x', 'private_address'],
    ['https://[fd00::1]/x', 'private_address'],
  ])('refuses %s with reason %s', async (url, reason) => {
    const response = await create(acme, { url });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'bad_request', details: { field: 'url', reason } });
  });

  it('accepts hosts resolving only to public addresses, IPv6 included', async () => {
    expect((await create(acme, { url: 'https://dual.example.com/x' })).statusCode).toBe(201);
    expect((await create(acme, { url: 'https://93.184.215.14/x' })).statusCode).toBe(201);
  });

  it('lets an allow-listed host use a private address and plain http', async () => {
    expect((await create(acme, { url: 'http://receiver.corp/x' })).statusCode).toBe(201);
    const patched = await acme.request('PATCH', `/v1/webhook-endpoints/${(await create(acme)).json().id}`, {
      url: 'https://private.example.com/x',
    });
    expect(patched.statusCode).toBe(400);
    expect(patched.json().details.reason).toBe('private_address');
  });

  it('a resolver that never answers counts as unresolvable', async () => {
    const slow = await buildTestApp({
      webhooks: testWebhookSettings([], () => new Promise(() => {})),
    });
    const tenant = await slow.createOrganization();
    // A first request readies the app (seconds on a loaded machine), so the bound below measures the
    // resolver's timeout alone.
    await slow.app.inject({ method: 'GET', url: '/healthz' });
    const started = Date.now();
    const response = await create(tenant);
    expect(response.json().details.reason).toBe('unresolvable');
    expect(Date.now() - started).toBeLessThan(10_000);
    // The bound above is the check; the whole test also builds an app of its own, which took over
    // 10 s on a CI run with two test files at a time, so its limit is wider than the default.
  }, 60_000);

  it(`allows ${webhookEndpointsPerOrganizationMax} live endpoints per organization and refuses one more`, async () => {
    const tenant = await t.createOrganization();
    for (let index = 0; index < webhookEndpointsPerOrganizationMax; index += 1) {
      expect((await create(tenant)).statusCode).toBe(201);
    }
    const over = await create(tenant);
    expect(over.statusCode).toBe(409);
    expect(over.json().code).toBe('conflict');
  });
});
