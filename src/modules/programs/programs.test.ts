import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type Tenant, type TestApp } from '../../../test/harness.js';

let t: TestApp;
let acme: Tenant;
let other: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  other = await t.createOrganization();
});

const seedBody = {
  name: 'Q1 Sales Bonus',
  description: 'Quarterly sales incentive program for the sales team',
  on_unknown_participant: 'CREATE',
};

describe('POST /v1/programs', () => {
  it('creates a program as seed 000 shows', async () => {
    const response = await acme.request('POST', '/v1/programs', seedBody);
    expect(response.statusCode).toBe(201);
    const program = response.json();
    expect(program).toMatchObject({ ...seedBody, status: 'ACTIVE', deleted_at: null });
    expect(program.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(program.created_at)).not.toBeNaN();
    expect(program.updated_at).toBe(program.created_at);
    const fetched = await acme.request('GET', `/v1/programs/${program.id}`);
    expect(fetched.json()).toEqual(program);
  });

  it('needs only a name and defaults on_unknown_participant to CREATE', async () => {
    const response = await acme.request('POST', '/v1/programs', { name: 'x' });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({ name: 'x', on_unknown_participant: 'CREATE', description: null });
  });

  it('accepts a name of 255 characters and refuses 256, naming the field', async () => {
    expect((await acme.request('POST', '/v1/programs', { name: 'n'.repeat(255) })).statusCode).toBe(201);
    const response = await acme.request('POST', '/v1/programs', { name: 'n'.repeat(256) });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'bad_request', details: { field: 'name' } });
  });

  it('accepts a description of 1000 characters and refuses 1001', async () => {
    const ok = await acme.request('POST', '/v1/programs', { name: 'd', description: 'd'.repeat(1000) });
    expect(ok.statusCode).toBe(201);
    const tooLong = await acme.request('POST', '/v1/programs', { name: 'd', description: 'd'.repeat(1001) });
    expect(tooLong.json()).toMatchObject({ code: 'bad_request', details: { field: 'description' } });
  });

  it('refuses an empty name, a missing name, an unknown enum value and unknown fields, writing nothing', async () => {
    const before = (await acme.request('GET', '/v1/programs?limit=200')).json().data.length;
    const cases: [unknown, string][] = [
      [{ name: '' }, 'name'],
      [{}, 'name'],
      [{ name: 'a', on_unknown_participant: 'MAYBE' }, 'on_unknown_participant'],
      [{ name: 'a', colour: 'red' }, 'colour'],
      [{ name: 42 }, 'name'],
    ];
    for (const [body, field] of cases) {
      const response = await acme.request('POST', '/v1/programs', body);
      expect(response.statusCode).toBe(400);
      expect(response.json().code).toBe('bad_request');
      expect(response.json().details.fields.map((f: { field: string }) => f.field)).toContain(field);
    }
    expect((await acme.request('GET', '/v1/programs?limit=200')).json().data.length).toBe(before);
  });

  it('answers invalid_json for malformed JSON and unsupported_media_type for text', async () => {
    const malformed = await t.app.inject({
      method: 'POST',
      url: '/v1/programs',
      headers: { 'x-api-key': acme.key, 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().code).toBe('invalid_json');
    const text = await t.app.inject({
      method: 'POST',
      url: '/v1/programs',
      headers: { 'x-api-key': acme.key, 'content-type': 'text/plain' },
      payload: 'name=x',
    });
    expect(text.statusCode).toBe(415);
    expect(text.json().code).toBe('unsupported_media_type');
  });

  it('answers payload_too_large for a body over 1 MiB', async () => {
    const response = await acme.request('POST', '/v1/programs', {
      name: 'x',
      description: 'y'.repeat(1024 * 1024),
    });
    expect(response.statusCode).toBe(413);
    expect(response.json().code).toBe('payload_too_large');
  });
});

describe('GET /v1/programs', () => {
  it('pages with a stable cursor while programs are inserted', async () => {
    const org = await t.createOrganization();
    for (let i = 0; i < 5; i += 1) await org.request('POST', '/v1/programs', { name: `p${i}` });
    const first = (await org.request('GET', '/v1/programs?limit=2')).json();
    expect(first.data.map((p: { name: string }) => p.name)).toEqual(['p4', 'p3']);
    expect(first.pagination.has_more).toBe(true);
    await org.request('POST', '/v1/programs', { name: 'late' });
    const second = (
      await org.request('GET', `/v1/programs?limit=2&cursor=${first.pagination.next_cursor}`)
    ).json();
    expect(second.data.map((p: { name: string }) => p.name)).toEqual(['p2', 'p1']);
    const third = (
      await org.request('GET', `/v1/programs?limit=2&cursor=${second.pagination.next_cursor}`)
    ).json();
    expect(third.data.map((p: { name: string }) => p.name)).toEqual(['p0']);
    expect(third.pagination).toEqual({ has_more: false, next_cursor: null });
  });

  it('sorts by name in either direction and searches by part of the name', async () => {
    const org = await t.createOrganization();
    for (const name of ['Beta', 'alpha', 'Gamma 50%']) await org.request('POST', '/v1/programs', { name });
    const asc = (await org.request('GET', '/v1/programs?sort_by=name&sort_dir=asc&limit=1')).json();
    const next = (
      await org.request('GET', `/v1/programs?sort_by=name&sort_dir=asc&cursor=${asc.pagination.next_cursor}`)
    ).json();
    expect([...asc.data, ...next.data].map((p: { name: string }) => p.name)).toEqual([
      'Beta',
      'Gamma 50%',
      'alpha',
    ]);
    const search = (await org.request('GET', '/v1/programs?search=50%25')).json();
    expect(search.data.map((p: { name: string }) => p.name)).toEqual(['Gamma 50%']);
    const searchAlpha = (await org.request('GET', '/v1/programs?search=ALPH')).json();
    expect(searchAlpha.data.map((p: { name: string }) => p.name)).toEqual(['alpha']);
  });

  it('hides archived programs unless include_archived or status asks for them', async () => {
    const org = await t.createOrganization();
    const kept = (await org.request('POST', '/v1/programs', { name: 'kept' })).json();
    const archived = (await org.request('POST', '/v1/programs', { name: 'gone' })).json();
    await org.request('PATCH', `/v1/programs/${archived.id}`, { status: 'ARCHIVED' });
    const names = async (query: string) =>
      (await org.request('GET', `/v1/programs${query}`)).json().data.map((p: { name: string }) => p.name);
    expect(await names('')).toEqual([kept.name]);
    expect(await names('?include_archived=true')).toEqual(['gone', 'kept']);
    expect(await names('?status=ARCHIVED')).toEqual(['gone']);
  });

  it('takes limits 1 and 200 and refuses 0 and 201', async () => {
    expect((await acme.request('GET', '/v1/programs?limit=1')).statusCode).toBe(200);
    expect((await acme.request('GET', '/v1/programs?limit=200')).statusCode).toBe(200);
    for (const limit of [0, 201, 'x']) {
      const response = await acme.request('GET', `/v1/programs?limit=${limit}`);
      expect(response.statusCode).toBe(400);
      expect(response.json().details.field).toBe('limit');
    }
  });

  it('refuses a tampered cursor and one from another sort with invalid_cursor', async () => {
    const org = await t.createOrganization();
    for (const name of ['a', 'b']) await org.request('POST', '/v1/programs', { name });
    const { pagination } = (await org.request('GET', '/v1/programs?limit=1')).json();
    const raw = Buffer.from(pagination.next_cursor, 'base64url').toString();
    const tampered = Buffer.from(raw.replace('programs', 'programz')).toString('base64url');
    for (const cursor of [tampered, 'not-a-cursor', pagination.next_cursor]) {
      const sort = cursor === pagination.next_cursor ? '&sort_by=name' : '';
      const response = await org.request('GET', `/v1/programs?cursor=${cursor}${sort}`);
      expect(response.statusCode).toBe(400);
      expect(response.json().code).toBe('invalid_cursor');
    }
  });

  it("never lists another organization's programs", async () => {
    const mine = (await other.request('POST', '/v1/programs', { name: 'secret program' })).json();
    const listed = (await acme.request('GET', '/v1/programs?limit=200&include_archived=true')).json();
    expect(listed.data.map((p: { id: string }) => p.id)).not.toContain(mine.id);
  });
});

describe('GET and PATCH /v1/programs/{id}', () => {
  it('updates name, description and on_unknown_participant, and clears the description with null', async () => {
    const program = (await acme.request('POST', '/v1/programs', seedBody)).json();
    t.testClock.advance(0);
    const response = await acme.request('PATCH', `/v1/programs/${program.id}`, {
      name: 'Renamed',
      description: null,
      on_unknown_participant: 'REJECT',
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      name: 'Renamed',
      description: null,
      on_unknown_participant: 'REJECT',
    });
  });

  it('archives reversibly: ARCHIVED sets deleted_at, ACTIVE clears it', async () => {
    const program = (await acme.request('POST', '/v1/programs', { name: 'arch' })).json();
    const archived = (
      await acme.request('PATCH', `/v1/programs/${program.id}`, { status: 'ARCHIVED' })
    ).json();
    expect(archived.status).toBe('ARCHIVED');
    expect(archived.deleted_at).not.toBeNull();
    const suspended = (
      await acme.request('PATCH', `/v1/programs/${program.id}`, { status: 'SUSPENDED' })
    ).json();
    expect(suspended).toMatchObject({ status: 'SUSPENDED', deleted_at: null });
    const active = (await acme.request('PATCH', `/v1/programs/${program.id}`, { status: 'ACTIVE' })).json();
    expect(active).toMatchObject({ status: 'ACTIVE', deleted_at: null });
  });

  it("answers 404 for an unknown id and for another organization's program, and changes nothing", async () => {
    const program = (await acme.request('POST', '/v1/programs', { name: 'mine' })).json();
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { name: 'stolen' }],
    ] as const) {
      const response = await other.request(method, `/v1/programs/${program.id}`, body);
      expect(response.statusCode).toBe(404);
      expect(response.json().code).toBe('not_found');
    }
    const unknown = await acme.request('GET', '/v1/programs/01900000-0000-7000-8000-000000000000');
    expect(unknown.statusCode).toBe(404);
    expect((await acme.request('GET', `/v1/programs/${program.id}`)).json().name).toBe('mine');
  });

  it('refuses a non-UUID id with bad_request naming id', async () => {
    const response = await acme.request('GET', '/v1/programs/not-a-uuid');
    expect(response.statusCode).toBe(400);
    expect(response.json().details.field).toBe('id');
  });

  it('refuses an unknown status', async () => {
    const program = (await acme.request('POST', '/v1/programs', { name: 's' })).json();
    const response = await acme.request('PATCH', `/v1/programs/${program.id}`, { status: 'DELETED' });
    expect(response.statusCode).toBe(400);
    expect(response.json().details.field).toBe('status');
  });
});

describe('program redemption target', () => {
  async function participant(tenant: Tenant, programId: string) {
    const external_id = `target-${Math.random().toString(36).slice(2)}`;
    return (await tenant.request('POST', '/v1/participants', { external_id, program_id: programId })).json();
  }

  it('defaults to SYSTEM_REDEMPTION and shows no entity id', async () => {
    const program = (await acme.request('POST', '/v1/programs', { name: 'target default' })).json();
    expect(program.redemption_target_type).toBe('SYSTEM_REDEMPTION');
    expect(program).not.toHaveProperty('redemption_target_entity_id');
  });

  it('takes LEDGER_ENTITY with an ACTIVE participant on create and PATCH, and SYSTEM_* drops the entity', async () => {
    const program = (await acme.request('POST', '/v1/programs', { name: 'target entity' })).json();
    const holder = await participant(acme, program.id);
    const created = await acme.request('POST', '/v1/programs', {
      name: 'target on create',
      redemption_target_type: 'LEDGER_ENTITY',
      redemption_target_entity_id: holder.id,
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      redemption_target_type: 'LEDGER_ENTITY',
      redemption_target_entity_id: holder.id,
    });
    const patched = await acme.request('PATCH', `/v1/programs/${program.id}`, {
      redemption_target_type: 'LEDGER_ENTITY',
      redemption_target_entity_id: holder.id,
    });
    expect(patched.json().redemption_target_entity_id).toBe(holder.id);
    const renamed = await acme.request('PATCH', `/v1/programs/${program.id}`, { name: 'still entity' });
    expect(renamed.json().redemption_target_entity_id).toBe(holder.id);
    const system = await acme.request('PATCH', `/v1/programs/${program.id}`, {
      redemption_target_type: 'SYSTEM_BREAKAGE',
    });
    expect(system.json().redemption_target_type).toBe('SYSTEM_BREAKAGE');
    expect(system.json()).not.toHaveProperty('redemption_target_entity_id');
    const fetched = (await acme.request('GET', `/v1/programs/${program.id}`)).json();
    expect(fetched).toEqual(system.json());
  });

  it('refuses LEDGER_ENTITY without its entity, an entity with a SYSTEM_* type, and an entity alone', async () => {
    const program = (await acme.request('POST', '/v1/programs', { name: 'target bad' })).json();
    const holder = await participant(acme, program.id);
    const cases: [Record<string, unknown>, string][] = [
      [{ redemption_target_type: 'LEDGER_ENTITY' }, 'required'],
      [{ redemption_target_type: 'SYSTEM_REDEMPTION', redemption_target_entity_id: holder.id }, 'invalid'],
      [{ redemption_target_entity_id: holder.id }, 'invalid'],
    ];
    for (const [body, reason] of cases) {
      for (const [method, url] of [
        ['PATCH', `/v1/programs/${program.id}`],
        ['POST', '/v1/programs'],
      ] as const) {
        const response = await acme.request(method, url, { name: 'x', ...body });
        expect(response.statusCode).toBe(400);
        expect(response.json().details).toMatchObject({ field: 'redemption_target_entity_id', reason });
      }
    }
    expect((await acme.request('GET', `/v1/programs/${program.id}`)).json().redemption_target_type).toBe(
      'SYSTEM_REDEMPTION',
    );
  });

  it("refuses an unknown entity, a SUSPENDED participant and another organization's participant", async () => {
    const program = (await acme.request('POST', '/v1/programs', { name: 'target refused' })).json();
    const suspended = await participant(acme, program.id);
    await acme.request('PATCH', `/v1/participants/${suspended.id}/status`, { status: 'SUSPENDED' });
    const otherProgram = (await other.request('POST', '/v1/programs', { name: 'theirs' })).json();
    const foreign = await participant(other, otherProgram.id);
    for (const id of [suspended.id, foreign.id, '01900000-0000-7000-8000-000000000000']) {
      const response = await acme.request('PATCH', `/v1/programs/${program.id}`, {
        redemption_target_type: 'LEDGER_ENTITY',
        redemption_target_entity_id: id,
      });
      expect(response.statusCode).toBe(400);
      expect(response.json().details.field).toBe('redemption_target_entity_id');
    }
  });
});
