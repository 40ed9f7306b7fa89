// Ledger reports, computed in real time from the postings: ledger summary, liability as of a time,
// liability rollforward (movements must explain closing minus opening exactly, or the request
// fails), and the expiration schedule of LOT assets.
import { assert } from '../../platform/assert.js';
import type { Clock } from '../../platform/clock.js';
import { toIso } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { DomainError, invalidField } from '../../platform/errors.js';
import { formatAmount } from '../../platform/money.js';
import { readOptionalTimestamp, readTimestamp } from '../../platform/timestamp.js';
import { findAssetRow } from '../assets/index.js';
import {
  type ExpirationSchedule,
  type ExpirationScheduleQuery,
  type LedgerSummaryQuery,
  type LedgerSummaryRow,
  type LiabilityQuery,
  type LiabilityReport,
  type RollforwardQuery,
  rollforwardMovements,
} from './reports.schemas.js';
import * as store from './reports.store.js';

type Movement = (typeof rollforwardMovements)[number];

/**
 * How each action type moves holder liability, as a rollforward line and its sign: outflows are
 * reported as positive amounts, so their holder postings are negated.
 */
const movementOf: Record<string, [Movement, 1n | -1n]> = {
  CREDIT: ['issued', 1n],
  DEBIT: ['debited', -1n],
  REDEMPTION: ['redeemed', -1n],
  FORFEIT: ['forfeited', -1n],
  EXPIRATION: ['expired', -1n],
  VOID_HOLD: ['holds_voided', -1n],
  HOLD: ['bucket_movements_net', 1n],
  RELEASE: ['bucket_movements_net', 1n],
  MATURITY: ['bucket_movements_net', 1n],
  TRANSFER: ['transfers_net', 1n],
  REVERSAL: ['redemption_reversals', 1n],
};

/**
 * Redemptions and reversals move value between two holders when the target is a ledger entity: what
 * the target receives is a redemption receipt, what a reversal takes back from it a clawback.
 */
const inboundMovementOf: Record<string, [Movement, 1n | -1n]> = {
  REDEMPTION: ['redemption_receipts', 1n],
};
const outboundMovementOf: Record<string, [Movement, 1n | -1n]> = {
  REVERSAL: ['reversal_clawbacks', -1n],
};

function classify(actionType: string, direction: 'in' | 'out'): [Movement, 1n | -1n] {
  const byDirection = direction === 'in' ? inboundMovementOf : outboundMovementOf;
  const movement = byDirection[actionType] ?? movementOf[actionType];
  if (movement === undefined) {
    throw new DomainError(
      'integrity_violation',
      `cannot classify ${actionType} entries; the report is refused`,
    );
  }
  return movement;
}

function requireWindow(from: string | undefined, to: string | undefined) {
  if ((from === undefined) !== (to === undefined))
    throw invalidField(from === undefined ? 'from' : 'to', 'from and to go together');
  if (from !== undefined && to !== undefined && to < from)
    throw invalidField('to', 'must not be before from');
}

export async function ledgerSummary(db: Database, organizationId: string, query: LedgerSummaryQuery) {
  requireWindow(query.from, query.to);
  const period = query.from !== undefined && query.to !== undefined;
  const filter = {
    programId: query.program_id,
    from: period ? readOptionalTimestamp(query.from, 'from') : undefined,
    to: period ? readOptionalTimestamp(query.to, 'to') : undefined,
  };
  const rows = await store.sumHolderMovements(db, organizationId, filter);
  const holders = await store.countHolders(db, organizationId, filter);
  const byAsset = new Map<string, store.MovementRow[]>();
  for (const row of rows) byAsset.set(row.asset_id, [...(byAsset.get(row.asset_id) ?? []), row]);
  const data = [...byAsset.values()].map((assetRows) => summarizeAsset(assetRows, holders, period));
  return { data };
}

function summarizeAsset(
  rows: store.MovementRow[],
  holders: Map<string, number>,
  period: boolean,
): LedgerSummaryRow {
  const first = rows[0];
  assert(first !== undefined, 'an asset summary needs rows');
  const total = (actions: string[], sign: bigint, part: 'all' | 'within' | 'before') =>
    rows
      .filter((row) => actions.includes(row.action_type))
      .reduce((sum, row) => sum + sign * amountOf(row, part), 0n);
  const f = (value: bigint) => formatAmount(value, first.scale);
  const issued = total(['CREDIT', 'VOID_HOLD'], 1n, 'all');
  // Net of reversals, so that current_balance stays the outstanding liability.
  const redeemed = total(['DEBIT', 'REDEMPTION', 'REVERSAL'], -1n, 'all');
  const expired = total(['EXPIRATION'], -1n, 'all');
  const forfeited = total(['FORFEIT'], -1n, 'all');
  const row: LedgerSummaryRow = {
    asset_id: first.asset_id,
    asset_name: first.asset_name,
    asset_symbol: first.asset_symbol,
    total_issued: f(issued),
    total_redeemed: f(redeemed),
    total_expired: f(expired),
    total_forfeited: f(forfeited),
    current_balance: f(issued - redeemed - expired - forfeited),
    participant_count: holders.get(first.asset_id) ?? 0,
  };
  if (!period) return row;
  const opening = rows.reduce((sum, r) => sum + BigInt(r.before), 0n);
  const closing = opening + rows.reduce((sum, r) => sum + BigInt(r.within), 0n);
  const periodIssued = total(['CREDIT', 'VOID_HOLD'], 1n, 'within');
  // Gross: the period's reversals fall into other_adjustments_net.
  const periodRedeemed = total(['DEBIT', 'REDEMPTION'], -1n, 'within');
  const periodExpired = total(['EXPIRATION'], -1n, 'within');
  const periodForfeited = total(['FORFEIT'], -1n, 'within');
  const explained = periodIssued - periodRedeemed - periodExpired - periodForfeited;
  return {
    ...row,
    opening_balance: f(opening),
    closing_balance: f(closing),
    period_issued: f(periodIssued),
    period_redeemed: f(periodRedeemed),
    period_expired: f(periodExpired),
    period_forfeited: f(periodForfeited),
    other_adjustments_net: f(closing - opening - explained),
  };
}

function amountOf(row: store.MovementRow, part: 'all' | 'within' | 'before'): bigint {
  if (part === 'within') return BigInt(row.within);
  if (part === 'before') return BigInt(row.before);
  return BigInt(row.within) + BigInt(row.before);
}

export async function liability(
  db: Database,
  clock: Clock,
  organizationId: string,
  query: LiabilityQuery,
): Promise<LiabilityReport> {
  const asOf = readOptionalTimestamp(query.as_of, 'as_of') ?? clock();
  const rows = await store.sumLiability(db, organizationId, {
    asOf,
    programId: query.program_id,
    assetId: query.asset_id,
    groupId: query.group_id,
    byBucket: query.by_bucket === true,
  });
  return {
    as_of: toIso(asOf),
    data: rows.map((row) => ({
      asset_id: row.asset_id,
      asset_name: row.asset_name,
      asset_symbol: row.asset_symbol,
      scale: row.scale,
      program_id: row.program_id,
      program_name: row.program_name,
      balance: formatAmount(BigInt(row.balance), row.scale),
      ...(row.bucket === null ? {} : { bucket: row.bucket }),
    })),
    pagination: { has_more: false, next_cursor: null },
  };
}

export async function rollforward(db: Database, organizationId: string, query: RollforwardQuery) {
  requireWindow(query.from, query.to);
  const from = readTimestamp(query.from, 'from');
  const to = readTimestamp(query.to, 'to');
  const filter = { programId: query.program_id, assetId: query.asset_id, groupId: query.group_id, from, to };
  const rows = await store.sumHolderMovements(db, organizationId, filter);
  const closingRows = await store.sumLiability(db, organizationId, { ...filter, asOf: to, byBucket: false });
  const groups = new Map<string, store.MovementRow[]>();
  for (const row of rows) {
    const key = `${row.asset_id}:${row.program_id}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const data = [...groups.values()].map((group) => {
    const closing = closingRows.find(
      (c) => c.asset_id === group[0]?.asset_id && c.program_id === group[0]?.program_id,
    );
    return rollforwardLine(group, BigInt(closing?.balance ?? '0'));
  });
  return { from: toIso(from), to: toIso(to), data };
}

function rollforwardLine(rows: store.MovementRow[], closing: bigint) {
  const first = rows[0];
  assert(first !== undefined, 'a rollforward line needs rows');
  const movements = Object.fromEntries(rollforwardMovements.map((name) => [name, 0n])) as Record<
    Movement,
    bigint
  >;
  let opening = 0n;
  let net = 0n;
  for (const row of rows) {
    const [movement, sign] = classify(row.action_type, row.direction);
    movements[movement] += sign * BigInt(row.within);
    opening += BigInt(row.before);
    net += BigInt(row.within);
  }
  if (opening + net !== closing) {
    throw new DomainError(
      'integrity_violation',
      'the movements do not explain closing minus opening; the report is refused',
    );
  }
  const f = (value: bigint) => formatAmount(value, first.scale);
  return {
    asset_id: first.asset_id,
    asset_name: first.asset_name,
    asset_symbol: first.asset_symbol,
    scale: first.scale,
    program_id: first.program_id,
    program_name: first.program_name,
    opening_balance: f(opening),
    closing_balance: f(closing),
    ...Object.fromEntries(rollforwardMovements.map((name) => [name, f(movements[name])])),
  };
}

const granularityMs = { day: 86_400_000, week: 7 * 86_400_000 };

function bucketEnd(start: Date, granularity: 'day' | 'week' | 'month'): Date {
  if (granularity !== 'month') return new Date(start.getTime() + granularityMs[granularity]);
  return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
}

export async function expirationSchedule(
  db: Database,
  organizationId: string,
  query: ExpirationScheduleQuery,
) {
  requireWindow(query.from, query.to);
  const assetIds =
    query.asset_id === undefined ? await store.listLotAssetIds(db, organizationId) : [query.asset_id];
  const data: ExpirationSchedule[] = [];
  for (const assetId of assetIds) data.push(await scheduleOf(db, organizationId, assetId, query));
  return { data };
}

async function scheduleOf(
  db: Database,
  organizationId: string,
  assetId: string,
  query: ExpirationScheduleQuery,
) {
  const asset = await findAssetRow(db, organizationId, assetId);
  if (asset.inventory_mode !== 'LOT') {
    throw new DomainError('unsupported_inventory_mode', 'the expiration schedule covers LOT assets only');
  }
  const granularity = query.granularity ?? 'month';
  const rows = await store.sumExpiringLots(db, organizationId, {
    assetId,
    programId: query.program_id,
    from: readTimestamp(query.from, 'from'),
    to: readTimestamp(query.to, 'to'),
    granularity,
  });
  const sumOf = (placement: string) =>
    rows.filter((row) => row.placement === placement).reduce((sum, row) => sum + BigInt(row.amount), 0n);
  const total = rows.reduce((sum, row) => sum + BigInt(row.amount), 0n);
  const f = (value: bigint) => formatAmount(value, asset.scale);
  return {
    asset_id: asset.id,
    asset_name: asset.name,
    asset_symbol: asset.symbol,
    scale: asset.scale,
    total_outstanding: f(total),
    never_expiring: f(sumOf('never')),
    expiring_before_window: f(sumOf('before')),
    expiring_after_window: f(sumOf('after')),
    buckets: rows
      .filter((row) => row.placement === 'within' && row.bucket_start !== null)
      .map((row) => {
        const start = row.bucket_start ?? new Date(0);
        return {
          bucket_start: toIso(start),
          bucket_end: toIso(bucketEnd(start, granularity)),
          amount: f(BigInt(row.amount)),
          lot_count: Number(row.lot_count),
        };
      }),
  };
}
