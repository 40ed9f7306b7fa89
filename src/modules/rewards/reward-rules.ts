// The catalog's rules as data: when a reward can be redeemed, what a redemption of it costs, and the
// status its stock gives it. Pure: no I/O.
import { DomainError, invalidField } from '../../platform/errors.js';
import type { RewardRow, RewardStatus } from './rewards.store.js';

/** ACTIVE and OUT_OF_STOCK follow the stock: OUT_OF_STOCK exactly when max_total is reached. */
export function stockStatus(
  reward: Pick<RewardRow, 'status' | 'redeemed_count' | 'max_total'>,
): RewardStatus {
  if (reward.status !== 'ACTIVE' && reward.status !== 'OUT_OF_STOCK') return reward.status;
  const exhausted = reward.max_total !== null && reward.redeemed_count >= reward.max_total;
  return exhausted ? 'OUT_OF_STOCK' : 'ACTIVE';
}

/** Refuses a reward that cannot be redeemed now, saying why. */
export function requireRedeemable(reward: RewardRow, now: Date): void {
  const refuse = (reason: string, message: string) => {
    throw new DomainError('reward_unavailable', message, {
      field: 'reward_id',
      reason,
      status: reward.status,
    });
  };
  if (reward.status !== 'ACTIVE') refuse(reward.status.toLowerCase(), `the reward is ${reward.status}`);
  if (reward.available_from !== null && now < reward.available_from) {
    refuse('not_yet_available', `the reward is available from ${reward.available_from.toISOString()}`);
  }
  if (reward.available_until !== null && now > reward.available_until) {
    refuse('no_longer_available', `the reward was available until ${reward.available_until.toISOString()}`);
  }
}

export interface CatalogRequest {
  quantity?: number | undefined;
  /** AMOUNT_BASED: the amount to redeem, in minor units. */
  amount?: bigint | undefined;
}

/** What the redemption debits and how many units it takes (UNIT_BASED; null for AMOUNT_BASED). */
export function priceOf(
  reward: RewardRow,
  request: CatalogRequest,
): { amount: bigint; quantity: number | null } {
  const unitCost = BigInt(reward.unit_cost);
  if (reward.redemption_type === 'UNIT_BASED') {
    if (request.amount !== undefined)
      throw invalidField('amount', 'is for AMOUNT_BASED rewards; use quantity');
    const quantity = request.quantity ?? 1;
    return { amount: unitCost * BigInt(quantity), quantity };
  }
  if (request.quantity !== undefined) throw invalidField('quantity', 'is for UNIT_BASED rewards; use amount');
  if (request.amount === undefined) {
    throw invalidField('amount', 'is required for AMOUNT_BASED rewards', 'required');
  }
  if (request.amount < unitCost) {
    throw invalidField('amount', 'must be at least the reward unit_cost', 'below_minimum');
  }
  return { amount: request.amount, quantity: null };
}

/** Refuses units beyond max_total or the participant's max_per_participant (both net of reversals). */
export function requireStock(reward: RewardRow, quantity: number, participantRedeemed: number): void {
  const over = (limit: 'max_total' | 'max_per_participant', max: number, used: number) => {
    throw new DomainError(
      'reward_limit_exceeded',
      `${limit} of ${max} would be exceeded: ${Math.max(max - used, 0)} unit(s) left`,
      { field: 'quantity', reason: limit, limit: max, remaining: Math.max(max - used, 0) },
    );
  };
  if (reward.max_total !== null && reward.redeemed_count + quantity > reward.max_total) {
    over('max_total', reward.max_total, reward.redeemed_count);
  }
  const perParticipant = reward.max_per_participant;
  if (perParticipant !== null && participantRedeemed + quantity > perParticipant) {
    over('max_per_participant', perParticipant, participantRedeemed);
  }
}
