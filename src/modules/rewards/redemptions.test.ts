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

let t: TestApp;
let acme: Tenant;
let other: Tenant;

beforeAll(async () => {
  t = await buildTestApp({ pool: { sizeMax: 12, waitMs: 30_000 } });
  acme = await t.createOrganization();
  await subscribeToWebhooks(acme, ['redemption.completed']);
  other = await t.createOrganization();
});

function adjust(f: LedgerFixture, body: Record<string, unknown>) {
  return acme.request('POST', `/v1/participants/${f.participantId}/balances/adjust`, {
    program_id: f.programId,
    asset_id: f.assetId,
    description: 'earned',
    ...body,
  });
}

function redeem(
  f: LedgerFixture,
  body: Record<string, unknown> = {},
  tenant = acme,
  participantId = f.participantId,
) {
  return tenant.request('POST', `/v1/participants/${participantId}/redemptions`, {
    program_id: f.programId,
    asset_id: f.assetId,
    amount: '30',
    description: 'Statement credit',
    ...body,
  });
}

function redeemItem(
  f: LedgerFixture,
  rewardId: string,
  body: Record<string, unknown> = {},
  participantId = f.participantId,
) {
  return acme.request('POST', `/v1/participants/${participantId}/redemptions/items`, {
    program_id: f.programId,
    reward_id: rewardId,
    ...body,
  });
}

async function createReward(f: LedgerFixture, body: Record<string, unknown> = {}) {
  const response = await acme.request('POST', `/v1/programs/${f.programId}/rewards`, {
    name: `Reward ${Math.random().toString(36).slice(2)}`,
    redemption_type: 'UNIT_BASED',
    unit_cost: '10',
    status: 'ACTIVE',
    asset_id: f.assetId,
    ...body,
  });
  expect(response.statusCode).toBe(201);
  return response.json();
}

async function available(f: LedgerFixture, participantId = f.participantId) {
  const response = await acme.request(
    'GET',
    `/v1/participants/${participantId}/balances?asset_id=${f.assetId}`,
  );
  return response.json().data[0]?.available;
}

async function newParticipant(f: LedgerFixture) {
  const external_id = `p-${Math.random().toString(36).slice(2)}`;
  return (await acme.request('POST', '/v1/participants', { external_id, program_id: f.programId })).json().id;
}

async function outboxTopics(organizationId: string) {
  const result = await sql<{ topic: string; payload: { id?: string } }>`select topic, payload from outbox
    where organization_id = ${organizationId} and topic like 'redemption.%' order by created_at, id`.execute(
    t.database.handle.db,
  );
  return result.rows;
}

async function redemptionCount(f: LedgerFixture) {
  return (await acme.request('GET', `/v1/participants/${f.participantId}/redemptions`)).json().data.length;
}

describe('POST /v1/participants/{id}/redemptions', () => {
  it('debits AVAILABLE into SYSTEM_REDEMPTION in one REDEMPTION entry and answers 201', async () => {
    const f = await createLedgerFixture(acme);
    await adjust(f, { type: 'CREDIT', amount: '100' });
    const response = await redeem(f, { amount: '30.5' });
    expect(response.statusCode).toBe(201);
    const redemption = response.json();
    expect(redemption).toMatchObject({
      participant_id: f.participantId,
      program_id: f.programId,
      asset_id: f.assetId,
      amount: '30.50',
      reward_id: null,
      quantity: null,
      unit_cost: null,
      reversed_amount: '0.00',
      status: 'COMPLETED',
      description: 'Statement credit',
      redemption_target_type: 'SYSTEM_REDEMPTION',
      redemption_target_entity_id: null,
      lots_consumed: [],
    });
    expect(await available(f)).toBe('69.50');
    const entry = (await acme.request('GET', `/v1/journal-entries/${redemption.journal_entry_id}`)).json();
    expect(entry.action_type).toBe('REDEMPTION');
    expect(entry.description).toBe('Statement credit');
    expect(
      entry.postings.map((p: { amount: string; entity_type: string }) => [p.entity_type, p.amount]).sort(),
    ).toEqual([
      ['PARTICIPANT', '-30.50'],
      ['SYSTEM', '30.50'],
    ]);
    const filtered = (
      await acme.request(
        'GET',
        `/v1/journal-entries?participant_id=${f.participantId}&action_type=REDEMPTION`,
      )
    ).json();
    expect(filtered.data.map((e: { id: string }) => e.id)).toEqual([redemption.journal_entry_id]);
    expect((await acme.request('GET', `/v1/redemptions/${redemption.id}`)).json()).toEqual(redemption);
    const outbox = await outboxTopics(acme.organizationId);
    expect(outbox.filter((row) => row.payload.id === redemption.id).map((row) => row.topic)).toEqual([
      'redemption.completed',
    ]);
  });

  it('refuses more than AVAILABLE with 422, held funds included, and changes nothing', async () => {
    const f = await createLedgerFixture(acme);
    await adjust(f, { type: 'CREDIT', amount: '100' });
    await acme.request('POST', `/v1/participants/${f.participantId}/balances/hold`, {
      program_id: f.programId,
      asset_id: f.assetId,
      amount: '50',
      description: 'hold',
    });
    const over = await redeem(f, { amount: '50.01' });
    expect(over.statusCode).toBe(422);
    expect(over.json().code).toBe('insufficient_balance');
    expect(await available(f)).toBe('50.00');
    expect(await redemptionCount(f)).toBe(0);
    expect((await redeem(f, { amount: '50' })).statusCode).toBe(201);
    expect(await available(f)).toBe('0.00');
  });

  it('validates amount, description and idempotency_key, naming the field', async () => {
    const f = await createLedgerFixture(acme);
    await adjust(f, { type: 'CREDIT', amount: '1000' });
    const cases: [Record<string, unknown>, string, string][] = [
      [{ amount: '0' }, 'amount', 'bad_request'],
      [{ amount: '-5' }, 'amount', 'bad_request'],
      [{ amount: 5 }, 'amount', 'bad_request'],
      [{ amount: '1.001' }, 'amount', 'invalid_scale'],
      [{ description: '' }, 'description', 'bad_request'],
      [{ description: undefined }, 'description', 'bad_request'],
      [{ description: 'd'.repeat(501) }, 'description', 'bad_request'],
      [{ idempotency_key: '' }, 'idempotency_key', 'bad_request'],
      [{ idempotency_key: 'k'.repeat(256) }, 'idempotency_key', 'bad_request'],
      [{ program_id: undefined }, 'program_id', 'bad_request'],
      [{ allow_negative: true }, 'allow_negative', 'bad_request'],
    ];
    for (const [body, field, code] of cases) {
      const response = await redeem(f, body);
      expect(response.statusCode, field).toBe(400);
      expect(response.json()).toMatchObject({ code, details: { field } });
    }
    expect(await redemptionCount(f)).toBe(0);
    const longest = await redeem(f, { description: 'd'.repeat(500), idempotency_key: 'k'.repeat(255) });
    expect(longest.statusCode).toBe(201);
  });

  it('applies max_transaction_amount at n and n+1', async () => {
    const f = await createLedgerFixture(acme, { max_transaction_amount: '50' });
    await adjust(f, { type: 'CREDIT', amount: '50' });
    await adjust(f, { type: 'CREDIT', amount: '50' });
    const over = await redeem(f, { amount: '50.01' });
    expect(over.statusCode).toBe(400);
    expect(over.json().code).toBe('max_transaction_amount_exceeded');
    expect((await redeem(f, { amount: '50' })).statusCode).toBe(201);
  });

  it('replays an idempotency_key with 200 and refuses it with another payload or participant', async () => {
    const f = await createLedgerFixture(acme);
    await adjust(f, { type: 'CREDIT', amount: '100' });
    const first = await redeem(f, { idempotency_key: 'order-1', amount: '10' });
    expect(first.statusCode).toBe(201);
    const replay = await redeem(f, { idempotency_key: 'order-1', amount: '10.00' });
    expect(replay.statusCode).toBe(200);
    expect(replay.json()).toEqual(first.json());
    const changed = await redeem(f, { idempotency_key: 'order-1', amount: '11' });
    expect(changed.statusCode).toBe(409);
    expect(changed.json().code).toBe('idempotency_conflict');
    const second = await newParticipant(f);
    await adjust({ ...f, participantId: second }, { type: 'CREDIT', amount: '100' });
    const elsewhere = await redeem(f, { idempotency_key: 'order-1', amount: '10' }, acme, second);
    expect(elsewhere.json().code).toBe('idempotency_conflict');
    expect(await available(f)).toBe('90.00');
    expect(await available(f, second)).toBe('100.00');
  });

  it('needs an ACTIVE participant, an ACTIVE program and a linked asset', async () => {
    const f = await createLedgerFixture(acme);
    await adjust(f, { type: 'CREDIT', amount: '100' });
    await acme.request('PATCH', `/v1/participants/${f.participantId}/status`, { status: 'SUSPENDED' });
    expect((await redeem(f)).json().code).toBe('participant_inactive');
    await acme.request('PATCH', `/v1/participants/${f.participantId}/status`, { status: 'ACTIVE' });
    await acme.request('PATCH', `/v1/programs/${f.programId}`, { status: 'SUSPENDED' });
    const suspended = await redeem(f);
    expect(suspended.statusCode).toBe(409);
    expect(suspended.json().code).toBe('program_inactive');
    await acme.request('PATCH', `/v1/programs/${f.programId}`, { status: 'ACTIVE' });
    const unlinked = await createLedgerFixture(acme);
    const notLinked = await redeem(f, { asset_id: unlinked.assetId });
    expect(notLinked.statusCode).toBe(422);
    expect(notLinked.json().code).toBe('asset_not_linked');
    expect(await available(f)).toBe('100.00');
  });

  it("answers 404 for another organization's participant, program, asset and redemption", async () => {
    const f = await createLedgerFixture(acme);
    await adjust(f, { type: 'CREDIT', amount: '100' });
    const mine = (await redeem(f)).json();
    const theirs = await createLedgerFixture(other);
    expect((await redeem(f, {}, other)).statusCode).toBe(404);
    expect((await redeem(f, { program_id: theirs.programId })).statusCode).toBe(404);
    expect((await redeem(f, { asset_id: theirs.assetId })).statusCode).toBe(404);
    expect((await other.request('GET', `/v1/redemptions/${mine.id}`)).statusCode).toBe(404);
    expect((await other.request('GET', `/v1/participants/${f.participantId}/redemptions`)).statusCode).toBe(
      404,
    );
    expect(await available(f)).toBe('70.00');
  });

  it('credits the target the program names, captured on the redemption', async () => {
    const f = await createLedgerFixture(acme);
    const merchant = await newParticipant(f);
    await adjust(f, { type: 'CREDIT', amount: '100' });
    await acme.request('PATCH', `/v1/programs/${f.programId}`, {
      redemption_target_type: 'LEDGER_ENTITY',
      redemption_target_entity_id: merchant,
    });
    const toMerchant = (await redeem(f, { amount: '40' })).json();
    expect(toMerchant).toMatchObject({
      redemption_target_type: 'LEDGER_ENTITY',
      redemption_target_entity_id: merchant,
    });
    expect(await available(f, merchant)).toBe('40.00');
    const self = await redeem(f, { amount: '1' }, acme, merchant);
    expect(self.statusCode).toBe(409);
    await acme.request('PATCH', `/v1/programs/${f.programId}`, { redemption_target_type: 'SYSTEM_BREAKAGE' });
    const toBreakage = (await redeem(f, { amount: '10' })).json();
    expect(toBreakage.redemption_target_type).toBe('SYSTEM_BREAKAGE');
    const entry = (await acme.request('GET', `/v1/journal-entries/${toBreakage.journal_entry_id}`)).json();
    expect(entry.postings.map((p: { entity_type: string }) => p.entity_type).sort()).toEqual([
      'PARTICIPANT',
      'SYSTEM',
    ]);
    expect(await available(f, merchant)).toBe('40.00');
    expect(
      (await acme.request('GET', `/v1/redemptions/${toMerchant.id}`)).json().redemption_target_entity_id,
    ).toBe(merchant);
  });
  it('credits an ACTIVE group named as the target, and reversing takes the value back from it', async () => {
    const f = await createLedgerFixture(acme);
    const admin = await newParticipant(f);
    const group = (
      await acme.request('POST', '/v1/groups', {
        name: 'Pool',
        members: [{ participant_id: admin, role: 'ADMIN' }],
      })
    ).json();
    await adjust(f, { type: 'CREDIT', amount: '100' });
    const target = await acme.request('PATCH', `/v1/programs/${f.programId}`, {
      redemption_target_type: 'LEDGER_ENTITY',
      redemption_target_entity_id: group.id,
    });
    expect(target.statusCode).toBe(200);
    expect(target.json().redemption_target_entity_id).toBe(group.id);
    const redemption = (await redeem(f, { amount: '40' })).json();
    expect(redemption).toMatchObject({
      redemption_target_type: 'LEDGER_ENTITY',
      redemption_target_entity_id: group.id,
    });
    const entry = (await acme.request('GET', `/v1/journal-entries/${redemption.journal_entry_id}`)).json();
    expect(entry.postings.map((p: { entity_type: string }) => p.entity_type).sort()).toEqual([
      'GROUP',
      'PARTICIPANT',
    ]);
    expect((await acme.request('GET', `/v1/groups/${group.id}`)).json().balances).toEqual({
      [f.assetId]: '40.00',
    });
    expect(await available(f)).toBe('60.00');
    const reversal = await acme.request('POST', `/v1/redemptions/${redemption.id}/reverse`, {
      amount: '15',
      reason: 'partial refund',
    });
    expect(reversal.statusCode).toBe(201);
    expect((await acme.request('GET', `/v1/groups/${group.id}`)).json().balances).toEqual({
      [f.assetId]: '25.00',
    });
    expect(await available(f)).toBe('75.00');
  });
});

describe('LOT redemptions', () => {
  const lotAsset = { inventory_mode: 'LOT', scale: 0 };

  it('consume lots FIFO by expiry, skip lots already past expiry and record what they took', async () => {
    t.testClock.set('2026-03-01T00:00:00Z');
    const f = await createLedgerFixture(acme, lotAsset);
    await adjust(f, { type: 'CREDIT', amount: '10' });
    t.testClock.advance(1000);
    await adjust(f, { type: 'CREDIT', amount: '10', expires_at: '2026-12-01T00:00:00Z' });
    t.testClock.advance(1000);
    await adjust(f, { type: 'CREDIT', amount: '10', expires_at: '2026-06-01T00:00:00Z' });
    t.testClock.advance(1000);
    await adjust(f, { type: 'CREDIT', amount: '5', expires_at: '2026-03-02T00:00:00Z' });
    const lots = async () =>
      (
        await acme.request('GET', `/v1/participants/${f.participantId}/balances/lots?asset_id=${f.assetId}`)
      ).json().data;
    // Newest first: the lots of 10 are [June expiry, December expiry, never].
    const tens = (await lots()).filter((lot: { amount: string }) => lot.amount === '10');
    const idOf = (index: number) => tens[index]?.id;
    t.testClock.set('2026-03-03T00:00:00Z');
    const response = await redeem(f, { amount: '25' });
    expect(response.statusCode).toBe(201);
    const lotsAfter: { id: string; remaining: string; status: string; amount: string }[] = await lots();
    const find = (amountLeft: string, status: string) =>
      lotsAfter.filter((l) => l.remaining === amountLeft && l.status === status);
    expect(find('0', 'EXPIRED')).toHaveLength(1);
    expect(find('0', 'CONSUMED')).toHaveLength(2);
    expect(find('5', 'AVAILABLE')).toHaveLength(1);
    const consumed = response
      .json()
      .lots_consumed.map((l: { lot_id: string; amount: string }) => [l.lot_id, l.amount]);
    expect(consumed).toEqual([
      [idOf(0), '10'],
      [idOf(1), '10'],
      [idOf(2), '5'],
    ]);
    expect(response.json().lots_consumed.map((l: { restored: string }) => l.restored)).toEqual([
      '0',
      '0',
      '0',
    ]);
    expect(await available(f)).toBe('5');
    const over = await redeem(f, { amount: '6' });
    expect(over.json().code).toBe('insufficient_balance');
  });
});

describe('POST /v1/participants/{id}/redemptions/items', () => {
  it('redeems one unit by default at unit_cost and counts it on the reward', async () => {
    const f = await createLedgerFixture(acme);
    await adjust(f, { type: 'CREDIT', amount: '100' });
    const reward = await createReward(f, { name: 'Gift Card', unit_cost: '25' });
    const response = await redeemItem(f, reward.id);
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({
      amount: '25.00',
      reward_id: reward.id,
      quantity: 1,
      unit_cost: '25.00',
      reversed_quantity: 0,
      description: 'Redeemed: Gift Card',
      asset_id: f.assetId,
    });
    const three = await redeemItem(f, reward.id, { quantity: 3, description: 'Three cards' });
    expect(three.json()).toMatchObject({ amount: '75.00', quantity: 3, description: 'Three cards' });
    expect(await available(f)).toBe('0.00');
    const after = (await acme.request('GET', `/v1/programs/${f.programId}/rewards/${reward.id}`)).json();
    expect(after).toMatchObject({ redeemed_count: 4, status: 'ACTIVE' });
    const filtered = (
      await acme.request(
        'GET',
        `/v1/participants/${f.participantId}/redemptions?reward_catalog_item_id=${reward.id}`,
      )
    ).json();
    expect(filtered.data.map((r: { quantity: number }) => r.quantity)).toEqual([3, 1]);
    const alias = (
      await acme.request('GET', `/v1/participants/${f.participantId}/redemptions?reward_id=${reward.id}`)
    ).json();
    expect(alias.data).toEqual(filtered.data);
  });

  it('takes an AMOUNT_BASED amount of at least unit_cost and refuses quantity there', async () => {
    const f = await createLedgerFixture(acme);
    await adjust(f, { type: 'CREDIT', amount: '100' });
    const reward = await createReward(f, { redemption_type: 'AMOUNT_BASED', unit_cost: '5' });
    const below = await redeemItem(f, reward.id, { amount: '4.99' });
    expect(below.json()).toMatchObject({ code: 'bad_request', details: { field: 'amount' } });
    expect((await redeemItem(f, reward.id)).json().details.field).toBe('amount');
    expect((await redeemItem(f, reward.id, { amount: '5', quantity: 1 })).json().details.field).toBe(
      'quantity',
    );
    expect((await redeemItem(f, reward.id, { amount: '5.001' })).json().code).toBe('invalid_scale');
    const ok = await redeemItem(f, reward.id, { amount: '5' });
    expect(ok.json()).toMatchObject({ amount: '5.00', quantity: null, reward_id: reward.id });
    const unit = await createReward(f);
    expect((await redeemItem(f, unit.id, { amount: '10' })).json().details.field).toBe('amount');
    for (const quantity of [0, 1.5, 1_000_001]) {
      expect((await redeemItem(f, unit.id, { quantity })).json().details.field).toBe('quantity');
    }
    expect((await redeemItem(f, unit.id, { description: '' })).json().details.field).toBe('description');
    expect(await available(f)).toBe('95.00');
  });

  it('refuses DRAFT, ARCHIVED and out-of-window rewards with their reason', async () => {
    t.testClock.set('2026-05-01T00:00:00Z');
    const f = await createLedgerFixture(acme);
    await adjust(f, { type: 'CREDIT', amount: '100' });
    const cases: [Record<string, unknown>, string][] = [
      [{ status: 'DRAFT' }, 'draft'],
      [{ status: 'ARCHIVED' }, 'archived'],
      [{ available_from: '2026-05-01T00:00:01Z' }, 'not_yet_available'],
      [{ available_until: '2026-04-30T23:59:59Z' }, 'no_longer_available'],
    ];
    for (const [body, reason] of cases) {
      const reward = await createReward(f, body);
      const response = await redeemItem(f, reward.id);
      expect(response.statusCode, reason).toBe(409);
      expect(response.json()).toMatchObject({ code: 'reward_unavailable', details: { reason } });
    }
    const edges = await createReward(f, {
      available_from: '2026-05-01T00:00:00Z',
      available_until: '2026-05-01T00:00:00Z',
    });
    expect((await redeemItem(f, edges.id)).statusCode).toBe(201);
    expect(await available(f)).toBe('90.00');
  });

  it('holds max_per_participant at n and n+1, net of reversals', async () => {
    const f = await createLedgerFixture(acme);
    await adjust(f, { type: 'CREDIT', amount: '100' });
    const reward = await createReward(f, { max_per_participant: 2 });
    const two = (await redeemItem(f, reward.id, { quantity: 2 })).json();
    const third = await redeemItem(f, reward.id);
    expect(third.statusCode).toBe(409);
    expect(third.json()).toMatchObject({
      code: 'reward_limit_exceeded',
      details: { reason: 'max_per_participant', remaining: 0 },
    });
    const someoneElse = await newParticipant(f);
    await adjust({ ...f, participantId: someoneElse }, { type: 'CREDIT', amount: '100' });
    expect((await redeemItem(f, reward.id, { quantity: 2 }, someoneElse)).statusCode).toBe(201);
    await acme.request('POST', `/v1/redemptions/${two.id}/reverse`, { reason: 'returned one', quantity: 1 });
    expect((await redeemItem(f, reward.id)).statusCode).toBe(201);
    expect((await redeemItem(f, reward.id)).statusCode).toBe(409);
  });

  it('turns the reward OUT_OF_STOCK at max_total and refuses the next one', async () => {
    const f = await createLedgerFixture(acme);
    await adjust(f, { type: 'CREDIT', amount: '100' });
    const reward = await createReward(f, { max_total: 3 });
    const tooMany = await redeemItem(f, reward.id, { quantity: 4 });
    expect(tooMany.json()).toMatchObject({
      code: 'reward_limit_exceeded',
      details: { reason: 'max_total', remaining: 3 },
    });
    expect((await redeemItem(f, reward.id, { quantity: 3 })).statusCode).toBe(201);
    const after = (await acme.request('GET', `/v1/programs/${f.programId}/rewards/${reward.id}`)).json();
    expect(after).toMatchObject({ redeemed_count: 3, status: 'OUT_OF_STOCK' });
    const refused = await redeemItem(f, reward.id);
    expect(refused.json()).toMatchObject({ code: 'reward_unavailable', details: { reason: 'out_of_stock' } });
    const raised = await acme.request('PATCH', `/v1/programs/${f.programId}/rewards/${reward.id}`, {
      max_total: 4,
    });
    expect(raised.json().status).toBe('ACTIVE');
    const lowered = await acme.request('PATCH', `/v1/programs/${f.programId}/rewards/${reward.id}`, {
      max_total: 2,
    });
    expect(lowered.json().status).toBe('OUT_OF_STOCK');
    expect(await available(f)).toBe('70.00');
  });

  it('gives exactly max_total to 50 concurrent redemptions and turns the reward OUT_OF_STOCK', async () => {
    const f = await createLedgerFixture(acme);
    const reward = await createReward(f, { max_total: 10, unit_cost: '1' });
    const participants: string[] = [];
    for (let i = 0; i < 50; i += 1) {
      const id = i === 0 ? f.participantId : await newParticipant(f);
      await adjust({ ...f, participantId: id }, { type: 'CREDIT', amount: '5' });
      participants.push(id);
    }
    const responses = await Promise.all(participants.map((id) => redeemItem(f, reward.id, {}, id)));
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 409)).toHaveLength(40);
    const after = (await acme.request('GET', `/v1/programs/${f.programId}/rewards/${reward.id}`)).json();
    expect(after).toMatchObject({ redeemed_count: 10, status: 'OUT_OF_STOCK' });
    const spent = await Promise.all(participants.map((id) => available(f, id)));
    expect(spent.filter((a) => a === '4.00')).toHaveLength(10);
  });

  it('replays a catalog redemption by key, defaulting quantity to 1 in the comparison', async () => {
    const f = await createLedgerFixture(acme);
    await adjust(f, { type: 'CREDIT', amount: '100' });
    const reward = await createReward(f, { max_total: 1 });
    const first = await redeemItem(f, reward.id, { idempotency_key: 'cat-1' });
    const replay = await redeemItem(f, reward.id, { idempotency_key: 'cat-1', quantity: 1 });
    expect(replay.statusCode).toBe(200);
    expect(replay.json().id).toBe(first.json().id);
    expect((await redeemItem(f, reward.id, { idempotency_key: 'cat-1', quantity: 2 })).statusCode).toBe(409);
  });

  it("answers 404 for an unknown reward, one of another program, and another organization's", async () => {
    const f = await createLedgerFixture(acme);
    const elsewhere = await createLedgerFixture(acme);
    const foreign = await createReward(elsewhere);
    expect((await redeemItem(f, foreign.id)).statusCode).toBe(404);
    expect((await redeemItem(f, '01900000-0000-7000-8000-000000000000')).statusCode).toBe(404);
    const mine = await createReward(f);
    const response = await other.request('POST', `/v1/participants/${f.participantId}/redemptions/items`, {
      program_id: f.programId,
      reward_id: mine.id,
    });
    expect(response.statusCode).toBe(404);
  });
});

describe('GET /v1/participants/{id}/redemptions', () => {
  it('lists newest first with status, time filters and stable pages', async () => {
    t.testClock.set('2026-07-01T00:00:00Z');
    const f = await createLedgerFixture(acme);
    await adjust(f, { type: 'CREDIT', amount: '100' });
    const made: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      t.testClock.advance(60_000);
      made.push((await redeem(f, { amount: '1' })).json().id);
    }
    await acme.request('POST', `/v1/redemptions/${made[0]}/reverse`, { reason: 'refund' });
    const base = `/v1/participants/${f.participantId}/redemptions`;
    const first = (await acme.request('GET', `${base}?limit=2`)).json();
    expect(first.data.map((r: { id: string }) => r.id)).toEqual([made[2], made[1]]);
    const rest = (await acme.request('GET', `${base}?limit=2&cursor=${first.pagination.next_cursor}`)).json();
    expect(rest.data.map((r: { id: string }) => r.id)).toEqual([made[0]]);
    const reversed = (await acme.request('GET', `${base}?status=FULLY_REVERSED`)).json();
    expect(reversed.data.map((r: { id: string }) => r.id)).toEqual([made[0]]);
    const window = (
      await acme.request('GET', `${base}?from=2026-07-01T00:02:00Z&to=2026-07-01T00:02:00Z`)
    ).json();
    expect(window.data.map((r: { id: string }) => r.id)).toEqual([made[1]]);
    for (const limit of [0, 201])
      expect((await acme.request('GET', `${base}?limit=${limit}`)).statusCode).toBe(400);
    expect((await acme.request('GET', `${base}?limit=200`)).statusCode).toBe(200);
    expect((await acme.request('GET', `${base}?status=DONE`)).statusCode).toBe(400);
  });
});
