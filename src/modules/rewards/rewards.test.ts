import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestApp,
  createLedgerFixture,
  type LedgerFixture,
  type Tenant,
  type TestApp,
} from '../../../test/harness.js';

let t: TestApp;
let acme: Tenant;
let other: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  other = await t.createOrganization();
});

const giftCard = {
  name: '$10 Gift Card',
  description: 'A gift card',
  category: 'Gift Cards',
  redemption_type: 'UNIT_BASED',
  unit_cost: '1000',
  status: 'ACTIVE',
};

function create(f: LedgerFixture, body: Record<string, unknown> = {}, tenant = acme) {
  return tenant.request('POST', `/v1/programs/${f.programId}/rewards`, {
    ...giftCard,
    asset_id: f.assetId,
    ...body,
  });
}

describe('POST /v1/programs/{programId}/rewards', () => {
  it('creates a reward with every field and reads it back', async () => {
    const f = await createLedgerFixture(acme);
    const response = await create(f, {
      max_total: 100,
      max_per_participant: 2,
      available_from: '2026-01-01T00:00:00.000Z',
      available_until: '2027-01-01T00:00:00.000Z',
      metadata: { sku: 'GC-10', tiers: ['gold'] },
    });
    expect(response.statusCode).toBe(201);
    const reward = response.json();
    expect(reward).toMatchObject({
      ...giftCard,
      unit_cost: '1000.00',
      program_id: f.programId,
      asset_id: f.assetId,
      max_total: 100,
      max_per_participant: 2,
      redeemed_count: 0,
      available_from: '2026-01-01T00:00:00.000Z',
      available_until: '2027-01-01T00:00:00.000Z',
      metadata: { sku: 'GC-10', tiers: ['gold'] },
    });
    const fetched = await acme.request('GET', `/v1/programs/${f.programId}/rewards/${reward.id}`);
    expect(fetched.json()).toEqual(reward);
  });

  it('defaults the optional fields and accepts a window that already ended', async () => {
    const f = await createLedgerFixture(acme);
    const response = await create(f, {
      name: 'Old',
      description: undefined,
      category: undefined,
      status: 'DRAFT',
      available_until: '2020-01-01T00:00:00Z',
    });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({
      description: null,
      category: null,
      max_total: null,
      max_per_participant: null,
      available_from: null,
      status: 'DRAFT',
      metadata: {},
    });
  });

  it('refuses a second reward with the same name in the program, but not in another program', async () => {
    const f = await createLedgerFixture(acme);
    expect((await create(f)).statusCode).toBe(201);
    const duplicate = await create(f, { redemption_type: 'AMOUNT_BASED' });
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.json()).toMatchObject({ code: 'conflict', details: { field: 'name' } });
    const elsewhere = await createLedgerFixture(acme);
    expect((await create(elsewhere)).statusCode).toBe(201);
  });

  it('refuses max_total and max_per_participant on AMOUNT_BASED rewards', async () => {
    const f = await createLedgerFixture(acme);
    for (const field of ['max_total', 'max_per_participant']) {
      const response = await create(f, { redemption_type: 'AMOUNT_BASED', [field]: 5 });
      expect(response.statusCode).toBe(400);
      expect(response.json().details.field).toBe(field);
    }
    const unlimited = await create(f, { redemption_type: 'AMOUNT_BASED', max_total: null });
    expect(unlimited.statusCode).toBe(201);
  });

  it('refuses bad fields, naming each, and creates nothing', async () => {
    const f = await createLedgerFixture(acme);
    const cases: [Record<string, unknown>, string, string][] = [
      [{ unit_cost: '0' }, 'unit_cost', 'bad_request'],
      [{ unit_cost: '-1' }, 'unit_cost', 'bad_request'],
      [{ unit_cost: '1.001' }, 'unit_cost', 'invalid_scale'],
      [{ name: '' }, 'name', 'bad_request'],
      [{ name: 'n'.repeat(256) }, 'name', 'bad_request'],
      [{ description: 'd'.repeat(1001) }, 'description', 'bad_request'],
      [{ category: 'c'.repeat(101) }, 'category', 'bad_request'],
      [{ redemption_type: 'POINTS' }, 'redemption_type', 'bad_request'],
      [{ status: 'OUT_OF_STOCK' }, 'status', 'bad_request'],
      [{ status: undefined }, 'status', 'bad_request'],
      [{ max_total: 0 }, 'max_total', 'bad_request'],
      [{ max_total: 1_000_001 }, 'max_total', 'bad_request'],
      [{ max_per_participant: 1.5 }, 'max_per_participant', 'bad_request'],
      [
        { available_from: '2026-02-01T00:00:00Z', available_until: '2026-01-01T00:00:00Z' },
        'available_until',
        'bad_request',
      ],
      [{ metadata: 'x' }, 'metadata', 'bad_request'],
      [{ metadata: { blob: 'x'.repeat(16 * 1024) } }, 'metadata', 'bad_request'],
    ];
    for (const [body, field, code] of cases) {
      const response = await create(f, body);
      expect(response.statusCode, field).toBe(400);
      expect(response.json()).toMatchObject({ code, details: { field } });
    }
    const listed = await acme.request('GET', `/v1/programs/${f.programId}/rewards?include_archived=true`);
    expect(listed.json().data).toEqual([]);
  });

  it('accepts a name of 255, a description of 1000, a category of 100 characters and limits of 1,000,000', async () => {
    const f = await createLedgerFixture(acme);
    const response = await create(f, {
      name: 'n'.repeat(255),
      description: 'd'.repeat(1000),
      category: 'c'.repeat(100),
      max_total: 1_000_000,
      max_per_participant: 1_000_000,
    });
    expect(response.statusCode).toBe(201);
  });

  it('needs the asset linked to the program', async () => {
    const f = await createLedgerFixture(acme);
    const unlinked = await createLedgerFixture(acme);
    const response = await create(f, { asset_id: unlinked.assetId });
    expect(response.statusCode).toBe(422);
    expect(response.json().code).toBe('asset_not_linked');
  });

  it("answers 404 for another organization's program or asset", async () => {
    const f = await createLedgerFixture(acme);
    expect((await create(f, {}, other)).statusCode).toBe(404);
    const theirs = await createLedgerFixture(other);
    expect((await create(f, { asset_id: theirs.assetId })).statusCode).toBe(404);
  });
});

describe('GET /v1/programs/{programId}/rewards', () => {
  async function catalog() {
    const f = await createLedgerFixture(acme);
    for (const [name, status] of [
      ['Beta mug', 'ACTIVE'],
      ['alpha hat', 'DRAFT'],
      ['Gamma 50% off', 'ARCHIVED'],
    ]) {
      await create(f, { name, status });
    }
    return f;
  }
  const names = async (f: LedgerFixture, query: string) =>
    (await acme.request('GET', `/v1/programs/${f.programId}/rewards${query}`))
      .json()
      .data.map((reward: { name: string }) => reward.name);

  it('leaves archived rewards out unless include_archived or status asks', async () => {
    const f = await catalog();
    expect(await names(f, '')).toEqual(['alpha hat', 'Beta mug']);
    expect(await names(f, '?include_archived=true')).toEqual(['Gamma 50% off', 'alpha hat', 'Beta mug']);
    expect(await names(f, '?status=ARCHIVED')).toEqual(['Gamma 50% off']);
    expect(await names(f, '?status=DRAFT')).toEqual(['alpha hat']);
  });

  it('searches by part of the name and sorts by name either way, page by page', async () => {
    const f = await catalog();
    expect(await names(f, '?search=50%25&include_archived=true')).toEqual(['Gamma 50% off']);
    expect(await names(f, '?search=MUG')).toEqual(['Beta mug']);
    const first = (
      await acme.request(
        'GET',
        `/v1/programs/${f.programId}/rewards?sort_by=name&sort_dir=asc&limit=1&include_archived=true`,
      )
    ).json();
    expect(first.pagination.has_more).toBe(true);
    const rest = (
      await acme.request(
        'GET',
        `/v1/programs/${f.programId}/rewards?sort_by=name&sort_dir=asc&include_archived=true&cursor=${first.pagination.next_cursor}`,
      )
    ).json();
    expect([...first.data, ...rest.data].map((r: { name: string }) => r.name)).toEqual([
      'Beta mug',
      'Gamma 50% off',
      'alpha hat',
    ]);
    expect(rest.pagination).toEqual({ has_more: false, next_cursor: null });
  });

  it('takes limits 1 and 200, refuses 0 and 201, and refuses a cursor of another sort', async () => {
    const f = await catalog();
    for (const limit of [1, 200]) {
      expect(
        (await acme.request('GET', `/v1/programs/${f.programId}/rewards?limit=${limit}`)).statusCode,
      ).toBe(200);
    }
    for (const limit of [0, 201]) {
      const response = await acme.request('GET', `/v1/programs/${f.programId}/rewards?limit=${limit}`);
      expect(response.json().details.field).toBe('limit');
    }
    const page = (await acme.request('GET', `/v1/programs/${f.programId}/rewards?limit=1`)).json();
    const foreign = await acme.request(
      'GET',
      `/v1/programs/${f.programId}/rewards?sort_by=name&cursor=${page.pagination.next_cursor}`,
    );
    expect(foreign.json().code).toBe('invalid_cursor');
  });

  it("answers 404 for another organization's program and its rewards", async () => {
    const f = await catalog();
    const reward = (await acme.request('GET', `/v1/programs/${f.programId}/rewards`)).json().data[0];
    expect((await other.request('GET', `/v1/programs/${f.programId}/rewards`)).statusCode).toBe(404);
    const single = await other.request('GET', `/v1/programs/${f.programId}/rewards/${reward.id}`);
    expect(single.statusCode).toBe(404);
    const elsewhere = await createLedgerFixture(acme);
    const wrongProgram = await acme.request(
      'GET',
      `/v1/programs/${elsewhere.programId}/rewards/${reward.id}`,
    );
    expect(wrongProgram.statusCode).toBe(404);
  });
});

describe('PATCH /v1/programs/{programId}/rewards/{rewardId}', () => {
  it('updates every updatable field and keeps the rest', async () => {
    const f = await createLedgerFixture(acme);
    const reward = (await create(f, { max_total: 5 })).json();
    const response = await acme.request('PATCH', `/v1/programs/${f.programId}/rewards/${reward.id}`, {
      name: 'Renamed',
      description: null,
      category: 'Other',
      unit_cost: '12.5',
      max_total: null,
      max_per_participant: 3,
      status: 'DRAFT',
      available_from: '2026-01-01T00:00:00.000Z',
      available_until: null,
      metadata: { a: 1 },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      name: 'Renamed',
      description: null,
      category: 'Other',
      unit_cost: '12.50',
      max_total: null,
      max_per_participant: 3,
      status: 'DRAFT',
      available_from: '2026-01-01T00:00:00.000Z',
      available_until: null,
      metadata: { a: 1 },
      redemption_type: 'UNIT_BASED',
    });
    const fetched = await acme.request('GET', `/v1/programs/${f.programId}/rewards/${reward.id}`);
    expect(fetched.json()).toEqual(response.json());
  });

  it('refuses to change redemption_type or asset_id, but accepts their current values', async () => {
    const f = await createLedgerFixture(acme);
    const reward = (await create(f)).json();
    const url = `/v1/programs/${f.programId}/rewards/${reward.id}`;
    const type = await acme.request('PATCH', url, { redemption_type: 'AMOUNT_BASED' });
    expect(type.statusCode).toBe(400);
    expect(type.json().details).toMatchObject({ field: 'redemption_type', reason: 'immutable' });
    const asset = await acme.request('PATCH', url, { asset_id: '01900000-0000-7000-8000-000000000000' });
    expect(asset.json().details).toMatchObject({ field: 'asset_id', reason: 'immutable' });
    const same = await acme.request('PATCH', url, { redemption_type: 'UNIT_BASED', asset_id: f.assetId });
    expect(same.statusCode).toBe(200);
  });

  it('refuses a name taken in the program and limits on an AMOUNT_BASED reward, changing nothing', async () => {
    const f = await createLedgerFixture(acme);
    await create(f, { name: 'Taken' });
    const reward = (await create(f, { name: 'Mine', redemption_type: 'AMOUNT_BASED' })).json();
    const url = `/v1/programs/${f.programId}/rewards/${reward.id}`;
    expect((await acme.request('PATCH', url, { name: 'Taken' })).statusCode).toBe(409);
    const limited = await acme.request('PATCH', url, { max_total: 3 });
    expect(limited.json().details.field).toBe('max_total');
    expect((await acme.request('GET', url)).json()).toEqual(reward);
  });

  it('archives by status, and another organization gets 404 and changes nothing', async () => {
    const f = await createLedgerFixture(acme);
    const reward = (await create(f)).json();
    const url = `/v1/programs/${f.programId}/rewards/${reward.id}`;
    expect((await other.request('PATCH', url, { name: 'stolen' })).statusCode).toBe(404);
    const archived = await acme.request('PATCH', url, { status: 'ARCHIVED' });
    expect(archived.json().status).toBe('ARCHIVED');
    expect((await acme.request('GET', url)).json().name).toBe(giftCard.name);
  });
});

describe('OpenAPI', () => {
  it('documents the catalog, redemption and program activity routes with their error codes', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const path of [
      '/v1/programs/{programId}/rewards',
      '/v1/programs/{programId}/rewards/{rewardId}',
      '/v1/participants/{id}/redemptions',
      '/v1/participants/{id}/redemptions/items',
      '/v1/redemptions/{id}',
      '/v1/redemptions/{id}/reverse',
      '/v1/redemptions/{id}/reversals',
      '/v1/reports/program-activity',
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    const items = doc.paths['/v1/participants/{id}/redemptions/items'].post.responses;
    expect(items['422'].description).toMatch(/insufficient_balance/);
    expect(items['409'].description).toMatch(/reward_unavailable/);
    expect(Object.keys(items)).toEqual(expect.arrayContaining(['200', '201']));
    const program = doc.components.schemas.Program.properties;
    expect(program.redemption_target_type.enum ?? program.redemption_target_type.anyOf).toBeDefined();
  });
});
