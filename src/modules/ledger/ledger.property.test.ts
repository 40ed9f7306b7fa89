// Property: random sequences of ledger operations (redemptions and their reversals included) keep
// every invariant after each step, and a refused operation changes nothing. Invariants are checked
// by the integrity report (postings sum to zero per entry and per asset, stored balances equal their
// postings, lot remainders equal the bucket balances, the hash chain verifies) plus the floors read
// from the balances.
import fc from 'fast-check';
import { beforeAll, expect, it } from 'vitest';
import {
  buildTestApp,
  createLedgerFixture,
  type LedgerFixture,
  type Tenant,
  type TestApp,
} from '../../../test/harness.js';
import { runExpiry, runMaturity } from './jobs.js';

let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp();
});

const amount = fc.option(fc.integer({ min: 1, max: 40 }).map(String), { nil: undefined });
const reference = fc.option(fc.constantFrom('r1', 'r2'), { nil: undefined });
const hours = fc.option(
  fc.integer({ min: 1, max: 4 }).map((h) => `${h}h`),
  { nil: undefined },
);

const operation = fc.oneof(
  fc.record({
    kind: fc.constant('credit' as const),
    amount: fc.integer({ min: 1, max: 40 }).map(String),
    held: fc.boolean(),
    reference,
    expires: hours,
    matures: hours,
  }),
  fc.record({
    kind: fc.constant('debit' as const),
    amount: fc.integer({ min: 1, max: 40 }).map(String),
    overdraft: fc.boolean(),
  }),
  fc.record({ kind: fc.constantFrom('hold' as const, 'release' as const), amount, reference }),
  fc.record({ kind: fc.constant('forfeit' as const), amount, bucket: fc.constantFrom('AVAILABLE', 'HELD') }),
  fc.record({ kind: fc.constant('void-hold' as const), reference: fc.constantFrom('r1', 'r2') }),
  fc.record({ kind: fc.constant('tick' as const), hours: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('redeem' as const), amount: fc.integer({ min: 1, max: 40 }).map(String) }),
  fc.record({ kind: fc.constant('reverse' as const), amount }),
);
type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never;

/** Redemptions made so far in the run, newest last: a reversal picks the newest. */
const redemptions: string[] = [];

async function apply(tenant: Tenant, f: LedgerFixture, op: Operation, lot: boolean) {
  const base = { program_id: f.programId, asset_id: f.assetId, description: 'property' };
  const url = (path: string) => `/v1/participants/${f.participantId}/balances/${path}`;
  switch (op.kind) {
    case 'credit': {
      const body: Record<string, unknown> = { ...base, type: 'CREDIT', amount: op.amount };
      if (op.held) Object.assign(body, { bucket: 'HELD', reference_id: op.reference ?? 'r1' });
      // A referenced credit into AVAILABLE settles that reference's provisional HELD credits.
      else if (lot && op.reference) body.reference_id = op.reference;
      if (lot && op.expires) body.expires_at = op.expires;
      if (lot && op.matures && !op.held) body.matures_at = op.matures;
      return tenant.request('POST', url('adjust'), body);
    }
    case 'debit':
      return tenant.request('POST', url('adjust'), {
        ...base,
        type: 'DEBIT',
        amount: op.amount,
        allow_negative: op.overdraft,
      });
    case 'hold':
    case 'release':
      return tenant.request('POST', url(op.kind), {
        ...base,
        amount: op.amount,
        reference_id: lot ? op.reference : undefined,
      });
    case 'forfeit':
      return tenant.request('POST', url('forfeit'), { ...base, amount: op.amount, bucket: op.bucket });
    case 'void-hold':
      return tenant.request('POST', url('void-hold'), { ...base, reference_id: op.reference });
    case 'redeem': {
      const response = await tenant.request('POST', `/v1/participants/${f.participantId}/redemptions`, {
        ...base,
        amount: op.amount,
      });
      if (response.statusCode === 201) redemptions.push(response.json().id);
      return response;
    }
    case 'reverse': {
      const newest = redemptions[redemptions.length - 1];
      if (newest === undefined) return undefined;
      return tenant.request('POST', `/v1/redemptions/${newest}/reverse`, {
        reason: 'property',
        amount: op.amount,
      });
    }
    case 'tick':
      t.testClock.advance(op.hours * 3_600_000);
      await runMaturity(t.database.handle.db, t.testClock.clock);
      await runExpiry(t.database.handle.db, t.testClock.clock);
      return undefined;
  }
}

async function snapshot(tenant: Tenant, f: LedgerFixture) {
  const balances = (await tenant.request('GET', `/v1/participants/${f.participantId}/balances`)).json().data;
  const entries = (
    await tenant.request('GET', `/v1/journal-entries?limit=200&participant_id=${f.participantId}`)
  ).json();
  return { balances, entryCount: entries.data.length };
}

it('keeps every ledger invariant under random operation sequences', async () => {
  await fc.assert(
    fc.asyncProperty(fc.boolean(), fc.array(operation, { minLength: 1, maxLength: 12 }), async (lot, ops) => {
      t.testClock.set('2026-01-01T00:00:00Z');
      const tenant = await t.createOrganization();
      const f = await createLedgerFixture(tenant, { inventory_mode: lot ? 'LOT' : 'SIMPLE', scale: 0 });
      redemptions.length = 0;
      let overdrawn = false;
      for (const op of ops) {
        const before = await snapshot(tenant, f);
        const response = await apply(tenant, f, op, lot);
        if (response !== undefined) {
          expect(response.statusCode, response.body).toBeLessThan(500);
          if (response.statusCode >= 400) expect(await snapshot(tenant, f)).toEqual(before);
          if (response.statusCode === 200 && op.kind === 'debit' && op.overdraft) overdrawn = true;
        }
        const report = (await tenant.request('GET', '/v1/reports/integrity')).json();
        expect(report.all_passed, JSON.stringify(report)).toBe(true);
        const [balance] = (await snapshot(tenant, f)).balances;
        if (balance !== undefined) {
          expect(Number(balance.held)).toBeGreaterThanOrEqual(0);
          expect(Number(balance.deferred)).toBeGreaterThanOrEqual(0);
          if (!overdrawn) expect(Number(balance.available)).toBeGreaterThanOrEqual(0);
        }
      }
    }),
    { numRuns: 12 },
  );
}, 120_000);
