import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestApp,
  createLedgerFixture,
  type LedgerFixture,
  type Tenant,
  type TestApp,
} from '../../../test/harness.js';
import { runExpiry } from './jobs.js';

let t: TestApp;
let acme: Tenant;
let f: LedgerFixture;
let lot: LedgerFixture;

function adjust(x: LedgerFixture, body: Record<string, unknown>) {
  return acme.request('POST', `/v1/participants/${x.participantId}/balances/adjust`, {
    program_id: x.programId,
    asset_id: x.assetId,
    description: 'report',
    ...body,
  });
}

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  t.testClock.set('2026-01-01T00:00:00Z');
  f = await createLedgerFixture(acme);
  lot = await createLedgerFixture(acme, { inventory_mode: 'LOT', scale: 0 });
  await adjust(f, { type: 'CREDIT', amount: '100' });
  t.testClock.set('2026-02-01T00:00:00Z');
  await adjust(f, { type: 'CREDIT', amount: '50' });
  await adjust(f, { type: 'DEBIT', amount: '30' });
  await acme.request('POST', `/v1/participants/${f.participantId}/balances/forfeit`, {
    program_id: f.programId,
    asset_id: f.assetId,
    description: 'policy',
    bucket: 'AVAILABLE',
    amount: '5',
  });
  await adjust(lot, { type: 'CREDIT', amount: '10', expires_at: '2026-02-10T00:00:00Z' });
  await adjust(lot, { type: 'CREDIT', amount: '20', expires_at: '2026-03-15T00:00:00Z' });
  await adjust(lot, { type: 'CREDIT', amount: '7', expires_at: '2026-05-15T00:00:00Z' });
  await adjust(lot, { type: 'CREDIT', amount: '3' });
  t.testClock.set('2026-02-20T00:00:00Z');
  await runExpiry(t.database.handle.db, t.testClock.clock);
});

describe('reports', () => {
  it('summarizes each asset, with period figures when from and to are given', async () => {
    const all = (await acme.request('GET', '/v1/reports/ledger-summary')).json().data;
    expect(all.find((r: { asset_id: string }) => r.asset_id === f.assetId)).toMatchObject({
      total_issued: '150.00',
      total_redeemed: '30.00',
      total_forfeited: '5.00',
      total_expired: '0.00',
      current_balance: '115.00',
      participant_count: 1,
    });
    expect(all.find((r: { asset_id: string }) => r.asset_id === lot.assetId)).toMatchObject({
      total_issued: '40',
      total_expired: '10',
      current_balance: '30',
    });
    const period = (
      await acme.request(
        'GET',
        '/v1/reports/ledger-summary?from=2026-01-15T00:00:00Z&to=2026-03-01T00:00:00Z',
      )
    ).json().data;
    expect(period.find((r: { asset_id: string }) => r.asset_id === f.assetId)).toMatchObject({
      opening_balance: '100.00',
      closing_balance: '115.00',
      period_issued: '50.00',
      period_redeemed: '30.00',
      period_forfeited: '5.00',
      other_adjustments_net: '0.00',
    });
    expect(
      (await acme.request('GET', '/v1/reports/ledger-summary?from=2026-01-15T00:00:00Z')).statusCode,
    ).toBe(400);
  });

  it('reports liability as of a time, by bucket on request', async () => {
    const asOf = (
      await acme.request('GET', `/v1/reports/liability?as_of=2026-01-15T00:00:00Z&asset_id=${f.assetId}`)
    ).json();
    expect(asOf.data).toEqual([
      expect.objectContaining({ asset_id: f.assetId, program_id: f.programId, balance: '100.00', scale: 2 }),
    ]);
    const buckets = (
      await acme.request('GET', `/v1/reports/liability?by_bucket=true&asset_id=${f.assetId}`)
    ).json();
    expect(buckets.data.map((r: { bucket: string; balance: string }) => [r.bucket, r.balance])).toEqual([
      ['AVAILABLE', '115.00'],
    ]);
  });

  it('pages liability: n rows fit a page of n, n+1 rows page with a cursor that keeps as_of', async () => {
    const tenant = await t.createOrganization();
    const credit = (x: LedgerFixture, amount: string) =>
      tenant.request('POST', `/v1/participants/${x.participantId}/balances/adjust`, {
        program_id: x.programId,
        asset_id: x.assetId,
        description: 'report',
        type: 'CREDIT',
        amount,
      });
    const read = async (query: string) => {
      const response = await tenant.request('GET', `/v1/reports/liability?${query}`);
      expect(response.statusCode, response.body).toBe(200);
      return response.json();
    };
    const fixtures = [await createLedgerFixture(tenant), await createLedgerFixture(tenant)];
    for (const x of fixtures) await credit(x, '1');
    const full = await read('limit=2');
    expect(full.data).toHaveLength(2);
    expect(full.pagination).toEqual({ has_more: false, next_cursor: null });

    const third = await createLedgerFixture(tenant);
    await credit(third, '3');
    const all = (await read('')).data;
    expect(all).toHaveLength(3);
    const first = await read('limit=2');
    expect(first.data).toEqual(all.slice(0, 2));
    expect(first.pagination.has_more).toBe(true);
    t.testClock.advance(60_000);
    for (const x of [...fixtures, third]) await credit(x, '10');
    const cursor = encodeURIComponent(first.pagination.next_cursor);
    const second = await read(`limit=2&cursor=${cursor}`);
    expect(second.as_of).toBe(first.as_of);
    expect(second.data).toEqual(all.slice(2));
    expect(second.pagination).toEqual({ has_more: false, next_cursor: null });

    for (const query of [`by_bucket=true&cursor=${cursor}`, 'cursor=garbage']) {
      const refused = await tenant.request('GET', `/v1/reports/liability?${query}`);
      expect(refused.statusCode).toBe(400);
      expect(refused.json().code).toBe('invalid_cursor');
    }
    expect((await tenant.request('GET', '/v1/reports/liability?limit=201')).statusCode).toBe(400);
  });

  it('rolls liability forward with movements that sum exactly to closing minus opening', async () => {
    const report = (
      await acme.request(
        'GET',
        `/v1/reports/liability-rollforward?from=2026-01-15T00:00:00Z&to=2026-03-01T00:00:00Z&asset_id=${f.assetId}`,
      )
    ).json();
    expect(report.data).toEqual([
      expect.objectContaining({
        opening_balance: '100.00',
        issued: '50.00',
        debited: '30.00',
        forfeited: '5.00',
        closing_balance: '115.00',
      }),
    ]);
    expect(
      (await acme.request('GET', '/v1/reports/liability-rollforward?from=2026-01-15T00:00:00Z')).statusCode,
    ).toBe(400);
  });

  it('schedules expiry in calendar buckets that add up to the outstanding value, and refuses SIMPLE assets', async () => {
    const schedule = (
      await acme.request(
        'GET',
        `/v1/reports/expiration-schedule?from=2026-03-01T00:00:00Z&to=2026-04-30T23:59:59Z&asset_id=${lot.assetId}`,
      )
    ).json().data[0];
    expect(schedule).toMatchObject({
      total_outstanding: '30',
      never_expiring: '3',
      expiring_before_window: '0',
      expiring_after_window: '7',
      buckets: [
        {
          bucket_start: '2026-03-01T00:00:00.000Z',
          bucket_end: '2026-04-01T00:00:00.000Z',
          amount: '20',
          lot_count: 1,
        },
      ],
    });
    const simple = await acme.request(
      'GET',
      `/v1/reports/expiration-schedule?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&asset_id=${f.assetId}`,
    );
    expect(simple.statusCode).toBe(400);
    expect(simple.json().code).toBe('unsupported_inventory_mode');
    const other = await t.createOrganization();
    const hidden = await other.request(
      'GET',
      `/v1/reports/expiration-schedule?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&asset_id=${lot.assetId}`,
    );
    expect(hidden.statusCode).toBe(404);
    expect((await other.request('GET', '/v1/reports/ledger-summary')).json().data).toEqual([]);
  });
});
