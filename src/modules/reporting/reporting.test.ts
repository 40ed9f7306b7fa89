// Redemptions and reversals in the reports: the ledger summary keeps current_balance equal to the
// outstanding liability, the rollforward explains every movement, and program activity counts them.
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
let f: LedgerFixture;
let merchant: string;

function adjust(body: Record<string, unknown>) {
  return acme.request('POST', `/v1/participants/${f.participantId}/balances/adjust`, {
    program_id: f.programId,
    asset_id: f.assetId,
    description: 'report',
    ...body,
  });
}

async function redeem(amount: string) {
  const response = await acme.request('POST', `/v1/participants/${f.participantId}/redemptions`, {
    program_id: f.programId,
    asset_id: f.assetId,
    amount,
    description: 'order',
  });
  expect(response.statusCode).toBe(201);
  return response.json().id as string;
}

async function reverse(redemptionId: string, amount: string) {
  const response = await acme.request('POST', `/v1/redemptions/${redemptionId}/reverse`, {
    reason: 'refund',
    amount,
  });
  expect(response.statusCode).toBe(201);
}

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  other = await t.createOrganization();
  t.testClock.set('2026-01-01T00:00:00Z');
  f = await createLedgerFixture(acme);
  merchant = (
    await acme.request('POST', '/v1/participants', { external_id: 'merchant', program_id: f.programId })
  ).json().id;
  await adjust({ type: 'CREDIT', amount: '100' });
  t.testClock.set('2026-02-01T00:00:00Z');
  const order = await redeem('40');
  await adjust({ type: 'DEBIT', amount: '5' });
  t.testClock.set('2026-02-15T00:00:00Z');
  await reverse(order, '10');
  await acme.request('PATCH', `/v1/programs/${f.programId}`, {
    redemption_target_type: 'LEDGER_ENTITY',
    redemption_target_entity_id: merchant,
  });
  t.testClock.set('2026-02-20T00:00:00Z');
  const toMerchant = await redeem('20');
  await reverse(toMerchant, '5');
  const event = await acme.request('POST', '/v1/events', {
    program_id: f.programId,
    external_id: 'merchant',
    idempotency_key: 'activity-1',
    event_timestamp: '2026-02-20T00:00:00Z',
    event_data: {},
  });
  expect(event.statusCode).toBe(202);
});

const summaryOf = async (query = '') =>
  (await acme.request('GET', `/v1/reports/ledger-summary${query}`))
    .json()
    .data.find((row: { asset_id: string }) => row.asset_id === f.assetId);

describe('ledger summary with redemptions', () => {
  it('counts redemptions net of reversals, so current_balance is the outstanding liability', async () => {
    expect(await summaryOf()).toMatchObject({
      total_issued: '100.00',
      total_redeemed: '35.00',
      current_balance: '65.00',
    });
    const liability = (await acme.request('GET', `/v1/reports/liability?asset_id=${f.assetId}`)).json();
    expect(liability.data.map((row: { balance: string }) => row.balance)).toEqual(['65.00']);
  });

  it('in period mode counts redemptions gross and puts reversals in other_adjustments_net', async () => {
    expect(await summaryOf('?from=2026-01-15T00:00:00Z&to=2026-03-01T00:00:00Z')).toMatchObject({
      opening_balance: '100.00',
      closing_balance: '65.00',
      period_issued: '0.00',
      period_redeemed: '45.00',
      other_adjustments_net: '10.00',
    });
  });
});

describe('liability rollforward with redemptions', () => {
  it('explains redemptions, receipts of a ledger-entity target, reversals and clawbacks exactly', async () => {
    const response = await acme.request(
      'GET',
      `/v1/reports/liability-rollforward?from=2026-01-15T00:00:00Z&to=2026-03-01T00:00:00Z&asset_id=${f.assetId}`,
    );
    expect(response.statusCode).toBe(200);
    expect(response.json().data).toEqual([
      expect.objectContaining({
        opening_balance: '100.00',
        redeemed: '60.00',
        redemption_receipts: '20.00',
        debited: '5.00',
        redemption_reversals: '15.00',
        reversal_clawbacks: '5.00',
        adjustments_net: '0.00',
        closing_balance: '65.00',
      }),
    ]);
  });
});

describe('GET /v1/reports/program-activity', () => {
  it('gives each program its events, entries, issued and redeemed value, participants and last activity', async () => {
    const response = await acme.request('GET', `/v1/reports/program-activity?program_id=${f.programId}`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      since: null,
      data: [
        {
          program_id: f.programId,
          program_name: expect.any(String),
          event_count: 1,
          journal_count: 6,
          total_issued: '100.00',
          total_redeemed: '35.00',
          unique_participants: 2,
          last_activity_at: '2026-02-20T00:00:00.000Z',
          assets: [
            {
              asset_id: f.assetId,
              asset_symbol: expect.any(String),
              scale: 2,
              total_issued: '100.00',
              total_redeemed: '35.00',
            },
          ],
        },
      ],
    });
  });

  it('counts only what happened since the given time', async () => {
    const since = '2026-02-10T00:00:00Z';
    const response = await acme.request('GET', `/v1/reports/program-activity?since=${since}`);
    const row = response.json().data.find((r: { program_id: string }) => r.program_id === f.programId);
    expect(response.json().since).toBe(since);
    expect(row).toMatchObject({
      event_count: 1,
      journal_count: 3,
      total_issued: '0.00',
      total_redeemed: '-10.00',
      unique_participants: 2,
    });
    const later = (
      await acme.request('GET', '/v1/reports/program-activity?since=2027-01-01T00:00:00Z')
    ).json();
    expect(later.data.find((r: { program_id: string }) => r.program_id === f.programId)).toMatchObject({
      event_count: 0,
      journal_count: 0,
      total_issued: '0',
      unique_participants: 0,
      last_activity_at: null,
      assets: [],
    });
  });

  it("answers 404 for another organization's program and lists none of them", async () => {
    expect(
      (await other.request('GET', `/v1/reports/program-activity?program_id=${f.programId}`)).statusCode,
    ).toBe(404);
    const theirs = (await other.request('GET', '/v1/reports/program-activity')).json();
    expect(theirs.data).toEqual([]);
    expect((await acme.request('GET', '/v1/reports/program-activity?since=yesterday')).statusCode).toBe(400);
  });
});
