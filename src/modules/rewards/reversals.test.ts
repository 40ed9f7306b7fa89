import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestApp,
  createLedgerFixture,
  type LedgerFixture,
  subscribeToWebhooks,
  type Tenant,
  type TestApp,
} from '../../../test/harness.js';
import { runExpiry } from '../ledger/index.js';

let t: TestApp;
let acme: Tenant;
let other: Tenant;

beforeAll(async () => {
  t = await buildTestApp({ pool: { sizeMax: 12, waitMs: 30_000 } });
  acme = await t.createOrganization();
  await subscribeToWebhooks(acme, ['redemption.reversed']);
  other = await t.createOrganization();
});

async function earn(
  f: LedgerFixture,
  amount: string,
  extra: Record<string, unknown> = {},
  participantId = f.participantId,
) {
  const response = await acme.request('POST', `/v1/participants/${participantId}/balances/adjust`, {
    program_id: f.programId,
    asset_id: f.assetId,
    description: 'earned',
    type: 'CREDIT',
    amount,
    ...extra,
  });
  expect(response.statusCode).toBe(200);
}

async function redeem(f: LedgerFixture, amount: string) {
  const response = await acme.request('POST', `/v1/participants/${f.participantId}/redemptions`, {
    program_id: f.programId,
    asset_id: f.assetId,
    amount,
    description: 'Order 42',
  });
  expect(response.statusCode).toBe(201);
  return response.json();
}

function reverse(redemptionId: string, body: Record<string, unknown> = {}, tenant = acme) {
  return tenant.request('POST', `/v1/redemptions/${redemptionId}/reverse`, { reason: 'refund', ...body });
}

async function redemption(id: string) {
  return (await acme.request('GET', `/v1/redemptions/${id}`)).json();
}

async function available(f: LedgerFixture, participantId = f.participantId) {
  const response = await acme.request(
    'GET',
    `/v1/participants/${participantId}/balances?asset_id=${f.assetId}`,
  );
  return response.json().data[0]?.available;
}

describe('POST /v1/redemptions/{id}/reverse', () => {
  it('reverses in parts, COMPLETED to PARTIALLY_REVERSED to FULLY_REVERSED, and lists them oldest first', async () => {
    t.testClock.set('2026-08-01T00:00:00Z');
    const f = await createLedgerFixture(acme);
    await earn(f, '100');
    const made = await redeem(f, '60');
    t.testClock.advance(1000);
    const first = await reverse(made.id, { amount: '20.5', reason: 'one item returned' });
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({
      redemption_id: made.id,
      amount: '20.50',
      quantity: null,
      reason: 'one item returned',
    });
    expect(await redemption(made.id)).toMatchObject({
      status: 'PARTIALLY_REVERSED',
      reversed_amount: '20.50',
    });
    expect(await available(f)).toBe('60.50');
    const entry = (await acme.request('GET', `/v1/journal-entries/${first.json().journal_entry_id}`)).json();
    expect(entry).toMatchObject({
      action_type: 'REVERSAL',
      description: 'one item returned',
      program_id: f.programId,
    });
    t.testClock.advance(1000);
    const rest = await reverse(made.id);
    expect(rest.json().amount).toBe('39.50');
    expect(await redemption(made.id)).toMatchObject({ status: 'FULLY_REVERSED', reversed_amount: '60.00' });
    expect(await available(f)).toBe('100.00');
    const listed = (await acme.request('GET', `/v1/redemptions/${made.id}/reversals?limit=1`)).json();
    expect(listed.data.map((r: { amount: string }) => r.amount)).toEqual(['20.50']);
    const next = (
      await acme.request(
        'GET',
        `/v1/redemptions/${made.id}/reversals?cursor=${listed.pagination.next_cursor}`,
      )
    ).json();
    expect(next.data).toEqual([rest.json()]);
    const filtered = (
      await acme.request('GET', `/v1/journal-entries?action_type=REVERSAL&participant_id=${f.participantId}`)
    ).json();
    expect(filtered.data).toHaveLength(2);
    const linked = (await acme.request('GET', `/v1/journal-entries?reference_id=${made.id}`)).json();
    expect(linked.data.map((e: { action_type: string }) => e.action_type)).toEqual([
      'REVERSAL',
      'REVERSAL',
      'REDEMPTION',
    ]);
    const outbox = await sql<{
      topic: string;
    }>`select topic from outbox where organization_id = ${acme.organizationId}
      and payload->>'redemption_id' = ${made.id}`.execute(t.database.handle.db);
    expect(outbox.rows.map((row) => row.topic)).toEqual(['redemption.reversed', 'redemption.reversed']);
  });

  it('never reverses more than is left, and refuses a fully reversed redemption', async () => {
    const f = await createLedgerFixture(acme);
    await earn(f, '100');
    const made = await redeem(f, '10');
    const over = await reverse(made.id, { amount: '10.01' });
    expect(over.statusCode).toBe(400);
    expect(over.json().details).toMatchObject({ field: 'amount', reason: 'exceeds_remaining' });
    expect((await reverse(made.id, { amount: '10' })).statusCode).toBe(201);
    const again = await reverse(made.id, { amount: '0.01' });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'conflict', details: { reason: 'fully_reversed' } });
    expect(await available(f)).toBe('100.00');
  });

  it('validates reason, amount and quantity, naming the field and changing nothing', async () => {
    const f = await createLedgerFixture(acme);
    await earn(f, '100');
    const made = await redeem(f, '10');
    const cases: [Record<string, unknown>, string, string][] = [
      [{ reason: '' }, 'reason', 'bad_request'],
      [{ reason: undefined }, 'reason', 'bad_request'],
      [{ reason: 'r'.repeat(501) }, 'reason', 'bad_request'],
      [{ amount: '0' }, 'amount', 'bad_request'],
      [{ amount: '1.001' }, 'amount', 'invalid_scale'],
      [{ quantity: 1 }, 'quantity', 'bad_request'],
      [{ quantity: 0 }, 'quantity', 'bad_request'],
    ];
    for (const [body, field, code] of cases) {
      const response = await reverse(made.id, body);
      expect(response.statusCode, field).toBe(400);
      expect(response.json()).toMatchObject({ code, details: { field } });
    }
    expect(await redemption(made.id)).toMatchObject({ status: 'COMPLETED', reversed_amount: '0.00' });
    expect((await reverse(made.id, { reason: 'r'.repeat(500), amount: '1' })).statusCode).toBe(201);
  });

  it('replays a key with 200 and refuses it with another payload', async () => {
    const f = await createLedgerFixture(acme);
    await earn(f, '100');
    const made = await redeem(f, '10');
    const first = await reverse(made.id, { amount: '4', idempotency_key: 'refund-1' });
    const replay = await reverse(made.id, { amount: '4.00', idempotency_key: 'refund-1' });
    expect(replay.statusCode).toBe(200);
    expect(replay.json()).toEqual(first.json());
    const changed = await reverse(made.id, { amount: '5', idempotency_key: 'refund-1' });
    expect(changed.json().code).toBe('idempotency_conflict');
    expect(await redemption(made.id)).toMatchObject({ reversed_amount: '4.00' });
  });

  it('never exceeds the original under concurrent reversals', async () => {
    const f = await createLedgerFixture(acme);
    await earn(f, '100');
    const made = await redeem(f, '50');
    const responses = await Promise.all(Array.from({ length: 10 }, () => reverse(made.id, { amount: '10' })));
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.filter((s) => s !== 201).every((s) => s === 409 || s === 400)).toBe(true);
    expect(await redemption(made.id)).toMatchObject({ status: 'FULLY_REVERSED', reversed_amount: '50.00' });
    expect(await available(f)).toBe('100.00');
  });

  it("answers 404 for another organization's redemption and its reversals", async () => {
    const f = await createLedgerFixture(acme);
    await earn(f, '100');
    const made = await redeem(f, '10');
    expect((await reverse(made.id, {}, other)).statusCode).toBe(404);
    expect((await other.request('GET', `/v1/redemptions/${made.id}/reversals`)).statusCode).toBe(404);
    expect((await reverse('01900000-0000-7000-8000-000000000000')).statusCode).toBe(404);
    expect(await redemption(made.id)).toMatchObject({ status: 'COMPLETED' });
  });

  it('takes the value back from the target captured on the redemption, not the current one', async () => {
    const f = await createLedgerFixture(acme);
    const external_id = `merchant-${Math.random().toString(36).slice(2)}`;
    const merchant = (
      await acme.request('POST', '/v1/participants', { external_id, program_id: f.programId })
    ).json().id;
    await acme.request('PATCH', `/v1/programs/${f.programId}`, {
      redemption_target_type: 'LEDGER_ENTITY',
      redemption_target_entity_id: merchant,
    });
    await earn(f, '100');
    const made = await redeem(f, '30');
    await acme.request('PATCH', `/v1/programs/${f.programId}`, {
      redemption_target_type: 'SYSTEM_REDEMPTION',
    });
    expect((await reverse(made.id, { amount: '10' })).statusCode).toBe(201);
    expect(await available(f, merchant)).toBe('20.00');
    await acme.request('POST', `/v1/participants/${merchant}/balances/adjust`, {
      program_id: f.programId,
      asset_id: f.assetId,
      description: 'merchant spends',
      type: 'DEBIT',
      amount: '15',
    });
    const short = await reverse(made.id);
    expect(short.statusCode).toBe(422);
    expect(short.json().code).toBe('insufficient_balance');
    expect(await available(f)).toBe('80.00');
  });
});

describe('UNIT_BASED reversals', () => {
  it('give back units, lower redeemed_count and bring OUT_OF_STOCK back to ACTIVE', async () => {
    const f = await createLedgerFixture(acme);
    await earn(f, '100');
    const reward = (
      await acme.request('POST', `/v1/programs/${f.programId}/rewards`, {
        name: 'Mug',
        redemption_type: 'UNIT_BASED',
        unit_cost: '10',
        max_total: 3,
        status: 'ACTIVE',
        asset_id: f.assetId,
      })
    ).json();
    const made = (
      await acme.request('POST', `/v1/participants/${f.participantId}/redemptions/items`, {
        program_id: f.programId,
        reward_id: reward.id,
        quantity: 3,
      })
    ).json();
    const rewardUrl = `/v1/programs/${f.programId}/rewards/${reward.id}`;
    expect((await acme.request('GET', rewardUrl)).json().status).toBe('OUT_OF_STOCK');
    expect((await reverse(made.id, { amount: '10' })).json().details.field).toBe('amount');
    const tooMany = await reverse(made.id, { quantity: 4 });
    expect(tooMany.json().details).toMatchObject({ field: 'quantity', reason: 'exceeds_remaining' });
    const one = await reverse(made.id, { quantity: 1 });
    expect(one.json()).toMatchObject({ amount: '10.00', quantity: 1 });
    expect(await redemption(made.id)).toMatchObject({
      status: 'PARTIALLY_REVERSED',
      reversed_quantity: 1,
      reversed_amount: '10.00',
    });
    expect((await acme.request('GET', rewardUrl)).json()).toMatchObject({
      redeemed_count: 2,
      status: 'ACTIVE',
    });
    const rest = await reverse(made.id);
    expect(rest.json()).toMatchObject({ amount: '20.00', quantity: 2 });
    expect((await acme.request('GET', rewardUrl)).json().redeemed_count).toBe(0);
    expect(await available(f)).toBe('100.00');
  });
});

describe('LOT reversals', () => {
  const lotAsset = { inventory_mode: 'LOT', scale: 0 };

  it('restore the consumed lots last first, keeping their expiry; an expired one is expired again', async () => {
    t.testClock.set('2026-09-01T00:00:00Z');
    const f = await createLedgerFixture(acme, lotAsset);
    await earn(f, '10', { expires_at: '2026-09-10T00:00:00Z' });
    t.testClock.advance(1000);
    await earn(f, '10', { expires_at: '2026-12-01T00:00:00Z' });
    t.testClock.advance(1000);
    await earn(f, '10');
    const made = await redeem(f, '25');
    const [soon, later, never] = made.lots_consumed.map((l: { lot_id: string }) => l.lot_id);
    expect(made.lots_consumed.map((l: { amount: string }) => l.amount)).toEqual(['10', '10', '5']);
    const lot = async (id: string) =>
      (await acme.request('GET', `/v1/participants/${f.participantId}/balances/lots?asset_id=${f.assetId}`))
        .json()
        .data.find((row: { id: string }) => row.id === id);

    await reverse(made.id, { amount: '8' });
    expect(await lot(never)).toMatchObject({ remaining: '10', status: 'AVAILABLE', expires_at: null });
    expect(await lot(later)).toMatchObject({
      remaining: '3',
      status: 'AVAILABLE',
      expires_at: '2026-12-01T00:00:00.000Z',
    });
    expect(await lot(soon)).toMatchObject({ remaining: '0', status: 'CONSUMED' });
    expect((await redemption(made.id)).lots_consumed.map((l: { restored: string }) => l.restored)).toEqual([
      '0',
      '3',
      '5',
    ]);

    t.testClock.set('2026-09-20T00:00:00Z');
    await reverse(made.id);
    expect(await lot(soon)).toMatchObject({
      remaining: '10',
      status: 'AVAILABLE',
      expires_at: '2026-09-10T00:00:00.000Z',
    });
    expect(await lot(later)).toMatchObject({ remaining: '10' });
    expect(await available(f)).toBe('30');
    await runExpiry(t.database.handle.db, t.testClock.clock);
    expect(await lot(soon)).toMatchObject({ remaining: '0', status: 'EXPIRED' });
    expect(await available(f)).toBe('20');
    const expirations = (
      await acme.request(
        'GET',
        `/v1/journal-entries?participant_id=${f.participantId}&action_type=EXPIRATION`,
      )
    ).json();
    expect(expirations.data).toHaveLength(1);
    expect(
      expirations.data[0].postings.find((p: { entity_type: string }) => p.entity_type === 'PARTICIPANT')
        .amount,
    ).toBe('-10');
  });

  it('give a ledger-entity target a lot and take it back from its lots on reversal', async () => {
    t.testClock.set('2026-11-01T00:00:00Z');
    const f = await createLedgerFixture(acme, lotAsset);
    const external_id = `shop-${Math.random().toString(36).slice(2)}`;
    const shop = (
      await acme.request('POST', '/v1/participants', { external_id, program_id: f.programId })
    ).json().id;
    await acme.request('PATCH', `/v1/programs/${f.programId}`, {
      redemption_target_type: 'LEDGER_ENTITY',
      redemption_target_entity_id: shop,
    });
    await earn(f, '10', { expires_at: '2027-06-01T00:00:00Z' });
    const made = await redeem(f, '6');
    const shopLots = async () =>
      (await acme.request('GET', `/v1/participants/${shop}/balances/lots?asset_id=${f.assetId}`))
        .json()
        .data.map((l: { amount: string; remaining: string; expires_at: string | null }) => [
          l.amount,
          l.remaining,
          l.expires_at,
        ]);
    expect(await shopLots()).toEqual([['6', '6', null]]);
    await reverse(made.id, { amount: '4' });
    expect(await shopLots()).toEqual([['6', '2', null]]);
    expect(await available(f, shop)).toBe('2');
    expect(await available(f)).toBe('8');
  });

  it('restore a lot that was held meanwhile as a new AVAILABLE lot, leaving the hold alone', async () => {
    t.testClock.set('2026-10-01T00:00:00Z');
    const f = await createLedgerFixture(acme, lotAsset);
    await earn(f, '10', { expires_at: '2027-01-01T00:00:00Z' });
    const made = await redeem(f, '4');
    await acme.request('POST', `/v1/participants/${f.participantId}/balances/hold`, {
      program_id: f.programId,
      asset_id: f.assetId,
      description: 'hold the rest',
      reference_id: 'auth-1',
    });
    await reverse(made.id);
    const lots = (
      await acme.request('GET', `/v1/participants/${f.participantId}/balances/lots?asset_id=${f.assetId}`)
    ).json().data;
    expect(lots.map((l: { status: string; remaining: string }) => [l.status, l.remaining])).toEqual([
      ['AVAILABLE', '4'],
      ['HELD', '6'],
    ]);
    expect(lots[0].expires_at).toBe('2027-01-01T00:00:00.000Z');
    const balance = (
      await acme.request('GET', `/v1/participants/${f.participantId}/balances?asset_id=${f.assetId}`)
    ).json().data[0];
    expect(balance).toMatchObject({ available: '4', held: '6' });
  });
});
