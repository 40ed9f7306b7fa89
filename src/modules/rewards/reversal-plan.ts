// What a reversal gives back: how much (and how many units), never more than is left unreversed, and
// which consumed lots it restores (the last consumed first). Pure: no I/O.
import { assert } from '../../platform/assert.js';
import { DomainError, invalidField } from '../../platform/errors.js';
import { formatAmount, minAmount } from '../../platform/money.js';
import type { RedemptionLotRow, RedemptionRow } from './redemptions.store.js';

export interface ReversalPart {
  amount: bigint;
  /** UNIT_BASED redemptions: the units given back; null otherwise. */
  quantity: number | null;
}

/** The part a reversal request asks for; omitted amount or quantity means the whole remainder. */
export function reversalPart(
  redemption: RedemptionRow,
  request: { amount?: bigint | undefined; quantity?: number | undefined },
  scale: number,
): ReversalPart {
  const left = BigInt(redemption.amount) - BigInt(redemption.reversed_amount);
  if (left === 0n) {
    throw new DomainError('conflict', 'the redemption is already fully reversed', {
      reason: 'fully_reversed',
      status: redemption.status,
    });
  }
  if (redemption.quantity !== null && redemption.unit_cost !== null) {
    if (request.amount !== undefined) {
      throw invalidField('amount', 'a UNIT_BASED redemption is reversed by quantity');
    }
    const unitsLeft = redemption.quantity - (redemption.reversed_quantity ?? 0);
    const quantity = request.quantity ?? unitsLeft;
    if (quantity > unitsLeft) {
      throw invalidField(
        'quantity',
        `exceeds the ${unitsLeft} unit(s) not yet reversed`,
        'exceeds_remaining',
      );
    }
    return { amount: BigInt(redemption.unit_cost) * BigInt(quantity), quantity };
  }
  if (request.quantity !== undefined) {
    throw invalidField('quantity', 'applies to UNIT_BASED redemptions; reverse this one by amount');
  }
  const amount = request.amount ?? left;
  if (amount > left) {
    throw invalidField(
      'amount',
      `exceeds the ${formatAmount(left, scale)} not yet reversed`,
      'exceeds_remaining',
    );
  }
  return { amount, quantity: null };
}

export interface LotRestore {
  position: number;
  lotId: string;
  take: bigint;
  /** The lot's restored total after this reversal. */
  restored: bigint;
}

/** LIFO: the last consumed lot is restored first, each at most up to what was taken from it. */
export function lifoRestores(lots: RedemptionLotRow[], amount: bigint): LotRestore[] {
  if (lots.length === 0) return [];
  const plan: LotRestore[] = [];
  let left = amount;
  for (const lot of [...lots].sort((a, b) => b.position - a.position)) {
    if (left === 0n) break;
    const restored = BigInt(lot.restored);
    const take = minAmount(BigInt(lot.amount) - restored, left);
    if (take === 0n) continue;
    plan.push({ position: lot.position, lotId: lot.lot_id, take, restored: restored + take });
    left -= take;
  }
  assert(left === 0n, 'the consumed lots cover every reversal of the redemption');
  return plan;
}

export function statusAfter(amount: bigint, reversed: bigint): RedemptionRow['status'] {
  if (reversed === 0n) return 'COMPLETED';
  return reversed === amount ? 'FULLY_REVERSED' : 'PARTIALLY_REVERSED';
}
