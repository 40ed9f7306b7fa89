// What the API refuses in the values it is sent, wherever they enter: timestamps PostgreSQL cannot
// store (400 naming the field, never a 500; in a batch only that item fails), and keys named
// __proto__ or constructor, which as JavaScript object keys would be stored and not read back.
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, createLedgerFixture, type Tenant, type TestApp } from '../../../test/harness.js';

const unstorable = [
  ['a leap second', '2016-12-31T23:59:60Z'],
  ['year 0000', '0000-06-01T00:00:00Z'],
  ['an offset that carries the instant before year 0001', '0001-01-01T00:00:00+01:00'],
  ['an offset that carries the instant past year 9999', '9999-12-31T23:00:00-05:00'],
] as const;

let t: TestApp;
let acme: Tenant;
let programId: string;
let participantId: string;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  const fixture = await createLedgerFixture(acme);
  programId = fixture.programId;
  participantId = fixture.participantId;
});

let keySeq = 0;
function eventBody(eventTimestamp: string) {
  keySeq += 1;
  return {
    program_id: programId,
    external_id: 'user-1',
    idempotency_key: `key-${keySeq}`,
    event_timestamp: eventTimestamp,
    event_data: {},
  };
}

async function countEvents(): Promise<number> {
  const result = await sql<{ count: string }>`
    select count(*)::text as count from events where organization_id = ${acme.organizationId}`.execute(
    t.database.handle.db,
  );
  return Number(result.rows[0]?.count);
}

type Response = Awaited<ReturnType<Tenant['request']>>;

function expectBadField(response: Response, field: string) {
  expect(response.statusCode).toBe(400);
  expect(response.json().code).toBe('bad_request');
  const { fields } = response.json().details as { fields: { field: string; reason: string }[] };
  expect(fields).toContainEqual(expect.objectContaining({ field, reason: 'invalid' }));
}

describe.each(unstorable)('a timestamp with %s (%s)', (_label, text) => {
  it('answers 400 naming event_timestamp on POST /v1/events and stores nothing', async () => {
    const before = await countEvents();
    expectBadField(await acme.request('POST', '/v1/events', eventBody(text)), 'event_timestamp');
    expect(await countEvents()).toBe(before);
  });

  it('fails only its own item in a batch', async () => {
    const before = await countEvents();
    const response = await acme.request('POST', '/v1/events/batch', {
      events: [eventBody('2024-01-15T10:30:00Z'), eventBody(text), eventBody('2024-01-15T10:31:00+02:00')],
    });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ total: 3, success_count: 2, error_count: 1 });
    const [first, bad, last] = response.json().results;
    expect(first.status).toBe('accepted');
    expect(bad).toMatchObject({ index: 1, status: 'error', error_code: 'bad_request' });
    expect(bad.error).toContain('event_timestamp');
    expect(last.status).toBe('accepted');
    expect(await countEvents()).toBe(before + 2);
  });

  it('answers 400 naming earned_from and earned_to on a hold', async () => {
    for (const field of ['earned_from', 'earned_to']) {
      const response = await acme.request('POST', `/v1/participants/${participantId}/balances/hold`, {
        program_id: programId,
        asset_id: participantId,
        amount: '1',
        reference_id: 'order-1',
        [field]: text,
      });
      expectBadField(response, field);
    }
  });

  it('answers 400 naming expires_at and matures_at of a credit, which also take durations', async () => {
    const lot = await createLedgerFixture(acme, { inventory_mode: 'LOT' });
    for (const field of ['expires_at', 'matures_at']) {
      const response = await acme.request('POST', `/v1/participants/${lot.participantId}/balances/adjust`, {
        program_id: lot.programId,
        asset_id: lot.assetId,
        type: 'CREDIT',
        amount: '1',
        description: 'bonus',
        [field]: text,
      });
      expectBadField(response, field);
    }
    const balances = await acme.request('GET', `/v1/participants/${lot.participantId}/balances`);
    expect(balances.json().data).toEqual([]);
  });

  it('answers 400 naming active_from and active_to of a rule, on create and on update', async () => {
    const rule = {
      program_id: programId,
      name: 'r',
      condition: 'true',
      actions: [{ type: 'TAG', tag: 'x' }],
    };
    const created = await acme.request('POST', '/v1/rules', rule);
    expect(created.statusCode).toBe(201);
    for (const field of ['active_from', 'active_to']) {
      expectBadField(await acme.request('POST', '/v1/rules', { ...rule, [field]: text }), field);
      expectBadField(await acme.request('PATCH', `/v1/rules/${created.json().id}`, { [field]: text }), field);
    }
    const stored = await acme.request('GET', `/v1/rules/${created.json().id}`);
    expect(stored.json()).toMatchObject({ active_from: null, active_to: null });
  });

  it('answers 400 naming the parameter of every from, to and as_of filter', async () => {
    const q = encodeURIComponent(text);
    const cases: [string, string][] = [
      [`/v1/events?from=${q}`, 'from'],
      [`/v1/events?event_to=${q}`, 'event_to'],
      [`/v1/participants?to=${q}`, 'to'],
      [`/v1/participants/${participantId}/activity/history?from=${q}`, 'from'],
      [`/v1/participants/${participantId}/statement?to=${q}`, 'to'],
      [`/v1/participants/${participantId}/balances/lots?expires_before=${q}`, 'expires_before'],
      [`/v1/logs?from=${q}`, 'from'],
      [`/v1/usage?to=${q}`, 'to'],
      [`/v1/reports/liability?as_of=${q}`, 'as_of'],
      [`/v1/reports/ledger-summary?from=${q}&to=2024-01-01T00:00:00Z`, 'from'],
      [`/v1/reports/liability-rollforward?from=2024-01-01T00:00:00Z&to=${q}`, 'to'],
    ];
    for (const [url, field] of cases) {
      expectBadField(await acme.request('GET', url), field);
    }
  });
});

describe('timestamps that can be stored', () => {
  it('accepts the first and last instants of years 0001-9999 and offsets that stay inside them', async () => {
    for (const text of ['0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z', '9999-12-31T23:00:00+05:00']) {
      const response = await acme.request('POST', '/v1/events', eventBody(text));
      expect(response.statusCode).toBe(202);
      const stored = await acme.request('GET', `/v1/events/${response.json().id}`);
      expect(new Date(stored.json().event_timestamp).getTime()).toBe(
        Date.parse(text === '9999-12-31T23:00:00+05:00' ? '9999-12-31T18:00:00Z' : text),
      );
    }
  });
});

/** Sends the body as written: a JavaScript object literal would turn "__proto__" into a prototype. */
function sendRaw(method: 'POST' | 'PUT' | 'PATCH', url: string, json: string) {
  return t.app.inject({
    method,
    url,
    headers: { 'x-api-key': acme.key, 'content-type': 'application/json' },
    payload: json,
  });
}

function expectReserved(response: Response, field: string) {
  expect(response.statusCode).toBe(400);
  const body = response.json();
  expect(body.code).toBe('bad_request');
  expect(body.details.field).toBe(field);
  expect(body.message).toContain(`${field} is a reserved name`);
}

describe.each(['__proto__', 'constructor'])('the name %s', (name) => {
  it('answers 400 naming the key as a key of a body, at any depth, and creates nothing', async () => {
    const externalId = `reserved-${name}`;
    expectReserved(
      await sendRaw(
        'POST',
        '/v1/participants',
        `{"external_id":"${externalId}","attributes":{"${name}":"x"}}`,
      ),
      `attributes.${name}`,
    );
    const listed = await acme.request('GET', `/v1/participants?external_id=${externalId}`);
    expect(listed.json().data).toEqual([]);
    expectReserved(
      await sendRaw('POST', '/v1/programs', `{"name":"p","${name}":{"prototype":{"admin":true}}}`),
      name,
    );
    const before = await countEvents();
    const { event_data: _, ...event } = eventBody('2024-01-15T10:30:00Z');
    const eventJson = JSON.stringify(event).replace(/}$/, `,"event_data":{"cart":[{"${name}":1}]}}`);
    expectReserved(await sendRaw('POST', '/v1/events', eventJson), `event_data.cart[0].${name}`);
    expect(await countEvents()).toBe(before);
  });

  it('fails only its own item in a batch, as do characters PostgreSQL cannot store', async () => {
    const before = await countEvents();
    // Each item with its own idempotency key; event_data written as raw JSON.
    const item = (eventData: string) =>
      JSON.stringify(eventBody('2024-01-15T10:30:00Z')).replace(
        '"event_data":{}',
        `"event_data":${eventData}`,
      );
    const items = [item(`{"${name}":1}`), item('{}'), item('{"note":"a\\u0000b"}')];
    const response = await sendRaw('POST', '/v1/events/batch', `{"events":[${items.join(',')}]}`);
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ total: 3, success_count: 1, error_count: 2 });
    const [reserved, accepted, nul] = response.json().results;
    expect(reserved).toMatchObject({ status: 'error', error_code: 'bad_request' });
    expect(reserved.error).toContain(`event_data.${name} is a reserved name`);
    expect(accepted.status).toBe('accepted');
    expect(nul).toMatchObject({ status: 'error', error_code: 'bad_request' });
    expect(nul.error).toContain('event_data.note');
    expect(await countEvents()).toBe(before + 1);
    const nested = await sendRaw('POST', '/v1/events/batch', `{"events":[],"${name}":1}`);
    expectReserved(nested, name);
  });

  it('answers 400 as the name of a counter or an attribute, and stores nothing', async () => {
    const base = `/v1/participants/${participantId}/state`;
    expectReserved(await sendRaw('PUT', `${base}/counters/${name}`, '{"value":"1"}'), 'key');
    expectReserved(await sendRaw('PUT', `${base}/attributes/${name}`, '{"value":"x"}'), 'key');
    expect((await acme.request('GET', `${base}/counters`)).json().data).toEqual([]);
    expect((await acme.request('GET', `${base}/attributes`)).json().data).toEqual([]);
    const participant = (await acme.request('GET', `/v1/participants/${participantId}`)).json();
    expect(participant).toMatchObject({ counters: {}, attributes: {} });
  });

  it('answers 400 as the key of a COUNTER or SET_ATTRIBUTE action, a SET_TIER tier or a tier', async () => {
    const rule = (action: object) => ({
      program_id: programId,
      name: 'r',
      condition: 'true',
      actions: [action],
    });
    const rulesBefore = (await acme.request('GET', '/v1/rules')).json().data;
    for (const action of [
      { type: 'COUNTER', key: name, value: '1' },
      { type: 'SET_ATTRIBUTE', key: name, value: '"x"' },
    ]) {
      expectReserved(await acme.request('POST', '/v1/rules', rule(action)), 'actions[0].key');
    }
    expectReserved(
      await acme.request('POST', '/v1/rules', rule({ type: 'SET_TIER', tier: name, level: 'gold' })),
      'actions[0].tier',
    );
    expect((await acme.request('GET', '/v1/rules')).json().data).toEqual(rulesBefore);
    // A tier key is lower-case letters, digits and _ from a letter, so __proto__ fails that first.
    const tier = await acme.request('POST', `/v1/programs/${programId}/tiers`, {
      key: name,
      levels: [{ key: 'l', rank: 1 }],
    });
    expect(tier.statusCode).toBe(400);
    expect(tier.json().details.field).toBe('key');
    expect((await acme.request('GET', `/v1/programs/${programId}/tiers`)).json().data).toEqual([]);
  });
});

describe('names close to the reserved ones', () => {
  it('are ordinary names: a counter proto and an attribute Constructor are stored and read back', async () => {
    const base = `/v1/participants/${participantId}/state`;
    expect((await acme.request('PUT', `${base}/counters/proto`, { value: '2' })).statusCode).toBe(200);
    expect((await acme.request('PUT', `${base}/attributes/Constructor`, { value: 'x' })).statusCode).toBe(
      200,
    );
    const participant = (await acme.request('GET', `/v1/participants/${participantId}`)).json();
    expect(participant.counters).toEqual({ proto: '2' });
    expect(participant.attributes).toEqual({ Constructor: 'x' });
  });
});
