// Keys named __proto__ or constructor are refused wherever a name enters, with a 400 naming the key:
// as a JavaScript object key they would be stored and then not read back.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, createLedgerFixture, type Tenant, type TestApp } from '../../../test/harness.js';

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

/** Sends the body as written: a JavaScript object literal would turn "__proto__" into a prototype. */
function sendRaw(method: 'POST' | 'PUT' | 'PATCH', url: string, json: string) {
  return t.app.inject({
    method,
    url,
    headers: { 'x-api-key': acme.key, 'content-type': 'application/json' },
    payload: json,
  });
}

type Response = Awaited<ReturnType<typeof sendRaw>>;

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
    const event = {
      program_id: programId,
      external_id: 'user-1',
      idempotency_key: `reserved-${name}`,
      event_timestamp: '2024-01-15T10:30:00Z',
    };
    const eventJson = JSON.stringify(event).replace(/}$/, `,"event_data":{"cart":[{"${name}":1}]}}`);
    expectReserved(await sendRaw('POST', '/v1/events', eventJson), `event_data.cart[0].${name}`);
    expect((await acme.request('GET', '/v1/events')).json().data).toEqual([]);
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
    expect((await acme.request('GET', '/v1/rules')).json().data).toEqual([]);
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
