import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestApp,
  createLedgerFixture,
  type LedgerFixture,
  type Tenant,
  type TestApp,
} from '../../../test/harness.js';
import { runExpiry, runMaturity, startLedgerJobs } from './jobs.js';

let t: TestApp;
let acme: Tenant;
let other: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  acme = await t.createOrganization();
  other = await t.createOrganization();
});

const lotAsset = { inventory_mode: 'LOT', scale: 0 };

function adjust(f: LedgerFixture, body: Record<string, unknown>) {
  return acme.request('POST', `/v1/participants/${f.participantId}/balances/adjust`, {
    program_id: f.programId,
    asset_id: f.assetId,
    description: 'test',
    ...body,
  });
}

function operate(f: LedgerFixture, path: string, body: Record<string, unknown> = {}) {
  return acme.request('POST', `/v1/participants/${f.participantId}/balances/${path}`, {
    program_id: f.programId,
    asset_id: f.assetId,
    description: 'test',
    ...body,
  });
}

async function lots(f: LedgerFixture, query = '') {
  const response = await acme.request(
    'GET',
    `/v1/participants/${f.participantId}/balances/lots?asset_id=${f.assetId}${query}`,
  );
  return response.json().data as {
    id: string;
    amount: string;
    remaining: string;
    status: string;
    reference_id: string | null;
  }[];
}

async function balance(f: LedgerFixture) {
  return (
    await acme.request('GET', `/v1/participants/${f.participantId}/balances?asset_id=${f.assetId}`)
  ).json().data[0];
}

async function integrityPasses() {
  const report = (await acme.request('GET', '/v1/reports/integrity')).json();
  if (!report.all_passed) console.log(JSON.stringify(report));
  return report.all_passed;
}

const clock = () => t.testClock.clock;

describe('LOT assets', () => {
  it('refuses a credit whose lot is expired at birth or matures only after it expires, changing nothing', async () => {
    t.testClock.set('2026-05-01T12:00:00.000Z');
    const f = await createLedgerFixture(acme, lotAsset);
    const refusals = [
      [{ expires_at: '2026-04-30T12:00:00Z' }, 'expires_at'],
      [{ expires_at: '2026-05-01T12:00:00.000Z' }, 'expires_at'],
      [{ expires_at: '2026-05-10T00:00:00Z', matures_at: '2026-05-20T00:00:00Z' }, 'matures_at'],
      [{ expires_at: '240h', matures_at: '240h' }, 'matures_at'],
    ] as const;
    for (const [dates, field] of refusals) {
      const refused = await adjust(f, { type: 'CREDIT', amount: '5', ...dates });
      expect(refused.statusCode, JSON.stringify(dates)).toBe(400);
      expect(refused.json()).toMatchObject({ code: 'bad_request', details: { field } });
    }
    expect(await lots(f)).toEqual([]);
    expect(await balance(f)).toBeUndefined();
    const accepted = await adjust(f, {
      type: 'CREDIT',
      amount: '5',
      expires_at: '2026-05-01T12:00:00.001Z',
      matures_at: '2026-05-01T12:00:00.000Z',
    });
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(await lots(f)).toMatchObject([{ amount: '5', status: 'AVAILABLE' }]);
  });

  it('creates a lot per credit and debits FIFO by expiry, then age', async () => {
    t.testClock.set('2026-01-01T00:00:00Z');
    const f = await createLedgerFixture(acme, lotAsset);
    const never = (await adjust(f, { type: 'CREDIT', amount: '10' })).json();
    t.testClock.advance(1000);
    await adjust(f, { type: 'CREDIT', amount: '10', expires_at: '8760h' });
    t.testClock.advance(1000);
    await adjust(f, { type: 'CREDIT', amount: '10', expires_at: '2026-02-01T00:00:00Z' });
    const debit = await adjust(f, { type: 'DEBIT', amount: '15' });
    expect(debit.json().balance.available).toBe('15');
    const byStatus = await lots(f);
    expect(byStatus.map((l) => [l.amount, l.remaining, l.status])).toEqual([
      ['10', '0', 'CONSUMED'],
      ['10', '5', 'AVAILABLE'],
      ['10', '10', 'AVAILABLE'],
    ]);
    expect(byStatus[2]?.id).toBeDefined();
    expect(never.journal_entry_id).toBeDefined();
    expect(await integrityPasses()).toBe(true);
  });

  it('stamps held lots with reference_id and releases by reference, amount, both or neither', async () => {
    t.testClock.set('2026-01-01T00:00:00Z');
    const f = await createLedgerFixture(acme, lotAsset);
    for (const amount of ['10', '20', '30']) {
      await adjust(f, { type: 'CREDIT', amount });
      t.testClock.advance(1000);
    }
    const holdA = await operate(f, 'hold', { amount: '15', reference_id: 'auth-a' });
    expect(holdA.json().lots_processed.map((l: { amount: string }) => l.amount)).toEqual(['10', '5']);
    await operate(f, 'hold', { amount: '20', reference_id: 'auth-b' });
    expect((await lots(f, '&reference_id=auth-a')).map((l) => [l.status, l.remaining]).sort()).toEqual([
      ['HELD', '10'],
      ['HELD', '5'],
    ]);
    const byRefAndAmount = await operate(f, 'release', { reference_id: 'auth-b', amount: '5' });
    expect(byRefAndAmount.json().balance).toEqual({ available: '30', held: '30', deferred: '0' });
    const byRef = await operate(f, 'release', { reference_id: 'auth-a' });
    expect(byRef.json()).toMatchObject({ amount_processed: '15', balance: { held: '15' } });
    const byAmount = await operate(f, 'release', { amount: '5' });
    expect(byAmount.json().balance.held).toBe('10');
    const all = await operate(f, 'release');
    expect(all.json().balance).toEqual({ available: '60', held: '0', deferred: '0' });
    expect((await operate(f, 'release', { reference_id: 'auth-a' })).json().code).toBe(
      'insufficient_balance',
    );
    expect(await integrityPasses()).toBe(true);
  });

  it('selects lots by lot_ids and by earned_from/earned_to, and forfeits HELD lots', async () => {
    t.testClock.set('2026-01-01T00:00:00Z');
    const f = await createLedgerFixture(acme, lotAsset);
    await adjust(f, { type: 'CREDIT', amount: '10' });
    t.testClock.set('2026-01-05T00:00:00Z');
    await adjust(f, { type: 'CREDIT', amount: '20' });
    const [second] = await lots(f);
    const byId = await operate(f, 'hold', { lot_ids: [second?.id] });
    expect(byId.json().amount_processed).toBe('20');
    const byDate = await operate(f, 'forfeit', {
      bucket: 'AVAILABLE',
      earned_from: '2025-12-31T00:00:00Z',
      earned_to: '2026-01-02T00:00:00Z',
    });
    expect(byDate.json()).toMatchObject({ amount_processed: '10', balance: { available: '0', held: '20' } });
    const heldForfeit = await operate(f, 'forfeit', { bucket: 'HELD', amount: '5' });
    expect(heldForfeit.json().balance.held).toBe('15');
    const badRange = await operate(f, 'hold', {
      earned_from: '2026-01-05T00:00:00Z',
      earned_to: '2026-01-01T00:00:00Z',
    });
    expect(badRange.json().details.field).toBe('earned_to');
    expect(await integrityPasses()).toBe(true);
  });

  it('voids provisional HELD credits back to issuance, but not lots held by a HOLD', async () => {
    const f = await createLedgerFixture(acme, lotAsset);
    await adjust(f, { type: 'CREDIT', amount: '50', bucket: 'HELD', reference_id: 'txn-9' });
    await adjust(f, { type: 'CREDIT', amount: '10' });
    await operate(f, 'hold', { amount: '10', reference_id: 'txn-9' });
    const voided = await operate(f, 'void-hold', { reference_id: 'txn-9' });
    expect(voided.statusCode).toBe(200);
    expect(voided.json()).toMatchObject({ operation: 'VOID_HOLD', amount_processed: '50' });
    expect(voided.json().balance).toEqual({ available: '0', held: '10', deferred: '0' });
    const entry = (await acme.request('GET', `/v1/journal-entries/${voided.json().journal_entry_id}`)).json();
    expect(entry.postings.find((p: { amount: string }) => p.amount === '50').system_account).toBe(
      'SYSTEM_ISSUANCE',
    );
    const again = await operate(f, 'void-hold', { reference_id: 'txn-9' });
    expect(again.statusCode).toBe(404);
    expect((await operate(f, 'void-hold', { reference_id: 'x', amount: '1' })).json().details.field).toBe(
      'amount',
    );
    expect(await integrityPasses()).toBe(true);
  });

  it('settles provisional HELD credits with a credit of the same reference into AVAILABLE', async () => {
    const f = await createLedgerFixture(acme, lotAsset);
    await adjust(f, { type: 'CREDIT', amount: '30', bucket: 'HELD', reference_id: 'card-1' });
    await adjust(f, { type: 'CREDIT', amount: '20', bucket: 'HELD', reference_id: 'card-1' });
    await adjust(f, { type: 'CREDIT', amount: '5', bucket: 'HELD', reference_id: 'card-2' });
    await adjust(f, { type: 'CREDIT', amount: '10' });
    await operate(f, 'hold', { amount: '10', reference_id: 'card-1' });
    const settled = await adjust(f, { type: 'CREDIT', amount: '45', reference_id: 'card-1' });
    expect(settled.statusCode, settled.body).toBe(200);
    // The 50 provisionally held become 45 available; the lots held by a HOLD and card-2 stay held.
    expect(settled.json().balance).toEqual({ available: '45', held: '15', deferred: '0' });
    const entry = (
      await acme.request('GET', `/v1/journal-entries/${settled.json().journal_entry_id}`)
    ).json();
    const moved = entry.postings.map((p: { bucket: string; amount: string; system_account?: string }) => [
      p.system_account ?? p.bucket,
      p.amount,
    ]);
    expect(moved).toEqual(
      expect.arrayContaining([
        ['HELD', '-50'],
        ['AVAILABLE', '45'],
        ['SYSTEM_ISSUANCE', '5'],
      ]),
    );
    expect(moved).toHaveLength(3);
    expect((await lots(f, '&status=HELD')).map((l) => [l.reference_id, l.remaining]).sort()).toEqual([
      ['card-1', '10'],
      ['card-2', '5'],
    ]);
    const more = await adjust(f, { type: 'CREDIT', amount: '8', reference_id: 'card-2' });
    expect(more.json().balance).toEqual({ available: '53', held: '10', deferred: '0' });
    // Nothing provisional left under card-2: a further credit is a plain one.
    const plain = await adjust(f, { type: 'CREDIT', amount: '1', reference_id: 'card-2' });
    expect(plain.json().balance).toEqual({ available: '54', held: '10', deferred: '0' });
    expect(await integrityPasses()).toBe(true);
  });

  it('overdraws with allow_negative after consuming every lot, and the next credit repays it', async () => {
    const f = await createLedgerFixture(acme, lotAsset);
    await adjust(f, { type: 'CREDIT', amount: '10' });
    const overdraft = await adjust(f, { type: 'DEBIT', amount: '25', allow_negative: true });
    expect(overdraft.json().balance.available).toBe('-15');
    const repaid = await adjust(f, { type: 'CREDIT', amount: '20' });
    expect(repaid.json().balance.available).toBe('5');
    expect((await lots(f, '&status=AVAILABLE')).map((l) => l.remaining)).toEqual(['5']);
    expect(await integrityPasses()).toBe(true);
  });

  it('keeps a deferred credit in DEFERRED until maturity, and the job matures it once', async () => {
    t.testClock.set('2026-03-01T00:00:00Z');
    const f = await createLedgerFixture(acme, lotAsset);
    const credited = await adjust(f, { type: 'CREDIT', amount: '40', matures_at: '720h' });
    expect(credited.json().balance).toEqual({ available: '0', held: '0', deferred: '40' });
    expect((await adjust(f, { type: 'DEBIT', amount: '1' })).statusCode).toBe(422);
    expect(await runMaturity(t.database.handle.db, clock())).toBe(0);
    t.testClock.set('2026-04-01T00:00:00Z');
    expect(await runMaturity(t.database.handle.db, clock())).toBeGreaterThanOrEqual(1);
    expect(await runMaturity(t.database.handle.db, clock())).toBe(0);
    expect(await balance(f)).toMatchObject({ available: '40', deferred: '0' });
    const matured = (
      await acme.request('GET', `/v1/journal-entries?action_type=MATURITY&participant_id=${f.participantId}`)
    ).json();
    expect(matured.data).toHaveLength(1);
    expect(await integrityPasses()).toBe(true);
  });

  it('expires lots to breakage with no program_id, catching up after downtime, and skips them when spending', async () => {
    t.testClock.set('2026-05-01T00:00:00Z');
    const f = await createLedgerFixture(acme, lotAsset);
    const g = await createLedgerFixture(acme, lotAsset);
    await adjust(f, { type: 'CREDIT', amount: '10', expires_at: '24h' });
    await adjust(f, { type: 'CREDIT', amount: '5' });
    await adjust(g, { type: 'CREDIT', amount: '7', expires_at: '1h' });
    t.testClock.set('2026-06-01T00:00:00Z');
    // g is settled lazily by its own operation; f by the job.
    expect((await adjust(g, { type: 'DEBIT', amount: '1' })).statusCode).toBe(422);
    expect(await runExpiry(t.database.handle.db, clock())).toBeGreaterThanOrEqual(1);
    expect(await runExpiry(t.database.handle.db, clock())).toBe(0);
    expect(await balance(f)).toMatchObject({ available: '5' });
    const expired = (
      await acme.request(
        'GET',
        `/v1/journal-entries?action_type=EXPIRATION&participant_id=${f.participantId}`,
      )
    ).json();
    expect(expired.data[0].program_id).toBeNull();
    expect(
      expired.data[0].postings.map((p: { system_account: string | null }) => p.system_account),
    ).toContain('SYSTEM_BREAKAGE');
    expect((await lots(f, '&status=EXPIRED')).map((l) => l.amount)).toEqual(['10']);
    expect(await integrityPasses()).toBe(true);
  });

  it('filters lots and refuses SIMPLE assets and foreign assets', async () => {
    t.testClock.set('2026-07-01T00:00:00Z');
    const f = await createLedgerFixture(acme, lotAsset);
    await adjust(f, { type: 'CREDIT', amount: '1', expires_at: '2026-08-01T00:00:00Z' });
    await adjust(f, { type: 'CREDIT', amount: '2', expires_at: '2026-09-01T00:00:00Z' });
    expect((await lots(f, '&expires_before=2026-08-15T00:00:00Z')).map((l) => l.amount)).toEqual(['1']);
    expect((await lots(f, '&expires_after=2026-08-15T00:00:00Z')).map((l) => l.amount)).toEqual(['2']);
    expect((await lots(f, `&program_id=${f.programId}`)).length).toBe(2);
    const page = (
      await acme.request(
        'GET',
        `/v1/participants/${f.participantId}/balances/lots?asset_id=${f.assetId}&limit=1`,
      )
    ).json();
    expect(page.pagination.has_more).toBe(true);
    const simple = await createLedgerFixture(acme);
    const refused = await acme.request(
      'GET',
      `/v1/participants/${simple.participantId}/balances/lots?asset_id=${simple.assetId}`,
    );
    expect(refused.json().code).toBe('unsupported_inventory_mode');
    const foreign = await createLedgerFixture(other, lotAsset);
    const hidden = await acme.request(
      'GET',
      `/v1/participants/${f.participantId}/balances/lots?asset_id=${foreign.assetId}`,
    );
    expect(hidden.statusCode).toBe(404);
    const simpleExpiry = await acme.request(
      'POST',
      `/v1/participants/${simple.participantId}/balances/adjust`,
      {
        program_id: simple.programId,
        asset_id: simple.assetId,
        description: 'x',
        type: 'CREDIT',
        amount: '1',
        expires_at: '1h',
      },
    );
    expect(simpleExpiry.json().details.field).toBe('expires_at');
    expect((await adjust(f, { type: 'CREDIT', amount: '1', expires_at: '30d' })).json().details.field).toBe(
      'expires_at',
    );
  });
});

describe('the ledger job loop', () => {
  it('seals, matures and expires on its own, and stops cleanly', async () => {
    t.testClock.set('2027-01-01T00:00:00Z');
    const f = await createLedgerFixture(acme, lotAsset);
    await adjust(f, { type: 'CREDIT', amount: '3', matures_at: '1h' });
    t.testClock.set('2027-01-01T02:00:00Z');
    const errors: object[] = [];
    const stop = startLedgerJobs(t.database.handle.db, clock(), { error: (o) => errors.push(o) }, 20);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await stop();
    expect(errors).toEqual([]);
    expect(await balance(f)).toMatchObject({ available: '3', deferred: '0' });
    const entries = (
      await acme.request('GET', `/v1/journal-entries?participant_id=${f.participantId}`)
    ).json().data;
    expect(entries.every((e: { entry_hash: string | null }) => e.entry_hash !== null)).toBe(true);
  });
});
