import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type Tenant, type TestApp } from '../../../test/harness.js';

let t: TestApp;
let acme: Tenant;
let other: Tenant;
let programId: string;
let otherProgramId: string;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  other = await t.createOrganization();
  programId = (await acme.request('POST', '/v1/programs', { name: 'Loyalty' })).json().id;
  otherProgramId = (await other.request('POST', '/v1/programs', { name: 'Theirs' })).json().id;
});

let keySeq = 0;
function eventBody(overrides: Record<string, unknown> = {}) {
  keySeq += 1;
  return {
    program_id: programId,
    external_id: 'user_abc123',
    idempotency_key: `order-${keySeq}-completed`,
    event_timestamp: '2024-01-15T10:30:00Z',
    event_data: { amount: 1.5, sku: 'A-1' },
    ...overrides,
  };
}

async function countEvents(organizationId: string): Promise<number> {
  const result = await sql<{ count: string }>`
    select count(*)::text as count from events where organization_id = ${organizationId}`.execute(
    t.database.handle.db,
  );
  return Number(result.rows[0]?.count);
}

describe('POST /v1/events', () => {
  it('accepts an event with 202 and stores it PENDING', async () => {
    const body = eventBody();
    const response = await acme.request('POST', '/v1/events', body);
    expect(response.statusCode).toBe(202);
    const accepted = response.json();
    expect(accepted).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      program_id: programId,
      participant_id: null,
      external_id: 'user_abc123',
      idempotency_key: body.idempotency_key,
      event_timestamp: '2024-01-15T10:30:00.000Z',
      status: 'PENDING',
    });
    const stored = (await acme.request('GET', `/v1/events/${accepted.id}`)).json();
    expect(stored).toMatchObject({
      id: accepted.id,
      event_type: 'EXTERNAL',
      event_data: body.event_data,
      status: 'PENDING',
      error_message: null,
      processed_at: null,
      recipient_id: null,
      rule_evaluations: [],
    });
    expect(Date.parse(stored.received_at)).not.toBeNaN();
    expect(Date.parse(stored.created_at)).not.toBeNaN();
    expect(Date.parse(stored.updated_at)).not.toBeNaN();
  });

  it('answers a client retry with the original event, even with reordered keys and 1.50 for 1.5', async () => {
    const body = eventBody({ event_data: { amount: 1.5, nested: { b: 2, a: 1 } } });
    const first = (await acme.request('POST', '/v1/events', body)).json();
    const before = await countEvents(acme.organizationId);
    const payload = `{"event_data":{"nested":{"a":1,"b":2},"amount":1.50},"event_timestamp":"2024-01-15T10:30:00.000Z","idempotency_key":"${body.idempotency_key}","external_id":"user_abc123","program_id":"${programId}"}`;
    const replay = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'x-api-key': acme.key, 'content-type': 'application/json' },
      payload,
    });
    expect(replay.statusCode).toBe(202);
    expect(replay.json()).toEqual(first);
    expect(await countEvents(acme.organizationId)).toBe(before);
  });

  it('same key with a different payload answers 409 idempotency_conflict', async () => {
    const body = eventBody();
    await acme.request('POST', '/v1/events', body);
    const response = await acme.request('POST', '/v1/events', { ...body, event_data: { amount: 2 } });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toMatchObject({
      code: 'idempotency_conflict',
      details: { field: 'idempotency_key' },
    });
  });

  it('scopes idempotency keys to the program', async () => {
    const second = (await acme.request('POST', '/v1/programs', { name: 'Second' })).json().id;
    const body = eventBody();
    const a = (await acme.request('POST', '/v1/events', body)).json();
    const b = (await acme.request('POST', '/v1/events', { ...body, program_id: second })).json();
    expect(a.id).not.toBe(b.id);
  });

  it('answers 404 for an unknown program and for another organization’s program', async () => {
    for (const id of ['0190a1b2-0000-7000-8000-000000000009', otherProgramId]) {
      const response = await acme.request('POST', '/v1/events', eventBody({ program_id: id }));
      expect(response.statusCode).toBe(404);
      expect(response.json()).toMatchObject({ code: 'not_found', details: { field: 'program_id' } });
    }
  });

  it('answers 409 program_inactive for a SUSPENDED or ARCHIVED program', async () => {
    for (const status of ['SUSPENDED', 'ARCHIVED']) {
      const id = (await acme.request('POST', '/v1/programs', { name: status })).json().id;
      await acme.request('PATCH', `/v1/programs/${id}`, { status });
      const response = await acme.request('POST', '/v1/events', eventBody({ program_id: id }));
      expect(response.statusCode).toBe(409);
      expect(response.json()).toMatchObject({ code: 'program_inactive' });
      expect(response.json().message).toContain(status);
    }
  });

  it('still answers a replay with the original event after its program was suspended', async () => {
    const id = (await acme.request('POST', '/v1/programs', { name: 'Soon suspended' })).json().id;
    const body = eventBody({ program_id: id });
    const original = (await acme.request('POST', '/v1/events', body)).json();
    await acme.request('PATCH', `/v1/programs/${id}`, { status: 'SUSPENDED' });
    const replay = await acme.request('POST', '/v1/events', body);
    expect(replay.statusCode).toBe(202);
    expect(replay.json()).toEqual(original);
    const changed = await acme.request('POST', '/v1/events', { ...body, event_data: { other: true } });
    expect(changed.json().code).toBe('idempotency_conflict');
    const fresh = await acme.request('POST', '/v1/events', eventBody({ program_id: id }));
    expect(fresh.json().code).toBe('program_inactive');
  });

  it('needs exactly one of external_id and participant_id, and at most one recipient', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ participant_id: '0190a1b2-0000-7000-8000-000000000001' }, 'external_id'],
      [{ external_id: undefined }, 'external_id'],
      [
        {
          recipient_id: '0190a1b2-0000-7000-8000-000000000001',
          recipient_external_id: 'friend',
        },
        'recipient_id',
      ],
    ];
    for (const [overrides, field] of cases) {
      const response = await acme.request('POST', '/v1/events', eventBody(overrides));
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ code: 'bad_request', details: { field } });
    }
  });

  it('accepts an idempotency_key of 255 characters and refuses 256 or an empty one', async () => {
    expect(
      (await acme.request('POST', '/v1/events', eventBody({ idempotency_key: 'k'.repeat(255) }))).statusCode,
    ).toBe(202);
    for (const key of ['k'.repeat(256), '']) {
      const response = await acme.request('POST', '/v1/events', eventBody({ idempotency_key: key }));
      expect(response.statusCode).toBe(400);
      expect(response.json().details.field).toBe('idempotency_key');
    }
  });

  it('accepts an external_id and a recipient_external_id of 255 characters and refuses 256', async () => {
    for (const field of ['external_id', 'recipient_external_id']) {
      expect(
        (await acme.request('POST', '/v1/events', eventBody({ [field]: 'e'.repeat(255) }))).statusCode,
      ).toBe(202);
      const response = await acme.request('POST', '/v1/events', eventBody({ [field]: 'e'.repeat(256) }));
      expect(response.statusCode).toBe(400);
      expect(response.json().details.field).toBe(field);
    }
  });

  it('accepts event_data of 64 KiB serialized and refuses one byte more', async () => {
    const filler = (size: number) => ({ f: 'x'.repeat(size - '{"f":""}'.length) });
    const exact = await acme.request('POST', '/v1/events', eventBody({ event_data: filler(64 * 1024) }));
    expect(exact.statusCode).toBe(202);
    const over = await acme.request('POST', '/v1/events', eventBody({ event_data: filler(64 * 1024 + 1) }));
    expect(over.statusCode).toBe(400);
    expect(over.json()).toMatchObject({
      code: 'bad_request',
      details: { field: 'event_data', reason: 'too_large' },
    });
  });

  it('refuses a timestamp that is not RFC 3339, event_data that is not an object, and unknown fields', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ event_timestamp: '2024-01-15 10:30' }, 'event_timestamp'],
      [{ event_timestamp: '2024-01-15T10:30:00' }, 'event_timestamp'],
      [{ event_data: [1, 2] }, 'event_data'],
      [{ event_data: undefined }, 'event_data'],
      [{ program_id: 'not-a-uuid' }, 'program_id'],
      [{ colour: 'red' }, 'colour'],
    ];
    for (const [overrides, field] of cases) {
      const response = await acme.request('POST', '/v1/events', eventBody(overrides));
      expect(response.statusCode, field).toBe(400);
      expect(response.json().details.fields.map((f: { field: string }) => f.field)).toContain(field);
    }
  });

  it('answers 401 without a key', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/v1/events', payload: eventBody() });
    expect(response.statusCode).toBe(401);
  });
});

describe('POST /v1/events/batch', () => {
  it('answers the seed 004 request with a per-item error for an item naming two participants', async () => {
    const response = await acme.request('POST', '/v1/events/batch', {
      events: [
        {
          event_data: {},
          event_timestamp: '2024-01-15T10:30:00Z',
          idempotency_key: 'order-12345-completed',
          program_id: programId,
          external_id: 'user_abc123',
          participant_id: '550e8400-e29b-41d4-a716-446655440000',
          recipient_external_id: 'user_xyz789',
          recipient_id: '550e8400-e29b-41d4-a716-446655440001',
        },
      ],
    });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({
      total: 1,
      success_count: 0,
      error_count: 1,
      results: [
        {
          index: 0,
          status: 'error',
          error: expect.stringContaining('exactly one of external_id or participant_id'),
          error_code: 'bad_request',
        },
      ],
    });
  });

  it('validates each item on its own and keeps the input order', async () => {
    const good = eventBody();
    const conflicting = eventBody();
    await acme.request('POST', '/v1/events', conflicting);
    const response = await acme.request('POST', '/v1/events/batch', {
      events: [
        good,
        { ...eventBody(), event_timestamp: 'yesterday' },
        eventBody({ program_id: otherProgramId }),
        good,
        { ...good, event_data: { amount: 99 } },
        { ...conflicting, event_data: { changed: true } },
        42,
        eventBody({ external_id: 'user_xyz789' }),
      ],
    });
    expect(response.statusCode).toBe(202);
    const result = response.json();
    expect(result).toMatchObject({ total: 8, success_count: 3, error_count: 5 });
    expect(result.results.map((r: { index: number }) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(result.results.map((r: { status: string }) => r.status)).toEqual([
      'accepted',
      'error',
      'error',
      'accepted',
      'error',
      'error',
      'error',
      'accepted',
    ]);
    expect(result.results.map((r: { error_code?: string }) => r.error_code)).toEqual([
      undefined,
      'bad_request',
      'not_found',
      undefined,
      'idempotency_conflict',
      'idempotency_conflict',
      'bad_request',
      undefined,
    ]);
    expect(result.results[2].error).toContain('invalid program_id');
    expect(result.results[3].event.id).toBe(result.results[0].event.id);
    expect(result.results[7].event).toMatchObject({ external_id: 'user_xyz789', status: 'PENDING' });
  });

  it('accepts 100 events and refuses 101 or none with 400, storing nothing', async () => {
    const before = await countEvents(acme.organizationId);
    const hundred = Array.from({ length: 100 }, () => eventBody());
    const ok = await acme.request('POST', '/v1/events/batch', { events: hundred });
    expect(ok.statusCode).toBe(202);
    expect(ok.json()).toMatchObject({ total: 100, success_count: 100, error_count: 0 });
    expect(await countEvents(acme.organizationId)).toBe(before + 100);
    for (const events of [[...hundred.map(() => eventBody()), eventBody()], []]) {
      const response = await acme.request('POST', '/v1/events/batch', { events });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ code: 'bad_request', details: { field: 'events' } });
    }
    expect(await countEvents(acme.organizationId)).toBe(before + 100);
  });

  it('answers 413 payload_too_large for a body over 1 MiB and stores nothing', async () => {
    const before = await countEvents(acme.organizationId);
    const events = Array.from({ length: 20 }, () => eventBody({ event_data: { f: 'x'.repeat(60 * 1024) } }));
    const response = await acme.request('POST', '/v1/events/batch', { events });
    expect(response.statusCode).toBe(413);
    expect(response.json().code).toBe('payload_too_large');
    expect(await countEvents(acme.organizationId)).toBe(before);
  });

  it('stores every event once when 20 clients send the same batch at the same time', async () => {
    const events = Array.from({ length: 50 }, (_, i) => eventBody({ external_id: `crowd-${i % 7}` }));
    const before = await countEvents(acme.organizationId);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => acme.request('POST', '/v1/events/batch', { events })),
    );
    const idLists = responses.map((response) => {
      expect(response.statusCode).toBe(202);
      expect(response.json()).toMatchObject({ success_count: 50, error_count: 0 });
      return response.json().results.map((r: { event: { id: string } }) => r.event.id);
    });
    for (const ids of idLists) expect(ids).toEqual(idLists[0]);
    expect(new Set(idLists[0]).size).toBe(50);
    expect(await countEvents(acme.organizationId)).toBe(before + 50);
  });

  it('refuses a body without events or with unknown fields', async () => {
    for (const body of [{}, { events: [eventBody()], extra: 1 }, { events: 'x' }]) {
      const response = await acme.request('POST', '/v1/events/batch', body);
      expect(response.statusCode).toBe(400);
      expect(response.json().code).toBe('bad_request');
    }
  });
});

describe('GET /v1/events', () => {
  let listProgram: string;
  const ids: string[] = [];

  beforeAll(async () => {
    listProgram = (await acme.request('POST', '/v1/programs', { name: 'Listing' })).json().id;
    const times = ['2024-03-01T00:00:00Z', '2024-01-01T00:00:00Z', '2024-02-01T00:00:00Z'];
    for (const [i, time] of times.entries()) {
      t.testClock.set(`2025-0${i + 1}-01T00:00:00Z`);
      const body = eventBody({
        program_id: listProgram,
        external_id: `lister-${i % 2}`,
        event_timestamp: time,
      });
      ids.push((await acme.request('POST', '/v1/events', body)).json().id);
    }
    t.testClock.set(new Date());
  });

  const list = async (query: string) => {
    const response = await acme.request('GET', `/v1/events?program_id=${listProgram}&${query}`);
    expect(response.statusCode).toBe(200);
    return response.json();
  };
  const idsOf = (page: { data: { id: string }[] }) => page.data.map((event) => event.id);

  it('lists newest created first, and sorts by event_timestamp or status on request', async () => {
    expect(idsOf(await list(''))).toEqual([ids[2], ids[1], ids[0]]);
    expect(idsOf(await list('sort_by=event_timestamp&sort_dir=asc'))).toEqual([ids[1], ids[2], ids[0]]);
    expect(idsOf(await list('sort_by=status'))).toHaveLength(3);
  });

  it('filters by created_at with from/to and by event_timestamp with event_from/event_to, combined with AND', async () => {
    expect(idsOf(await list('from=2025-02-01T00:00:00Z'))).toEqual([ids[2], ids[1]]);
    expect(idsOf(await list('to=2025-01-31T00:00:00Z'))).toEqual([ids[0]]);
    expect(idsOf(await list('event_from=2024-02-01T00:00:00Z'))).toEqual([ids[2], ids[0]]);
    expect(idsOf(await list('event_to=2024-01-15T00:00:00Z'))).toEqual([ids[1]]);
    expect(idsOf(await list('from=2025-02-01T00:00:00Z&event_from=2024-02-01T00:00:00Z'))).toEqual([ids[2]]);
  });

  it('filters by status, event_type, external_id, participant_id and rule_id', async () => {
    expect(idsOf(await list('status=PENDING'))).toHaveLength(3);
    expect(idsOf(await list('status=COMPLETED'))).toEqual([]);
    expect(idsOf(await list('status=RECEIVED'))).toEqual([]);
    expect(idsOf(await list('event_type=EXTERNAL'))).toHaveLength(3);
    expect(idsOf(await list('event_type=SYSTEM'))).toEqual([]);
    expect(idsOf(await list('external_id=lister-0'))).toEqual([ids[2], ids[0]]);
    expect(idsOf(await list('participant_id=0190a1b2-0000-7000-8000-000000000001'))).toEqual([]);
    expect(idsOf(await list('rule_id=0190a1b2-0000-7000-8000-000000000001'))).toEqual([]);
  });

  it('pages with a cursor without duplicates or gaps, and refuses a tampered cursor', async () => {
    const first = await list('limit=2');
    expect(first.pagination.has_more).toBe(true);
    const second = await list(`limit=2&cursor=${first.pagination.next_cursor}`);
    expect([...idsOf(first), ...idsOf(second)]).toEqual([ids[2], ids[1], ids[0]]);
    expect(second.pagination).toEqual({ has_more: false, next_cursor: null });
    const bad = await acme.request('GET', '/v1/events?cursor=bm9wZQ');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('invalid_cursor');
  });

  it('accepts a limit of 200 and refuses 201 or an unknown status', async () => {
    expect((await acme.request('GET', '/v1/events?limit=200')).statusCode).toBe(200);
    expect((await acme.request('GET', '/v1/events?limit=201')).statusCode).toBe(400);
    expect((await acme.request('GET', '/v1/events?status=DONE')).statusCode).toBe(400);
  });

  it('never shows another organization’s events', async () => {
    const theirs = await other.request('GET', `/v1/events?program_id=${listProgram}`);
    expect(theirs.json().data).toEqual([]);
    const one = await other.request('GET', `/v1/events/${ids[0]}`);
    expect(one.statusCode).toBe(404);
    expect(one.json().code).toBe('not_found');
  });
});

describe('GET /v1/events/{id}', () => {
  it('answers the event with rule_evaluations, with or without include_skipped', async () => {
    const id = (await acme.request('POST', '/v1/events', eventBody())).json().id;
    for (const query of ['', '?include_skipped=true']) {
      const response = await acme.request('GET', `/v1/events/${id}${query}`);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ id, rule_evaluations: [] });
    }
  });

  it('answers 404 for an unknown id and 400 for a malformed one', async () => {
    expect((await acme.request('GET', '/v1/events/0190a1b2-0000-7000-8000-00000000000f')).statusCode).toBe(
      404,
    );
    expect((await acme.request('GET', '/v1/events/nope')).statusCode).toBe(400);
  });
});

describe('POST /v1/events/{id}/retry', () => {
  it('answers 409 conflict for an event that is not FAILED and 404 for another organization', async () => {
    const id = (await acme.request('POST', '/v1/events', eventBody())).json().id;
    const response = await acme.request('POST', `/v1/events/${id}/retry`);
    expect(response.statusCode).toBe(409);
    expect(response.json()).toMatchObject({ code: 'conflict', details: { status: 'PENDING' } });
    expect((await other.request('POST', `/v1/events/${id}/retry`)).statusCode).toBe(404);
  });
});

describe('GET /v1/participants/{id}/activity/events', () => {
  it('lists the participant’s events with the fields of seed 002, including events not yet resolved', async () => {
    const participant = (
      await acme.request('POST', '/v1/participants', { external_id: 'activity-user' })
    ).json();
    const body = eventBody({ external_id: 'activity-user' });
    const accepted = (await acme.request('POST', '/v1/events', body)).json();
    const response = await acme.request('GET', `/v1/participants/${participant.id}/activity/events`);
    expect(response.statusCode).toBe(200);
    const page = response.json();
    expect(page.pagination).toEqual({ has_more: false, next_cursor: null });
    expect(page.data).toHaveLength(1);
    expect(Object.keys(page.data[0]).sort()).toEqual(
      [
        'created_at',
        'error_message',
        'event_data',
        'event_timestamp',
        'event_type',
        'external_id',
        'id',
        'idempotency_key',
        'participant_id',
        'processed_at',
        'program_id',
        'received_at',
        'recipient_id',
        'skipped_error_count',
        'status',
        'updated_at',
      ].sort(),
    );
    expect(page.data[0]).toMatchObject({
      id: accepted.id,
      external_id: 'activity-user',
      event_data: body.event_data,
    });
  });

  it('filters by program_id, status and both time windows', async () => {
    const participant = (
      await acme.request('POST', '/v1/participants', { external_id: 'filter-user' })
    ).json();
    await acme.request(
      'POST',
      '/v1/events',
      eventBody({ external_id: 'filter-user', event_timestamp: '2020-01-01T00:00:00Z' }),
    );
    const url = `/v1/participants/${participant.id}/activity/events`;
    const count = async (query: string) => (await acme.request('GET', `${url}?${query}`)).json().data.length;
    expect(await count(`program_id=${programId}`)).toBe(1);
    expect(await count(`program_id=${otherProgramId}`)).toBe(0);
    expect(await count('status=PENDING')).toBe(1);
    expect(await count('status=FAILED')).toBe(0);
    expect(await count('event_from=2020-01-01T00:00:00Z&event_to=2020-01-02T00:00:00Z')).toBe(1);
    expect(await count('event_from=2021-01-01T00:00:00Z')).toBe(0);
    expect(await count('from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z')).toBe(1);
    expect(await count('to=2000-01-01T00:00:00Z')).toBe(0);
    expect(await count('limit=1')).toBe(1);
    expect((await acme.request('GET', `${url}?limit=0`)).statusCode).toBe(400);
    expect((await acme.request('GET', `${url}?status=RECEIVED`)).statusCode).toBe(400);
  });

  it('answers 404 for an unknown participant and for another organization’s participant', async () => {
    const participant = (
      await acme.request('POST', '/v1/participants', { external_id: 'private-user' })
    ).json();
    const theirs = await other.request('GET', `/v1/participants/${participant.id}/activity/events`);
    expect(theirs.statusCode).toBe(404);
    const unknown = await acme.request(
      'GET',
      '/v1/participants/0190a1b2-0000-7000-8000-00000000000e/activity/events',
    );
    expect(unknown.statusCode).toBe(404);
  });
});

describe('OpenAPI', () => {
  it('documents every event route with its schemas', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const paths = Object.keys(response.json().paths);
    for (const path of [
      '/v1/events',
      '/v1/events/batch',
      '/v1/events/{id}',
      '/v1/events/{id}/retry',
      '/v1/participants/{id}/activity/events',
    ]) {
      expect(paths).toContain(path);
    }
  });
});
