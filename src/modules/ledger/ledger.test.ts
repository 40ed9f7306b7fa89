import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestApp,
  createLedgerFixture,
  type LedgerFixture,
  type Tenant,
  type TestApp,
} from '../../../test/harness.js';
import { systemOwnerIds } from './accounts.js';

let t: TestApp;
let acme: Tenant;
let other: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  other = await t.createOrganization();
});

function adjust(tenant: Tenant, f: LedgerFixture, body: Record<string, unknown>) {
  return tenant.request('POST', `/v1/participants/${f.participantId}/balances/adjust`, {
    program_id: f.programId,
    asset_id: f.assetId,
    description: 'test',
    ...body,
  });
}

function operate(tenant: Tenant, f: LedgerFixture, path: string, body: Record<string, unknown> = {}) {
  return tenant.request('POST', `/v1/participants/${f.participantId}/balances/${path}`, {
    program_id: f.programId,
    asset_id: f.assetId,
    description: 'test',
    ...body,
  });
}

async function integrity(tenant: Tenant) {
  const response = await tenant.request('GET', '/v1/reports/integrity');
  if (response.statusCode !== 200 || !response.json().all_passed) console.log(response.body);
  return response.json();
}

describe('POST /v1/participants/{id}/balances/adjust', () => {
  it('creates the three system accounts of an asset with the asset, before any posting', async () => {
    const f = await createLedgerFixture(acme);
    const { rows } = await sql<{ owner_id: string; bucket: string; balance: string }>`
      select owner_id, bucket, balance from ledger_accounts
      where organization_id = ${acme.organizationId} and asset_id = ${f.assetId} order by owner_id`.execute(
      t.database.handle.db,
    );
    expect(rows).toEqual(
      ['SYSTEM_ISSUANCE', 'SYSTEM_BREAKAGE', 'SYSTEM_REDEMPTION'].map((name) => ({
        owner_id: systemOwnerIds[name as keyof typeof systemOwnerIds],
        bucket: 'AVAILABLE',
        balance: '0',
      })),
    );
  });

  it('credits from issuance and debits to redemption, answering the spec shape', async () => {
    const f = await createLedgerFixture(acme);
    const credited = await adjust(acme, f, { type: 'CREDIT', amount: '100' });
    expect(credited.statusCode).toBe(200);
    expect(credited.json()).toMatchObject({
      amount: '100.00',
      asset_id: f.assetId,
      balance: { available: '100.00', held: '0.00', deferred: '0.00' },
      bucket: 'AVAILABLE',
      message: 'Balance adjusted successfully',
      program_id: f.programId,
      type: 'CREDIT',
    });
    const debited = await adjust(acme, f, { type: 'DEBIT', amount: '30.5' });
    expect(debited.json().balance.available).toBe('69.50');
    const entry = (
      await acme.request('GET', `/v1/journal-entries/${credited.json().journal_entry_id}`)
    ).json();
    expect(entry.action_type).toBe('CREDIT');
    expect(
      entry.postings.map((p: { amount: string; entity_type: string }) => [p.entity_type, p.amount]).sort(),
    ).toEqual([
      ['PARTICIPANT', '100.00'],
      ['SYSTEM', '-100.00'],
    ]);
    const participant = (await acme.request('GET', `/v1/participants/${f.participantId}`)).json();
    expect(participant.balances).toEqual([
      { asset_id: f.assetId, available: '69.50', held: '0.00', deferred: '0.00' },
    ]);
    expect((await integrity(acme)).all_passed).toBe(true);
  });

  it('refuses an overdraft with 422 insufficient_balance and changes nothing, unless allow_negative', async () => {
    const f = await createLedgerFixture(acme);
    await adjust(acme, f, { type: 'CREDIT', amount: '10' });
    const refused = await adjust(acme, f, { type: 'DEBIT', amount: '10.01' });
    expect(refused.statusCode).toBe(422);
    expect(refused.json().code).toBe('insufficient_balance');
    const balances = (await acme.request('GET', `/v1/participants/${f.participantId}/balances`)).json();
    expect(balances.data[0].available).toBe('10.00');
    const overdraft = await adjust(acme, f, { type: 'DEBIT', amount: '15', allow_negative: true });
    expect(overdraft.json().balance.available).toBe('-5.00');
  });

  it('refuses excess decimals, zero, and amounts over max_transaction_amount', async () => {
    const f = await createLedgerFixture(acme, { max_transaction_amount: '50' });
    const excess = await adjust(acme, f, { type: 'CREDIT', amount: '1.001' });
    expect(excess.statusCode).toBe(400);
    expect(excess.json().code).toBe('invalid_scale');
    expect((await adjust(acme, f, { type: 'CREDIT', amount: '0' })).json().code).toBe('bad_request');
    expect((await adjust(acme, f, { type: 'CREDIT', amount: '50' })).statusCode).toBe(200);
    const over = await adjust(acme, f, { type: 'CREDIT', amount: '50.01' });
    expect(over.statusCode).toBe(400);
    expect(over.json().code).toBe('max_transaction_amount_exceeded');
  });

  it('refuses an archived asset, an unlinked asset, an inactive participant and foreign ids', async () => {
    const f = await createLedgerFixture(acme);
    const g = await createLedgerFixture(acme);
    const unlinked = await adjust(acme, { ...f, assetId: g.assetId }, { type: 'CREDIT', amount: '1' });
    expect(unlinked.statusCode).toBe(422);
    expect(unlinked.json().code).toBe('asset_not_linked');
    await acme.request('PATCH', `/v1/participants/${f.participantId}/status`, { status: 'SUSPENDED' });
    expect((await adjust(acme, f, { type: 'CREDIT', amount: '1' })).json().code).toBe('participant_inactive');
    await acme.request('PATCH', `/v1/assets/${g.assetId}`, { status: 'ARCHIVED' });
    expect((await adjust(acme, g, { type: 'CREDIT', amount: '1' })).json().code).toBe('asset_archived');
    const foreign = await adjust(other, f, { type: 'CREDIT', amount: '1' });
    expect(foreign.statusCode).toBe(404);
  });
});

describe('hold, release and forfeit on a SIMPLE asset', () => {
  it('holds, releases part, and forfeits from HELD and AVAILABLE to breakage', async () => {
    const f = await createLedgerFixture(acme);
    await adjust(acme, f, { type: 'CREDIT', amount: '100' });
    const held = await operate(acme, f, 'hold', { amount: '40', reference_id: 'order-1' });
    expect(held.statusCode).toBe(200);
    expect(held.json()).toMatchObject({
      amount_processed: '40.00',
      balance: { available: '60.00', held: '40.00', deferred: '0.00' },
      message: 'Processed 40.00',
      operation: 'HOLD',
      reference_id: 'order-1',
    });
    expect(held.json().lots_processed).toBeUndefined();
    const released = await operate(acme, f, 'release', { amount: '15' });
    expect(released.json().balance).toEqual({ available: '75.00', held: '25.00', deferred: '0.00' });
    const forfeitHeld = await operate(acme, f, 'forfeit', { bucket: 'HELD' });
    expect(forfeitHeld.json()).toMatchObject({ amount_processed: '25.00', operation: 'FORFEIT' });
    const all = await operate(acme, f, 'hold');
    expect(all.json().balance).toEqual({ available: '0.00', held: '75.00', deferred: '0.00' });
    const releaseAll = await operate(acme, f, 'release');
    expect(releaseAll.json().balance.available).toBe('75.00');
    const entry = (
      await acme.request('GET', `/v1/journal-entries/${forfeitHeld.json().journal_entry_id}`)
    ).json();
    expect(
      entry.postings.find((p: { entity_type: string }) => p.entity_type === 'SYSTEM').system_account,
    ).toBe('SYSTEM_BREAKAGE');
    expect((await integrity(acme)).all_passed).toBe(true);
  });

  it('refuses to hold more than AVAILABLE, to forfeit without bucket, and void-hold on SIMPLE', async () => {
    const f = await createLedgerFixture(acme);
    await adjust(acme, f, { type: 'CREDIT', amount: '5' });
    const tooMuch = await operate(acme, f, 'hold', { amount: '5.01' });
    expect(tooMuch.statusCode).toBe(422);
    expect(tooMuch.json().code).toBe('insufficient_balance');
    expect((await operate(acme, f, 'release')).json().code).toBe('insufficient_balance');
    const noBucket = await operate(acme, f, 'forfeit', { amount: '1' });
    expect(noBucket.json()).toMatchObject({ code: 'bad_request', details: { field: 'bucket' } });
    const simpleVoid = await operate(acme, f, 'void-hold', { reference_id: 'r' });
    expect(simpleVoid.json().code).toBe('unsupported_inventory_mode');
    expect((await operate(acme, f, 'void-hold', {})).json().details.field).toBe('reference_id');
    const lotsOnSimple = await operate(acme, f, 'hold', { lot_ids: [f.assetId] });
    expect(lotsOnSimple.json().details.field).toBe('lot_ids');
    const balances = (await acme.request('GET', `/v1/participants/${f.participantId}/balances`)).json();
    expect(balances.data[0]).toMatchObject({ available: '5.00', held: '0.00' });
  });

  it('allows forfeit but not hold for a CLOSED participant', async () => {
    const f = await createLedgerFixture(acme);
    await adjust(acme, f, { type: 'CREDIT', amount: '5' });
    await acme.request('PATCH', `/v1/participants/${f.participantId}/status`, { status: 'CLOSED' });
    expect((await operate(acme, f, 'hold')).json().code).toBe('participant_inactive');
    const forfeited = await operate(acme, f, 'forfeit', { bucket: 'AVAILABLE' });
    expect(forfeited.json().balance.available).toBe('0.00');
  });

  it("answers 404 for another organization's participant on every balance route", async () => {
    const f = await createLedgerFixture(acme);
    for (const path of ['hold', 'release', 'forfeit', 'void-hold']) {
      const response = await operate(other, f, path, { bucket: 'AVAILABLE', reference_id: 'r' });
      expect(response.statusCode, path).toBe(404);
    }
    for (const path of [
      'balances',
      `balances/lots?asset_id=${f.assetId}`,
      `statement?asset_id=${f.assetId}`,
      'activity/history',
    ]) {
      expect(
        (await other.request('GET', `/v1/participants/${f.participantId}/${path}`)).statusCode,
        path,
      ).toBe(404);
    }
  });

  it('takes a description of 500 characters and refuses 501', async () => {
    const f = await createLedgerFixture(acme);
    expect(
      (await adjust(acme, f, { type: 'CREDIT', amount: '1', description: 'd'.repeat(500) })).statusCode,
    ).toBe(200);
    const long = await adjust(acme, f, { type: 'CREDIT', amount: '1', description: 'd'.repeat(501) });
    expect(long.json().details.field).toBe('description');
  });
});

describe('idempotency', () => {
  it('replays the original response for the same key and payload, and 409s a different payload', async () => {
    const f = await createLedgerFixture(acme);
    await adjust(acme, f, { type: 'CREDIT', amount: '100' });
    const first = await operate(acme, f, 'hold', { amount: '10', idempotency_key: 'order-1-hold' });
    const replay = await operate(acme, f, 'hold', { amount: '10.00', idempotency_key: 'order-1-hold' });
    expect(replay.statusCode).toBe(200);
    expect(replay.json()).toEqual(first.json());
    const conflict = await operate(acme, f, 'hold', { amount: '11', idempotency_key: 'order-1-hold' });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().code).toBe('idempotency_conflict');
    const balances = (await acme.request('GET', `/v1/participants/${f.participantId}/balances`)).json();
    expect(balances.data[0]).toMatchObject({ available: '90.00', held: '10.00' });
  });

  it('does not spend a key on a refused request', async () => {
    const f = await createLedgerFixture(acme);
    const refused = await adjust(acme, f, { type: 'DEBIT', amount: '5', idempotency_key: 'k1' });
    expect(refused.statusCode).toBe(422);
    await adjust(acme, f, { type: 'CREDIT', amount: '5' });
    expect((await adjust(acme, f, { type: 'DEBIT', amount: '5', idempotency_key: 'k1' })).statusCode).toBe(
      200,
    );
  });

  it('applies the same key from 20 concurrent requests once', async () => {
    const f = await createLedgerFixture(acme);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        adjust(acme, f, { type: 'CREDIT', amount: '7', idempotency_key: 'same' }),
      ),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    expect(new Set(responses.map((r) => r.json().journal_entry_id)).size).toBe(1);
    const balances = (await acme.request('GET', `/v1/participants/${f.participantId}/balances`)).json();
    expect(balances.data[0].available).toBe('7.00');
  });
});

describe('concurrency', () => {
  it('50 concurrent debits exceeding the balance: exactly the affordable ones succeed', async () => {
    const f = await createLedgerFixture(acme);
    await adjust(acme, f, { type: 'CREDIT', amount: '100' });
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => adjust(acme, f, { type: 'DEBIT', amount: '3' })),
    );
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 200)).toHaveLength(33);
    expect(statuses.filter((s) => s === 422)).toHaveLength(17);
    const balances = (await acme.request('GET', `/v1/participants/${f.participantId}/balances`)).json();
    expect(balances.data[0].available).toBe('1.00');
    expect((await integrity(acme)).all_passed).toBe(true);
  });

  it('concurrent credits, holds and releases on one account lose no update', async () => {
    const f = await createLedgerFixture(acme);
    await adjust(acme, f, { type: 'CREDIT', amount: '100' });
    const work = Array.from({ length: 30 }, (_, i) => {
      if (i % 3 === 0) return adjust(acme, f, { type: 'CREDIT', amount: '1' });
      if (i % 3 === 1) return operate(acme, f, 'hold', { amount: '2' });
      return operate(acme, f, 'release', { amount: '1' });
    });
    const responses = await Promise.all(work);
    const okHolds = responses.filter((r, i) => i % 3 === 1 && r.statusCode === 200).length;
    const okReleases = responses.filter((r, i) => i % 3 === 2 && r.statusCode === 200).length;
    const balances = (await acme.request('GET', `/v1/participants/${f.participantId}/balances`)).json()
      .data[0];
    const held = 2 * okHolds - okReleases;
    expect(balances.held).toBe(`${held}.00`);
    expect(balances.available).toBe(`${110 - held}.00`);
    expect((await integrity(acme)).all_passed).toBe(true);
  });
});

describe('limits', () => {
  it('takes idempotency_key and reference_id of 255 characters and refuses 256', async () => {
    const f = await createLedgerFixture(acme);
    await adjust(acme, f, { type: 'CREDIT', amount: '10' });
    const ok = await operate(acme, f, 'hold', {
      amount: '1',
      idempotency_key: 'k'.repeat(255),
      reference_id: 'r'.repeat(255),
    });
    expect(ok.statusCode).toBe(200);
    for (const field of ['idempotency_key', 'reference_id']) {
      const response = await operate(acme, f, 'hold', { amount: '1', [field]: 'x'.repeat(256) });
      expect(response.json().details.field).toBe(field);
    }
  });

  it('takes 100 lot_ids and refuses 101', async () => {
    const f = await createLedgerFixture(acme, { inventory_mode: 'LOT' });
    await adjust(acme, f, { type: 'CREDIT', amount: '10' });
    const ids = Array.from(
      { length: 101 },
      (_, i) => `01900000-0000-7000-8000-${String(i).padStart(12, '0')}`,
    );
    const hundred = await operate(acme, f, 'hold', { lot_ids: ids.slice(0, 100) });
    expect(hundred.json().code).toBe('insufficient_balance');
    const tooMany = await operate(acme, f, 'hold', { lot_ids: ids });
    expect(tooMany.json().details.field).toBe('lot_ids');
  });

  it('takes 30 significant digits of minor units and refuses 31', async () => {
    const f = await createLedgerFixture(acme, { scale: 0 });
    expect((await adjust(acme, f, { type: 'CREDIT', amount: '9'.repeat(30) })).statusCode).toBe(200);
    expect((await adjust(acme, f, { type: 'CREDIT', amount: '1'.repeat(31) })).json().details.field).toBe(
      'amount',
    );
  });
});
