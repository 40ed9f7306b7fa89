import { connect } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type Tenant, type TestApp, testWebhookSettings } from '../../../test/harness.js';
import { buildApp } from '../../app.js';
import { revokeApiKey } from '../../modules/organizations/index.js';
import { createLogger } from '../logger.js';

let t: TestApp;
let acme: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
});

/** A second app on the test database whose log lines, at trace level, are collected in `lines`. */
function buildAppLoggingTo(lines: string[]) {
  return buildApp({
    db: t.database.handle.db,
    clock: t.testClock.clock,
    logger: createLogger('trace', { write: (line: string) => lines.push(line) }),
    version: 'test',
    rateLimit: { ratePerSecond: 0, burst: 1 },
    webhooks: testWebhookSettings(),
  });
}

describe('authentication', () => {
  it('answers 401 "missing API key" without a key, with an empty one or an empty Authorization', async () => {
    for (const headers of [{}, { 'x-api-key': '' }, { 'x-api-key': '  ' }, { authorization: '' }]) {
      const response = await t.app.inject({ method: 'GET', url: '/v1/programs', headers });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({
        code: 'unauthorized',
        message: 'missing API key: send X-API-Key or Authorization: Bearer',
      });
    }
  });

  it('answers 401 "invalid or revoked" for an unknown or malformed key', async () => {
    for (const headers of [
      { 'x-api-key': `sk_${'x'.repeat(43)}` },
      { 'x-api-key': 'nope' },
      { authorization: `Bearer sk_${'x'.repeat(43)}` },
    ]) {
      const response = await t.app.inject({ method: 'GET', url: '/v1/programs', headers });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({ code: 'unauthorized', message: 'invalid or revoked API key' });
    }
  });

  it('answers 401 for an Authorization header that is not Bearer, saying how to send the key', async () => {
    for (const authorization of ['Basic abc', acme.key, 'Bearer']) {
      const response = await t.app.inject({ method: 'GET', url: '/v1/programs', headers: { authorization } });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({
        code: 'unauthorized',
        message: 'Authorization must be "Bearer <API key>"',
      });
    }
  });

  it('answers 401 when X-API-Key and Authorization: Bearer carry two different keys, even both valid', async () => {
    const other = await t.createOrganization();
    for (const bearer of [other.key, `sk_${'x'.repeat(43)}`]) {
      const response = await t.app.inject({
        method: 'GET',
        url: '/v1/programs',
        headers: { 'x-api-key': acme.key, authorization: `Bearer ${bearer}` },
      });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({
        code: 'unauthorized',
        message: 'conflicting API keys: X-API-Key and Authorization: Bearer name different keys',
      });
    }
    const same = await t.app.inject({
      method: 'GET',
      url: '/v1/programs',
      headers: { 'x-api-key': acme.key, authorization: `Bearer ${acme.key}` },
    });
    expect(same.statusCode).toBe(200);
  });

  it('accepts the key as Authorization: Bearer as well as X-API-Key', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: '/v1/programs',
      headers: { authorization: `Bearer ${acme.key}` },
    });
    expect(response.statusCode).toBe(200);
  });

  it('stops accepting a revoked key on the next request', async () => {
    const org = await t.createOrganization();
    expect((await org.request('GET', '/v1/programs')).statusCode).toBe(200);
    const [key] = (
      await t.database.handle.pool.query<{ id: string }>(
        'select id from api_keys where organization_id = $1',
        [org.organizationId],
      )
    ).rows;
    await revokeApiKey(t.database.handle.db, key!.id);
    expect((await org.request('GET', '/v1/programs')).statusCode).toBe(401);
  });

  it('stores keys only as SHA-256 hashes, never the plaintext', async () => {
    const { rows } = await t.database.handle.pool.query('select * from api_keys');
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(acme.key);
    expect(dump).not.toContain(acme.key.slice(12));
    expect(rows.every((row) => row.key_hash.length === 32)).toBe(true);
  });
});

describe('logging', () => {
  it('never writes a key to the log, even at trace level and on failed authentication', async () => {
    const lines: string[] = [];
    const app = await buildAppLoggingTo(lines);
    await app.inject({ method: 'GET', url: '/v1/programs', headers: { 'x-api-key': acme.key } });
    await app.inject({
      method: 'GET',
      url: '/v1/programs',
      headers: { authorization: `Bearer ${acme.key}` },
    });
    await app.inject({ method: 'GET', url: '/v1/programs', headers: { 'x-api-key': `${acme.key}x` } });
    await app.close();
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.join('\n')).not.toContain(acme.key);
  });
});

describe('credentials in URLs', () => {
  it('are redacted from every logged URL and from the request log, whatever the parameter is called', async () => {
    const lines: string[] = [];
    const app = await buildAppLoggingTo(lines);
    const urls = [
      `/v1/programs?api_key=${acme.key}&limit=5`,
      `/v1/programs?limit=5&x-api-key=${acme.key}`,
      `/v1/programs?access_token=opaque-token-1&limit=5`,
      `/v1/programs?k=${acme.key}`,
      `/v1/programs/${acme.key}`,
      `/healthz?apiKey=${acme.key}`,
    ];
    for (const url of urls) await app.inject({ method: 'GET', url, headers: { 'x-api-key': acme.key } });
    await app.inject({ method: 'GET', url: `/v1/programs?api_key=${acme.key}` });
    await app.close();
    const log = lines.join('\n');
    expect(log).toContain('"url":"/v1/programs?api_key=[redacted]&limit=5"');
    expect(log).toContain('"url":"/v1/programs?access_token=[redacted]&limit=5"');
    expect(log).not.toContain(acme.key);
    expect(log).not.toContain(acme.key.slice(3, 20));
    expect(log).not.toContain('opaque-token-1');
    const { rows } = await t.database.handle.pool.query<{ path: string }>(
      'select path from request_logs where organization_id = $1',
      [acme.organizationId],
    );
    const stored = JSON.stringify(rows);
    expect(stored).toContain('/v1/programs/[redacted]');
    expect(stored).not.toContain(acme.key.slice(3, 20));
  });
});

describe('query integers', () => {
  it('are decimal only: hex, exponents, spaces, signs of plus and decimals answer 400 naming the parameter', async () => {
    for (const text of ['0x10', '1e1', ' 10', '10 ', '+10', '10.0', '0b11', '']) {
      const response = await acme.request('GET', `/v1/programs?limit=${encodeURIComponent(text)}`);
      expect({ text, status: response.statusCode }).toEqual({ text, status: 400 });
      expect(response.json()).toMatchObject({
        code: 'bad_request',
        details: { field: 'limit', reason: 'invalid', expected: 'integer', received: text },
      });
    }
    const logs = await acme.request('GET', '/v1/logs?status_min=0x1F4');
    expect(logs.statusCode).toBe(400);
    expect(logs.json().details.field).toBe('status_min');
  });

  it('accept plain decimals, leading zeros included, and still apply their bounds', async () => {
    expect((await acme.request('GET', '/v1/programs?limit=10')).statusCode).toBe(200);
    expect((await acme.request('GET', '/v1/programs?limit=010')).statusCode).toBe(200);
    expect((await acme.request('GET', '/v1/programs?limit=200')).statusCode).toBe(200);
    expect((await acme.request('GET', '/v1/programs?limit=201')).statusCode).toBe(400);
    expect((await acme.request('GET', '/v1/programs?limit=0')).statusCode).toBe(400);
  });
});

/** Sends raw bytes to a listening server and answers the status and the body it wrote back. */
function sendRaw(port: number, request: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let response = '';
    socket.on('data', (chunk) => {
      response += chunk.toString();
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = response.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), body });
    });
    socket.end(request);
  });
}

describe('bad request bodies', () => {
  it('answer bad_request naming each field once, in brackets for indices, with expected and received', async () => {
    const program = (await acme.request('POST', '/v1/programs', { name: 'shape' })).json();
    const response = await acme.request('POST', '/v1/rules', {
      program_id: program.id,
      name: 42,
      condition: 'true',
      actions: [{ type: 'CREDIT', asset_id: 'not-a-uuid', amount: '1' }],
    });
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body.code).toBe('bad_request');
    expect(body.details).toMatchObject({
      field: body.details.fields[0].field,
      reason: body.details.fields[0].reason,
      message: body.details.fields[0].message,
    });
    const byField = Object.fromEntries(
      body.details.fields.map((problem: { field: string }) => [problem.field, problem]),
    );
    expect(byField.name).toMatchObject({ reason: 'invalid', expected: 'string', received: '42' });
    expect(byField['actions[0].asset_id']).toMatchObject({ reason: 'invalid', received: 'not-a-uuid' });
    expect(body.details.fields.some((problem: { field: string }) => /\.\d+(\.|$)/.test(problem.field))).toBe(
      false,
    );
  });

  it('name a missing field as required, expected present', async () => {
    const response = await acme.request('POST', '/v1/programs', {});
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      code: 'bad_request',
      details: { field: 'name', reason: 'required', expected: 'present', fields: [{ field: 'name' }] },
    });
  });
});

describe('errors raised before a route runs', () => {
  it('answer 414, 431 and 400 from the HTTP server and the router in the {code, message} envelope', async () => {
    const app = await buildAppLoggingTo([]);
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = app.server.address() as { port: number };
      const cases: [string, number, string][] = [
        [
          `GET /v1/programs HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
          431,
          'headers_too_large',
        ],
        [`GET /v1/programs?q=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431, 'headers_too_large'],
        [
          `GET /v1/programs/${'a'.repeat(101)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
          414,
          'uri_too_long',
        ],
        ['GET /v1/programs/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400, 'bad_request'],
        ['NOT HTTP AT ALL\r\n\r\n', 400, 'bad_request'],
      ];
      for (const [request, status, code] of cases) {
        const response = await sendRaw(port, request);
        expect(response.status).toBe(status);
        expect(JSON.parse(response.body)).toEqual({ code, message: expect.any(String) });
      }
    } finally {
      await app.close();
    }
  });
});

describe('request ids, probes and unknown routes', () => {
  it('gives every response its own X-Request-Id (req_...), errors included', async () => {
    const ok = await acme.request('GET', '/v1/programs');
    const failed = await t.app.inject({ method: 'GET', url: '/v1/programs' });
    expect(ok.headers['x-request-id']).toMatch(/^req_[0-9a-f]{32}$/);
    expect(failed.headers['x-request-id']).toMatch(/^req_[0-9a-f]{32}$/);
    expect(ok.headers['x-request-id']).not.toBe(failed.headers['x-request-id']);
  });

  it('answers /healthz and /readyz without a key', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await t.app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready' });
  });

  it('answers not_found in the error shape for an unknown route', async () => {
    const response = await acme.request('GET', '/v1/nothing-here');
    expect(response.statusCode).toBe(404);
    expect(response.json().code).toBe('not_found');
  });
});

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 with both security schemes and every /v1 route with its error responses', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['ApiKeyHeader', 'BearerAuth']);
    const routes = t.app
      .printRoutes({ commonPrefix: false })
      .split('\n')
      // Under the landing page's '/', the tree prints its children without their leading slash.
      .filter((line) => line.includes('v1/'));
    expect(routes.length).toBeGreaterThan(0);
    const operations = Object.entries(
      doc.paths as Record<string, Record<string, { responses: object }>>,
    ).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
    const v1 = operations.filter((operation) => operation.path.startsWith('/v1/'));
    expect(v1.map((o) => `${o.method} ${o.path}`)).toEqual(
      expect.arrayContaining([
        'post /v1/programs',
        'get /v1/programs',
        'get /v1/programs/{id}',
        'patch /v1/programs/{id}',
        'post /v1/participants',
        'get /v1/participants',
        'get /v1/participants/{id}',
        'patch /v1/participants/{id}',
        'patch /v1/participants/{id}/status',
      ]),
    );
    for (const { op } of v1)
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['400', '401', '500']));
    expect(doc.paths['/healthz'].get.security).toEqual([]);
  });

  it('serves a browsable reference at /docs', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/html');
  });
});
