import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type Tenant, type TestApp } from '../../../test/harness.js';
import { requireUsableAsset } from './assets.service.js';

let t: TestApp;
let acme: Tenant;
let other: Tenant;
let programId: string;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  other = await t.createOrganization();
  programId = (await acme.request('POST', '/v1/programs', { name: 'loyalty' })).json().id;
});

let symbolCounter = 0;
function assetBody(overrides: Record<string, unknown> = {}) {
  symbolCounter += 1;
  return {
    program_id: programId,
    name: 'Points',
    symbol: `PTS${symbolCounter}`,
    inventory_mode: 'SIMPLE',
    issuance_policy: 'UNLIMITED',
    scale: 2,
    ...overrides,
  };
}

describe('POST /v1/assets', () => {
  it('creates an asset linked to its program', async () => {
    const body = assetBody({ max_transaction_amount: '1000.5' });
    const response = await acme.request('POST', '/v1/assets', body);
    expect(response.statusCode).toBe(201);
    const asset = response.json();
    expect(asset).toMatchObject({
      symbol: body.symbol,
      scale: 2,
      status: 'ACTIVE',
      max_transaction_amount: '1000.50',
      program_ids: [programId],
      deleted_at: null,
    });
    expect((await acme.request('GET', `/v1/assets/${asset.id}`)).json()).toEqual(asset);
  });

  it('refuses a symbol already used in the organization with 409 conflict, but not across organizations', async () => {
    const body = assetBody();
    expect((await acme.request('POST', '/v1/assets', body)).statusCode).toBe(201);
    const again = await acme.request('POST', '/v1/assets', { ...body, name: 'again' });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'conflict', details: { field: 'symbol' } });
    const otherProgram = (await other.request('POST', '/v1/programs', { name: 'p' })).json().id;
    const elsewhere = await other.request('POST', '/v1/assets', { ...body, program_id: otherProgram });
    expect(elsewhere.statusCode).toBe(201);
  });

  it('refuses a symbol that differs from an existing one only by case with 409 conflict', async () => {
    const body = assetBody({ symbol: 'MiLeS' });
    expect((await acme.request('POST', '/v1/assets', body)).statusCode).toBe(201);
    for (const symbol of ['miles', 'MILES']) {
      const again = await acme.request('POST', '/v1/assets', { ...body, symbol });
      expect(again.statusCode).toBe(409);
      expect(again.json()).toMatchObject({ code: 'conflict', details: { field: 'symbol' } });
    }
    const listed = (await acme.request('GET', '/v1/assets?search=miles')).json();
    expect(listed.data.map((asset: { symbol: string }) => asset.symbol)).toEqual(['MiLeS']);
  });

  it('takes a symbol of 16 characters and scale 18, refuses 17 characters, scale 19 and punctuation', async () => {
    expect((await acme.request('POST', '/v1/assets', assetBody({ symbol: 'A'.repeat(16) }))).statusCode).toBe(
      201,
    );
    expect((await acme.request('POST', '/v1/assets', assetBody({ scale: 18 }))).statusCode).toBe(201);
    for (const [override, field] of [
      [{ symbol: 'A'.repeat(17) }, 'symbol'],
      [{ symbol: 'PT-S' }, 'symbol'],
      [{ scale: 19 }, 'scale'],
      [{ scale: -1 }, 'scale'],
      [{ inventory_mode: 'BATCH' }, 'inventory_mode'],
    ] as const) {
      const response = await acme.request('POST', '/v1/assets', assetBody(override));
      expect(response.statusCode).toBe(400);
      expect(response.json().details.field).toBe(field);
    }
  });

  it('refuses a ceiling with more decimals than the scale (invalid_scale) and a non-positive one', async () => {
    const excess = await acme.request('POST', '/v1/assets', assetBody({ max_transaction_amount: '1.001' }));
    expect(excess.statusCode).toBe(400);
    expect(excess.json().code).toBe('invalid_scale');
    for (const bad of ['0', '-1', '1e5', ' 1']) {
      const response = await acme.request('POST', '/v1/assets', assetBody({ max_transaction_amount: bad }));
      expect(response.statusCode).toBe(400);
      expect(response.json().code).toBe('bad_request');
    }
  });

  it("answers 404 for another organization's program", async () => {
    const response = await other.request('POST', '/v1/assets', assetBody());
    expect(response.statusCode).toBe(404);
  });
});

describe('GET and PATCH /v1/assets', () => {
  it('filters by program, status and search, and pages', async () => {
    const org = await t.createOrganization();
    const p1 = (await org.request('POST', '/v1/programs', { name: 'p1' })).json().id;
    const p2 = (await org.request('POST', '/v1/programs', { name: 'p2' })).json().id;
    const base = { inventory_mode: 'LOT', issuance_policy: 'PREFUNDED', scale: 0 };
    const a = (
      await org.request('POST', '/v1/assets', { ...base, program_id: p1, name: 'Miles', symbol: 'MI' })
    ).json();
    const b = (
      await org.request('POST', '/v1/assets', { ...base, program_id: p2, name: 'Nights', symbol: 'NT' })
    ).json();
    await org.request('PATCH', `/v1/assets/${b.id}`, { status: 'ARCHIVED' });
    const ids = async (query: string) =>
      (await org.request('GET', `/v1/assets${query}`)).json().data.map((x: { id: string }) => x.id);
    expect(await ids('')).toEqual([b.id, a.id]);
    expect(await ids(`?program_id=${p1}`)).toEqual([a.id]);
    expect(await ids('?status=ARCHIVED')).toEqual([b.id]);
    expect(await ids('?search=nig')).toEqual([b.id]);
    expect(await ids('?search=mi')).toEqual([a.id]);
    const first = (await org.request('GET', '/v1/assets?limit=1')).json();
    const second = (
      await org.request('GET', `/v1/assets?limit=1&cursor=${first.pagination.next_cursor}`)
    ).json();
    expect([...first.data, ...second.data].map((x: { id: string }) => x.id)).toEqual([b.id, a.id]);
    expect(second.pagination.has_more).toBe(false);
  });

  it('renames, sets and clears the ceiling, and archives permanently', async () => {
    const asset = (await acme.request('POST', '/v1/assets', assetBody())).json();
    const renamed = await acme.request('PATCH', `/v1/assets/${asset.id}`, {
      name: 'Renamed',
      max_transaction_amount: '5',
    });
    expect(renamed.json()).toMatchObject({ name: 'Renamed', max_transaction_amount: '5.00' });
    const cleared = await acme.request('PATCH', `/v1/assets/${asset.id}`, { max_transaction_amount: null });
    expect(cleared.json().max_transaction_amount).toBeNull();
    const archived = (await acme.request('PATCH', `/v1/assets/${asset.id}`, { status: 'ARCHIVED' })).json();
    expect(archived.status).toBe('ARCHIVED');
    expect(archived.deleted_at).not.toBeNull();
    const back = await acme.request('PATCH', `/v1/assets/${asset.id}`, { status: 'ACTIVE' });
    expect(back.statusCode).toBe(400);
    for (const field of ['scale', 'inventory_mode', 'issuance_policy']) {
      const response = await acme.request('PATCH', `/v1/assets/${asset.id}`, { [field]: 1 });
      expect(response.statusCode).toBe(400);
      expect(response.json().details.field).toBe(field);
    }
  });

  it("answers 404 for another organization's asset on GET and PATCH", async () => {
    const asset = (await acme.request('POST', '/v1/assets', assetBody())).json();
    expect((await other.request('GET', `/v1/assets/${asset.id}`)).statusCode).toBe(404);
    expect((await other.request('PATCH', `/v1/assets/${asset.id}`, { name: 'x' })).statusCode).toBe(404);
    expect((await acme.request('GET', `/v1/assets/${asset.id}`)).json().name).toBe('Points');
  });
});

describe('program asset links', () => {
  it('links, lists and unlinks an asset; a second link is a conflict', async () => {
    const asset = (await acme.request('POST', '/v1/assets', assetBody())).json();
    const second = (await acme.request('POST', '/v1/programs', { name: 'second' })).json().id;
    const linked = await acme.request('POST', `/v1/programs/${second}/assets`, { asset_id: asset.id });
    expect(linked.statusCode).toBe(200);
    expect(linked.json().program_ids).toEqual([programId, second]);
    const again = await acme.request('POST', `/v1/programs/${second}/assets`, { asset_id: asset.id });
    expect(again.statusCode).toBe(409);
    const listed = (await acme.request('GET', `/v1/programs/${second}/assets`)).json();
    expect(listed.data.map((x: { id: string }) => x.id)).toEqual([asset.id]);
    expect((await acme.request('DELETE', `/v1/programs/${second}/assets/${asset.id}`)).statusCode).toBe(204);
    expect((await acme.request('GET', `/v1/programs/${second}/assets`)).json().data).toEqual([]);
    expect((await acme.request('DELETE', `/v1/programs/${second}/assets/${asset.id}`)).statusCode).toBe(404);
  });

  it('makes a link permanent without waiting on a first use in flight, even when that one rolls back', async () => {
    const asset = (await acme.request('POST', '/v1/assets', assetBody())).json();
    const db = t.database.handle.db;
    const now = new Date();
    const use = (trx: typeof db) => requireUsableAsset(trx, acme.organizationId, programId, asset.id, now);
    let secondUsed = false;
    await expect(
      db.transaction().execute(async (first) => {
        await use(first);
        // The first transaction holds the link's row lock: the second neither waits nor fails.
        await db.transaction().execute(async (second) => {
          await use(second);
          secondUsed = true;
        });
        throw new Error('the first use rolls back');
      }),
    ).rejects.toThrow('the first use rolls back');
    expect(secondUsed).toBe(true);
    const unlinked = await acme.request('DELETE', `/v1/programs/${programId}/assets/${asset.id}`);
    expect(unlinked.statusCode).toBe(409);
    expect(unlinked.json().message).toBe(
      'the link is permanent: ledger entries exist for this asset in this program',
    );
  });

  it("answers 404 for another organization's program or asset", async () => {
    const asset = (await acme.request('POST', '/v1/assets', assetBody())).json();
    const theirs = (await other.request('POST', '/v1/programs', { name: 'theirs' })).json().id;
    expect(
      (await other.request('POST', `/v1/programs/${theirs}/assets`, { asset_id: asset.id })).statusCode,
    ).toBe(404);
    expect((await other.request('GET', `/v1/programs/${programId}/assets`)).statusCode).toBe(404);
    expect((await other.request('DELETE', `/v1/programs/${programId}/assets/${asset.id}`)).statusCode).toBe(
      404,
    );
  });
});
