// Lot bookkeeping for LOT assets inside the caller's transaction: FIFO picking, moving lots between
// buckets (splitting a lot when only part of it moves), consuming, and repaying an overdraft.
// Invariant kept here: the remaining value of a holder's lots in a bucket equals the bucket's
// balance, except that an overdrawn AVAILABLE (balance < 0) has no AVAILABLE lot value left.
import { assert } from '../../platform/assert.js';
import type { Database } from '../../platform/db/database.js';
import { newId } from '../../platform/ids.js';
import { minAmount } from '../../platform/money.js';
import type { LotRow, LotStatus } from './lots.store.js';
import * as lotStore from './lots.store.js';

export interface LotSlice {
  lot: LotRow;
  take: bigint;
}

/** The lots to use, in the order given (FIFO): up to `amount`, or all of them when it is undefined. */
export function pickLots(lots: LotRow[], amount: bigint | undefined): { slices: LotSlice[]; total: bigint } {
  const slices: LotSlice[] = [];
  let total = 0n;
  for (const lot of lots) {
    const left = amount === undefined ? BigInt(lot.remaining) : amount - total;
    if (left <= 0n) break;
    const take = minAmount(BigInt(lot.remaining), left);
    slices.push({ lot, take });
    total += take;
  }
  return { slices, total };
}

/** Spends the slices: remaining goes down, and a lot with nothing left is CONSUMED. */
export async function consumeLots(trx: Database, slices: LotSlice[]): Promise<void> {
  for (const { lot, take } of slices) {
    const remaining = BigInt(lot.remaining) - take;
    await lotStore.updateLot(trx, lot.organization_id, lot.id, {
      remaining: remaining.toString(),
      ...(remaining === 0n ? { status: 'CONSUMED' as const } : {}),
    });
  }
}

export interface LotStamp {
  /** undefined keeps the lot's reference; null clears it. */
  referenceId?: string | null | undefined;
  provisional?: boolean;
}

/**
 * Moves the slices to `status`. A whole lot changes status in place; part of a lot is split off into
 * a new lot that keeps the original's creation time, expiry, maturity and source entry.
 */
export async function moveLots(
  trx: Database,
  slices: LotSlice[],
  status: LotStatus,
  stamp: LotStamp,
): Promise<LotRow[]> {
  const moved: LotRow[] = [];
  for (const { lot, take } of slices) {
    const referenceId = stamp.referenceId === undefined ? lot.reference_id : stamp.referenceId;
    const provisional = stamp.provisional ?? lot.provisional;
    if (take === BigInt(lot.remaining)) {
      await lotStore.updateLot(trx, lot.organization_id, lot.id, {
        status,
        reference_id: referenceId,
        provisional,
      });
      moved.push({ ...lot, status, reference_id: referenceId, provisional });
      continue;
    }
    await lotStore.updateLot(trx, lot.organization_id, lot.id, {
      remaining: (BigInt(lot.remaining) - take).toString(),
    });
    const part: LotRow = {
      ...lot,
      id: newId(),
      parent_lot_id: lot.id,
      amount: take.toString(),
      remaining: take.toString(),
      status,
      reference_id: referenceId,
      provisional,
    };
    await lotStore.insertLots(trx, [part]);
    moved.push(part);
  }
  return moved;
}

/**
 * Value arriving in an overdrawn AVAILABLE first repays the overdraft: the arriving lots lose that
 * much of their remaining value, oldest first.
 */
export async function repayOverdraft(
  trx: Database,
  arrived: LotRow[],
  availableBefore: bigint,
): Promise<void> {
  if (availableBefore >= 0n) return;
  const { slices } = pickLots(arrived, -availableBefore);
  await consumeLots(trx, slices);
}

/**
 * Gives lots back what a redemption took from them (the caller passes them in LIFO order), in
 * AVAILABLE and with their original expiry. A lot spent, expired or still available is restored in
 * place; one that has since moved to HELD gets a split-off lot instead, so its hold is untouched.
 */
export async function restoreLots(
  trx: Database,
  organizationId: string,
  plan: { id: string; amount: bigint }[],
): Promise<LotRow[]> {
  const rows = await lotStore.lockLotsById(
    trx,
    organizationId,
    plan.map((slice) => slice.id),
  );
  const restored: LotRow[] = [];
  for (const { id, amount } of plan) {
    const lot = rows.find((row) => row.id === id);
    assert(lot !== undefined, `a consumed lot ${id} exists`);
    if (lot.status === 'HELD' || lot.status === 'DEFERRED') {
      const part: LotRow = {
        ...lot,
        id: newId(),
        parent_lot_id: lot.id,
        amount: amount.toString(),
        remaining: amount.toString(),
        status: 'AVAILABLE',
        reference_id: null,
        provisional: false,
      };
      await lotStore.insertLots(trx, [part]);
      restored.push(part);
      continue;
    }
    const remaining = BigInt(lot.remaining) + amount;
    assert(remaining <= BigInt(lot.amount), `lot ${id} is restored beyond its amount`);
    await lotStore.updateLot(trx, organizationId, id, {
      remaining: remaining.toString(),
      status: 'AVAILABLE',
    });
    lot.remaining = remaining.toString();
    lot.status = 'AVAILABLE';
    restored.push({ ...lot });
  }
  return restored;
}
