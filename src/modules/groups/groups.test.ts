import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, createLedgerFixture, type Tenant, type TestApp } from '../../../test/harness.js';

let t: TestApp;
let acme: Tenant;
let other: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  other = await t.createOrganization();
});

async function newParticipant(tenant: Tenant = acme): Promise<string> {
  const external_id = `p-${Math.random().toString(36).slice(2)}`;
  return (await tenant.request('POST', '/v1/participants', { external_id })).json().id;
}

async function newGroup(tenant: Tenant = acme, name = 'Household') {
  const admin = await newParticipant(tenant);
  const created = await tenant.request('POST', '/v1/groups', {
    name,
    members: [{ participant_id: admin, role: 'ADMIN' }],
  });
  expect(created.statusCode).toBe(201);
  return { id: created.json().id as string, admin };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('POST /v1/groups', () => {
  it('creates an ACTIVE group with its members and the audit participant', async () => {
    const [admin, member, actor] = [await newParticipant(), await newParticipant(), await newParticipant()];
    const created = await acme.request('POST', '/v1/groups', {
      name: 'The Smiths',
      members: [{ participant_id: admin, role: 'ADMIN' }, { participant_id: member }],
      on_behalf_of_participant_id: actor,
    });
    expect(created.statusCode).toBe(201);
    const group = created.json();
    expect(group).toMatchObject({ name: 'The Smiths', status: 'ACTIVE' });
    expect(group).not.toHaveProperty('deleted_at');
    const members = (await acme.request('GET', `/v1/groups/${group.id}/members`)).json().data;
    expect(members.map((m: { participant_id: string; role: string }) => [m.participant_id, m.role])).toEqual([
      [admin, 'ADMIN'],
      [member, 'MEMBER'],
    ]);
    const audit = await sql<{ created_on_behalf_of_participant_id: string }>`select
      created_on_behalf_of_participant_id from groups where id = ${group.id}`.execute(t.database.handle.db);
    expect(audit.rows[0]?.created_on_behalf_of_participant_id).toBe(actor);
  });

  it('accepts a name of 255 characters and refuses 0 or 256 with 400 naming the field', async () => {
    const admin = await newParticipant();
    const body = (name: string) => ({ name, members: [{ participant_id: admin, role: 'ADMIN' }] });
    expect((await acme.request('POST', '/v1/groups', body('n'.repeat(255)))).statusCode).toBe(201);
    for (const name of ['', 'n'.repeat(256)]) {
      const refused = await acme.request('POST', '/v1/groups', body(name));
      expect(refused.statusCode).toBe(400);
      expect(refused.json()).toMatchObject({ code: 'bad_request', details: { field: 'name' } });
    }
  });

  it('refuses no members, no ADMIN, a participant listed twice and unknown participants, creating nothing', async () => {
    const admin = await newParticipant();
    const stranger = await newParticipant(other);
    const before = (await acme.request('GET', '/v1/groups?limit=200')).json().data.length;
    const cases: [object, number, string, string][] = [
      [{ members: [] }, 400, 'bad_request', 'members'],
      [{ members: [{ participant_id: admin }] }, 400, 'bad_request', 'members'],
      [
        { members: [{ participant_id: admin, role: 'ADMIN' }, { participant_id: admin }] },
        400,
        'bad_request',
        'members[1].participant_id',
      ],
      [
        { members: [{ participant_id: admin, role: 'ADMIN' }, { participant_id: stranger }] },
        404,
        'not_found',
        'members[1].participant_id',
      ],
      [
        { members: [{ participant_id: admin, role: 'ADMIN' }], on_behalf_of_participant_id: stranger },
        404,
        'not_found',
        'on_behalf_of_participant_id',
      ],
    ];
    for (const [body, status, code, field] of cases) {
      const refused = await acme.request('POST', '/v1/groups', { name: 'G', ...body });
      expect(refused.statusCode, JSON.stringify(body)).toBe(status);
      expect(refused.json()).toMatchObject({ code, details: { field } });
    }
    expect((await acme.request('GET', '/v1/groups?limit=200')).json().data.length).toBe(before);
  });

  it('accepts 100 members at creation and refuses 101', async () => {
    const ids = await Promise.all(range(101).map(() => newParticipant()));
    const members = ids.map((participant_id, i) => ({ participant_id, role: i === 0 ? 'ADMIN' : 'MEMBER' }));
    const refused = await acme.request('POST', '/v1/groups', { name: 'Big', members });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().details.field).toBe('members');
    const created = await acme.request('POST', '/v1/groups', { name: 'Big', members: members.slice(0, 100) });
    expect(created.statusCode).toBe(201);
    const listed = await acme.request('GET', `/v1/groups/${created.json().id}/members?limit=200`);
    expect(listed.json().data).toHaveLength(100);
  });
});

describe('GET, PATCH and DELETE /v1/groups/{id}', () => {
  it('reads a group with a flat balances map summing every bucket and program', async () => {
    const { id } = await newGroup();
    const f = await createLedgerFixture(acme);
    const second = (await acme.request('POST', '/v1/programs', { name: 'second' })).json().id;
    await acme.request('POST', `/v1/programs/${second}/assets`, { asset_id: f.assetId });
    const adjust = (program_id: string, amount: string) =>
      acme.request('POST', `/v1/groups/${id}/balances/adjust`, {
        program_id,
        asset_id: f.assetId,
        type: 'CREDIT',
        amount,
        description: 'pooled',
      });
    expect((await adjust(f.programId, '10.50')).statusCode).toBe(200);
    expect((await adjust(second, '4')).statusCode).toBe(200);
    await acme.request('POST', `/v1/groups/${id}/balances/hold`, {
      program_id: f.programId,
      asset_id: f.assetId,
      amount: '2',
      description: 'hold',
    });
    const group = (await acme.request('GET', `/v1/groups/${id}`)).json();
    expect(group.balances).toEqual({ [f.assetId]: '14.50' });
    const fresh = await newGroup();
    expect((await acme.request('GET', `/v1/groups/${fresh.id}`)).json().balances).toEqual({});
  });

  it('renames a group and refuses an empty or too long name', async () => {
    const { id } = await newGroup();
    const renamed = await acme.request('PATCH', `/v1/groups/${id}`, { name: 'Renamed' });
    expect(renamed.statusCode).toBe(200);
    expect(renamed.json().name).toBe('Renamed');
    expect((await acme.request('PATCH', `/v1/groups/${id}`, { name: 'x'.repeat(256) })).statusCode).toBe(400);
    expect((await acme.request('PATCH', `/v1/groups/${id}`, {})).statusCode).toBe(400);
    expect((await acme.request('GET', `/v1/groups/${id}`)).json().name).toBe('Renamed');
  });

  it('archives for good: still readable, out of the list unless include_archived, every change refused', async () => {
    const { id, admin } = await newGroup();
    const f = await createLedgerFixture(acme);
    const archived = await acme.request('DELETE', `/v1/groups/${id}`);
    expect(archived.statusCode).toBe(200);
    expect(archived.json()).toMatchObject({ id, status: 'ARCHIVED' });
    expect(archived.json().deleted_at).toEqual(expect.any(String));
    expect((await acme.request('GET', `/v1/groups/${id}`)).json().status).toBe('ARCHIVED');
    const listed = (await acme.request('GET', '/v1/groups?limit=200'))
      .json()
      .data.map((g: { id: string }) => g.id);
    expect(listed).not.toContain(id);
    const all = (await acme.request('GET', '/v1/groups?limit=200&include_archived=true')).json().data;
    expect(all.map((g: { id: string }) => g.id)).toContain(id);
    const newcomer = await newParticipant();
    const refusals = [
      await acme.request('PATCH', `/v1/groups/${id}`, { name: 'again' }),
      await acme.request('DELETE', `/v1/groups/${id}`),
      await acme.request('POST', `/v1/groups/${id}/members`, { participant_id: newcomer }),
      await acme.request('DELETE', `/v1/groups/${id}/members/${admin}`),
      await acme.request('DELETE', `/v1/groups/${id}/state/counters/visits`),
      await acme.request('POST', `/v1/groups/${id}/balances/adjust`, {
        program_id: f.programId,
        asset_id: f.assetId,
        type: 'CREDIT',
        amount: '1',
        description: 'x',
      }),
    ];
    for (const refused of refusals) {
      expect(refused.statusCode).toBe(409);
      expect(refused.json().code).toBe('group_archived');
    }
    expect((await acme.request('GET', `/v1/groups/${id}/members`)).json().data).toHaveLength(1);
    expect((await acme.request('GET', `/v1/groups/${id}`)).json().balances).toEqual({});
  });

  it('pages the list newest first with a cursor', async () => {
    const tenant = await t.createOrganization();
    const ids = [];
    for (const i of range(3)) ids.push((await newGroup(tenant, `g${i}`)).id);
    const first = (await tenant.request('GET', '/v1/groups?limit=2')).json();
    expect(first.data.map((g: { id: string }) => g.id)).toEqual([ids[2], ids[1]]);
    const next = await tenant.request('GET', `/v1/groups?limit=2&cursor=${first.pagination.next_cursor}`);
    expect(next.json().data.map((g: { id: string }) => g.id)).toEqual([ids[0]]);
    expect(next.json().pagination.has_more).toBe(false);
  });

  it("answers 404 for another organization's group on every route", async () => {
    const { id, admin } = await newGroup(other);
    const f = await createLedgerFixture(acme);
    const requests = [
      acme.request('GET', `/v1/groups/${id}`),
      acme.request('PATCH', `/v1/groups/${id}`, { name: 'mine' }),
      acme.request('DELETE', `/v1/groups/${id}`),
      acme.request('GET', `/v1/groups/${id}/members`),
      acme.request('POST', `/v1/groups/${id}/members`, { participant_id: await newParticipant() }),
      acme.request('DELETE', `/v1/groups/${id}/members/${admin}`),
      acme.request('GET', `/v1/groups/${id}/state/counters`),
      acme.request('GET', `/v1/groups/${id}/state/counters/visits`),
      acme.request('DELETE', `/v1/groups/${id}/state/counters/visits`),
      acme.request('GET', `/v1/groups/${id}/activity/state-history`),
      acme.request('POST', `/v1/groups/${id}/balances/adjust`, {
        program_id: f.programId,
        asset_id: f.assetId,
        type: 'CREDIT',
        amount: '1',
        description: 'x',
      }),
    ];
    for (const response of await Promise.all(requests)) {
      expect(response.statusCode, response.body).toBe(404);
      expect(response.json().code).toBe('not_found');
    }
    expect((await other.request('GET', `/v1/groups/${id}`)).json().name).toBe('Household');
  });
});

describe('group members', () => {
  it('adds one member (MEMBER by default) or a batch, and refuses an ACTIVE member again', async () => {
    const { id } = await newGroup();
    const [one, two, three] = [await newParticipant(), await newParticipant(), await newParticipant()];
    const single = await acme.request('POST', `/v1/groups/${id}/members`, { participant_id: one });
    expect(single.statusCode).toBe(200);
    expect(single.json()).toMatchObject({
      message: 'Member(s) added to group',
      members: [{ participant_id: one, role: 'MEMBER', status: 'ACTIVE', left_at: null }],
    });
    const batch = await acme.request('POST', `/v1/groups/${id}/members`, {
      members: [{ participant_id: two, role: 'ADMIN' }, { participant_id: three }],
    });
    expect(batch.statusCode).toBe(200);
    expect(batch.json().members).toHaveLength(2);
    const again = await acme.request('POST', `/v1/groups/${id}/members`, {
      members: [{ participant_id: await newParticipant() }, { participant_id: two }],
    });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'conflict', details: { field: 'members[1].participant_id' } });
    expect((await acme.request('GET', `/v1/groups/${id}/members`)).json().data).toHaveLength(4);
  });

  it('accepts 100 members in a batch and refuses 101, and refuses an unknown participant with 404', async () => {
    const { id } = await newGroup();
    const ids = await Promise.all(range(101).map(() => newParticipant()));
    const tooMany = await acme.request('POST', `/v1/groups/${id}/members`, {
      members: ids.map((participant_id) => ({ participant_id })),
    });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().details.field).toBe('members');
    const forms: [object, string][] = [
      [{}, 'participant_id'],
      [{ members: [] }, 'members'],
      [{ participant_id: ids[0], members: [{ participant_id: ids[1] }] }, 'members'],
      [{ participant_id: ids[0], role: 'OWNER' }, 'role'],
    ];
    for (const [body, field] of forms) {
      const refused = await acme.request('POST', `/v1/groups/${id}/members`, body);
      expect(refused.statusCode, JSON.stringify(body)).toBe(400);
      expect(refused.json().details.field).toBe(field);
    }
    const unknown = await acme.request('POST', `/v1/groups/${id}/members`, {
      participant_id: await newParticipant(other),
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().details.field).toBe('participant_id');
    const added = await acme.request('POST', `/v1/groups/${id}/members`, {
      members: ids.slice(0, 100).map((participant_id) => ({ participant_id })),
    });
    expect(added.statusCode).toBe(200);
    expect((await acme.request('GET', `/v1/groups/${id}/members?limit=200`)).json().data).toHaveLength(101);
  });

  it('removes a member as LEFT, keeps the balance, lists former members on request, and re-adds with a new role', async () => {
    const { id, admin } = await newGroup();
    const member = await newParticipant();
    await acme.request('POST', `/v1/groups/${id}/members`, { participant_id: member });
    const f = await createLedgerFixture(acme);
    await acme.request('POST', `/v1/groups/${id}/balances/adjust`, {
      program_id: f.programId,
      asset_id: f.assetId,
      type: 'CREDIT',
      amount: '5',
      description: 'pot',
    });
    const removed = await acme.request('DELETE', `/v1/groups/${id}/members/${member}`);
    expect(removed.statusCode).toBe(200);
    expect(removed.json()).toMatchObject({ participant_id: member, status: 'LEFT' });
    expect(removed.json().left_at).toEqual(expect.any(String));
    expect((await acme.request('GET', `/v1/groups/${id}`)).json().balances).toEqual({ [f.assetId]: '5.00' });
    const current = (await acme.request('GET', `/v1/groups/${id}/members`)).json().data;
    expect(current.map((m: { participant_id: string }) => m.participant_id)).toEqual([admin]);
    const all = (await acme.request('GET', `/v1/groups/${id}/members?include_former=true`)).json().data;
    expect(all.map((m: { status: string }) => m.status).sort()).toEqual(['ACTIVE', 'LEFT']);
    expect((await acme.request('DELETE', `/v1/groups/${id}/members/${member}`)).statusCode).toBe(404);
    const back = await acme.request('POST', `/v1/groups/${id}/members`, {
      participant_id: member,
      role: 'ADMIN',
    });
    expect(back.json().members[0]).toMatchObject({ role: 'ADMIN', status: 'ACTIVE', left_at: null });
  });

  it('refuses to remove the last ADMIN with 409, and allows it once another ADMIN exists', async () => {
    const { id, admin } = await newGroup();
    const refused = await acme.request('DELETE', `/v1/groups/${id}/members/${admin}`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'conflict', details: { reason: 'last_admin' } });
    const second = await newParticipant();
    await acme.request('POST', `/v1/groups/${id}/members`, { participant_id: second, role: 'ADMIN' });
    expect((await acme.request('DELETE', `/v1/groups/${id}/members/${admin}`)).statusCode).toBe(200);
    expect((await acme.request('DELETE', `/v1/groups/${id}/members/${second}`)).statusCode).toBe(409);
  });

  it('never removes both of two ADMINs removed at the same time', async () => {
    const { id, admin } = await newGroup();
    const second = await newParticipant();
    await acme.request('POST', `/v1/groups/${id}/members`, { participant_id: second, role: 'ADMIN' });
    const results = await Promise.all([
      acme.request('DELETE', `/v1/groups/${id}/members/${admin}`),
      acme.request('DELETE', `/v1/groups/${id}/members/${second}`),
    ]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    expect((await acme.request('GET', `/v1/groups/${id}/members`)).json().data).toHaveLength(1);
  });

  it('pages members oldest first', async () => {
    const { id, admin } = await newGroup();
    const later = await newParticipant();
    t.testClock.advance(1000);
    await acme.request('POST', `/v1/groups/${id}/members`, { participant_id: later });
    const first = (await acme.request('GET', `/v1/groups/${id}/members?limit=1`)).json();
    expect(first.data[0].participant_id).toBe(admin);
    const next = await acme.request(
      'GET',
      `/v1/groups/${id}/members?limit=1&cursor=${first.pagination.next_cursor}`,
    );
    expect(next.json().data[0].participant_id).toBe(later);
    expect(next.json().pagination.has_more).toBe(false);
  });
});
