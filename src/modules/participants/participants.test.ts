import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type Tenant, type TestApp } from '../../../test/harness.js';

let t: TestApp;
let acme: Tenant;
let other: Tenant;
let programId: string;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  other = await t.createOrganization();
  programId = (await acme.request('POST', '/v1/programs', { name: 'Loyalty' })).json().id;
});

const seedBody = () => ({
  external_id: 'user_abc123',
  attributes: { plan: 'premium', region: 'us-east' },
  program_id: programId,
  status: 'ACTIVE',
  tags: ['vip'],
});

describe('POST /v1/participants', () => {
  it('creates a participant as seed 001 shows (201), then upserts the same external_id (200)', async () => {
    const created = await acme.request('POST', '/v1/participants', seedBody());
    expect(created.statusCode).toBe(201);
    const participant = created.json();
    expect(participant).toMatchObject({
      external_id: 'user_abc123',
      attributes: { plan: 'premium', region: 'us-east' },
      status: 'ACTIVE',
      tags: ['vip'],
      balances: [],
      counters: {},
      tiers: {},
      program_ids: [programId],
    });
    expect(typeof participant.created_at).toBe('string');
    const again = await acme.request('POST', '/v1/participants', {
      external_id: 'user_abc123',
      attributes: { tier_hint: 'x' },
      tags: ['VIP', 'Early'],
    });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({
      id: participant.id,
      attributes: { plan: 'premium', region: 'us-east', tier_hint: 'x' },
      tags: ['vip', 'early'],
      program_ids: [programId],
    });
  });

  it('shows every profile field, null when unset, in the detail, the list and the lookup', async () => {
    const created = await acme.request('POST', '/v1/participants', {
      external_id: 'profile-nulls',
      phone: '+1 555',
    });
    const unset = { email: null, first_name: null, last_name: null, display_name: null };
    expect(created.json()).toMatchObject({ ...unset, phone: '+1 555' });
    const detail = await acme.request('GET', `/v1/participants/${created.json().id}`);
    expect(detail.json()).toMatchObject({ ...unset, phone: '+1 555' });
    const [listed] = (await acme.request('GET', '/v1/participants?external_id=profile-nulls')).json().data;
    expect(listed).toMatchObject({ ...unset, phone: '+1 555' });
    const cleared = await acme.request('PATCH', `/v1/participants/${created.json().id}`, { phone: '' });
    expect(cleared.json()).toMatchObject({ ...unset, phone: null });
  });

  it('lower-cases and de-duplicates tags', async () => {
    const response = await acme.request('POST', '/v1/participants', {
      external_id: 'tags',
      tags: ['A', 'a', ' B '],
    });
    expect(response.json().tags).toEqual(['a', 'b']);
  });

  it('refuses counters and tiers at creation, and an unknown status', async () => {
    for (const [body, field] of [
      [{ external_id: 'c', counters: { x: '1' } }, 'counters'],
      [{ external_id: 'c', tiers: {} }, 'tiers'],
      [{ external_id: 'c', status: 'DELETED' }, 'status'],
      [{ external_id: '' }, 'external_id'],
      [{ external_id: 'c', email: 'not-an-email' }, 'email'],
      [{ external_id: 'c', attributes: { n: 5 } }, 'attributes.n'],
      [{ external_id: 'c', program_id: 'nope' }, 'program_id'],
    ] as const) {
      const response = await acme.request('POST', '/v1/participants', body);
      expect(response.statusCode).toBe(400);
      expect(response.json().details.fields.map((f: { field: string }) => f.field)).toContain(field);
    }
    const listed = (await acme.request('GET', '/v1/participants?external_id=c')).json();
    expect(listed.data).toEqual([]);
  });

  it('accepts external_id of 255 characters and refuses 256; phone 50 and 51', async () => {
    expect(
      (await acme.request('POST', '/v1/participants', { external_id: 'e'.repeat(255) })).statusCode,
    ).toBe(201);
    const longId = await acme.request('POST', '/v1/participants', { external_id: 'e'.repeat(256) });
    expect(longId.json().details.field).toBe('external_id');
    expect(
      (await acme.request('POST', '/v1/participants', { external_id: 'ph', phone: '1'.repeat(50) }))
        .statusCode,
    ).toBe(201);
    const longPhone = await acme.request('POST', '/v1/participants', {
      external_id: 'ph2',
      phone: '1'.repeat(51),
    });
    expect(longPhone.json().details.field).toBe('phone');
  });

  it('accepts 100 tags and refuses 101', async () => {
    const tags = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);
    expect(
      (await acme.request('POST', '/v1/participants', { external_id: 'tg', tags: tags(100) })).statusCode,
    ).toBe(201);
    const tooMany = await acme.request('POST', '/v1/participants', { external_id: 'tg2', tags: tags(101) });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().details.field).toBe('tags');
  });

  it('answers 404 when program_id belongs to another organization, creating nothing', async () => {
    const response = await other.request('POST', '/v1/participants', {
      external_id: 'x1',
      program_id: programId,
    });
    expect(response.statusCode).toBe(404);
    expect((await other.request('GET', '/v1/participants?external_id=x1')).json().data).toEqual([]);
  });

  it('keeps one participant when the same external_id is upserted concurrently', async () => {
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => acme.request('POST', '/v1/participants', { external_id: 'race' })),
    );
    expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(1);
    expect(responses.filter((r) => r.statusCode === 200)).toHaveLength(9);
    expect(new Set(responses.map((r) => r.json().id)).size).toBe(1);
  });
});

describe('GET /v1/participants', () => {
  it('filters by exact external_id, search, status, program_id and created_at window', async () => {
    const org = await t.createOrganization();
    const program = (await org.request('POST', '/v1/programs', { name: 'p' })).json().id;
    t.testClock.set('2025-01-01T00:00:00Z');
    await org.request('POST', '/v1/participants', { external_id: 'alice', email: 'alice@example.com' });
    t.testClock.set('2025-02-01T00:00:00Z');
    await org.request('POST', '/v1/participants', {
      external_id: 'alicia',
      program_id: program,
      status: 'SUSPENDED',
    });
    t.testClock.set('2025-03-01T00:00:00Z');
    await org.request('POST', '/v1/participants', { external_id: 'bob', display_name: 'Bobby Ali' });
    const ids = async (query: string) =>
      (await org.request('GET', `/v1/participants?${query}`))
        .json()
        .data.map((p: { external_id: string }) => p.external_id);
    expect(await ids('external_id=alice')).toEqual(['alice']);
    expect(await ids('search=ALI')).toEqual(['bob', 'alicia', 'alice']);
    expect(await ids('search=example.com')).toEqual(['alice']);
    expect(await ids('status=SUSPENDED')).toEqual(['alicia']);
    expect(await ids(`program_id=${program}`)).toEqual(['alicia']);
    expect(await ids('from=2025-01-15T00:00:00Z&to=2025-02-15T00:00:00Z')).toEqual(['alicia']);
    expect(await ids('sort_by=external_id&sort_dir=asc')).toEqual(['alice', 'alicia', 'bob']);
    t.testClock.set(new Date());
  });

  it('returns the list view without state, paged by cursor across sorts', async () => {
    const org = await t.createOrganization();
    for (const id of ['p1', 'p2', 'p3'])
      await org.request('POST', '/v1/participants', { external_id: id, tags: ['x'] });
    const first = (
      await org.request('GET', '/v1/participants?sort_by=external_id&sort_dir=asc&limit=2')
    ).json();
    expect(first.data[0]).not.toHaveProperty('tags');
    expect(first.data[0]).not.toHaveProperty('balances');
    const second = (
      await org.request(
        'GET',
        `/v1/participants?sort_by=external_id&sort_dir=asc&limit=2&cursor=${first.pagination.next_cursor}`,
      )
    ).json();
    expect([...first.data, ...second.data].map((p: { external_id: string }) => p.external_id)).toEqual([
      'p1',
      'p2',
      'p3',
    ]);
    expect(second.pagination.has_more).toBe(false);
  });

  it('refuses limit 0 and 201, a bad timestamp, and an unknown sort', async () => {
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['from=yesterday', 'from'],
      ['sort_by=email', 'sort_by'],
    ]) {
      const response = await acme.request('GET', `/v1/participants?${query}`);
      expect(response.statusCode).toBe(400);
      expect(response.json().details.field).toBe(field);
    }
  });

  it("never lists another organization's participants", async () => {
    const theirs = (await other.request('POST', '/v1/participants', { external_id: 'hidden-one' })).json();
    const found = (await acme.request('GET', '/v1/participants?search=hidden-one')).json();
    expect(found.data).toEqual([]);
    expect(theirs.id).toBeDefined();
  });
});

describe('GET, PATCH /v1/participants/{id} and PATCH /status', () => {
  it('merges attributes, replaces tags, clears a profile field with an empty string, ignores status', async () => {
    const p = (
      await acme.request('POST', '/v1/participants', {
        external_id: 'patch-me',
        email: 'a@b.co',
        first_name: 'Ann',
        attributes: { a: '1' },
        tags: ['one'],
      })
    ).json();
    const response = await acme.request('PATCH', `/v1/participants/${p.id}`, {
      attributes: { b: '2' },
      tags: ['Two'],
      email: '',
      last_name: 'Lee',
      status: 'CLOSED',
    });
    expect(response.statusCode).toBe(200);
    const updated = response.json();
    expect(updated).toMatchObject({
      attributes: { a: '1', b: '2' },
      tags: ['two'],
      first_name: 'Ann',
      last_name: 'Lee',
    });
    expect(updated.email).toBeNull();
    expect(updated.status).toBe('ACTIVE');
  });

  it('changes external_id, and answers 409 conflict when another participant has it', async () => {
    const a = (await acme.request('POST', '/v1/participants', { external_id: 'ext-a' })).json();
    await acme.request('POST', '/v1/participants', { external_id: 'ext-b' });
    const renamed = await acme.request('PATCH', `/v1/participants/${a.id}`, { external_id: 'ext-c' });
    expect(renamed.json().external_id).toBe('ext-c');
    const clash = await acme.request('PATCH', `/v1/participants/${a.id}`, { external_id: 'ext-b' });
    expect(clash.statusCode).toBe(409);
    expect(clash.json()).toMatchObject({ code: 'conflict', details: { field: 'external_id' } });
  });

  it('changes status through the status endpoint and refuses an unknown one', async () => {
    const p = (await acme.request('POST', '/v1/participants', { external_id: 'status-me' })).json();
    for (const status of ['SUSPENDED', 'CLOSED', 'ACTIVE']) {
      const response = await acme.request('PATCH', `/v1/participants/${p.id}/status`, { status });
      expect(response.json().status).toBe(status);
    }
    const bad = await acme.request('PATCH', `/v1/participants/${p.id}/status`, { status: 'GONE' });
    expect(bad.statusCode).toBe(400);
    const missing = await acme.request('PATCH', `/v1/participants/${p.id}/status`, {});
    expect(missing.json().details.field).toBe('status');
  });

  it("answers 404 for another organization's participant on every route, changing nothing", async () => {
    const p = (
      await acme.request('POST', '/v1/participants', { external_id: 'private', tags: ['keep'] })
    ).json();
    const attempts: [string, string, unknown][] = [
      ['GET', `/v1/participants/${p.id}`, undefined],
      ['PATCH', `/v1/participants/${p.id}`, { tags: ['stolen'] }],
      ['PATCH', `/v1/participants/${p.id}/status`, { status: 'CLOSED' }],
    ];
    for (const [method, url, body] of attempts) {
      const response = await other.request(method, url, body);
      expect(response.statusCode).toBe(404);
      expect(response.json().code).toBe('not_found');
    }
    expect((await acme.request('GET', `/v1/participants/${p.id}`)).json()).toMatchObject({
      tags: ['keep'],
      status: 'ACTIVE',
    });
  });
});
