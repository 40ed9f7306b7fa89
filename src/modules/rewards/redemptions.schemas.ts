import { type Static, Type } from 'typebox';
import { ListQueryFields, Timestamp, Uuid } from '../../platform/http/schemas.js';
import {
  idempotencyKeyLengthMax,
  ledgerDescriptionLengthMax,
  rewardQuantityMax,
} from '../../platform/limits.js';
import { RedemptionTargetType } from '../programs/index.js';

const Amount = Type.String({ minLength: 1, maxLength: 64, description: 'Positive decimal string' });
const Description = Type.String({
  minLength: 1,
  maxLength: ledgerDescriptionLengthMax,
  description: '1-500 characters',
});
const IdempotencyKey = Type.String({
  minLength: 1,
  maxLength: idempotencyKeyLengthMax,
  description: 'Replays answer 200 with the original; the same key with another request 409',
});
const Quantity = Type.Integer({ minimum: 1, maximum: rewardQuantityMax });
export const RedemptionStatus = Type.Enum(['COMPLETED', 'PARTIALLY_REVERSED', 'FULLY_REVERSED']);

export const Redemption = Type.Object(
  {
    id: Uuid,
    participant_id: Uuid,
    program_id: Uuid,
    asset_id: Uuid,
    amount: Type.String({ description: 'Total debited' }),
    reward_id: Type.Union([Uuid, Type.Null()], { description: 'Catalog redemptions only' }),
    quantity: Type.Union([Type.Integer(), Type.Null()], {
      description: 'UNIT_BASED catalog redemptions only',
    }),
    unit_cost: Type.Union([Type.String(), Type.Null()], {
      description: 'The reward price at redemption time',
    }),
    reversed_amount: Type.String({ description: 'Cumulative amount given back by reversals' }),
    reversed_quantity: Type.Union([Type.Integer(), Type.Null()], { description: 'UNIT_BASED: cumulative' }),
    status: RedemptionStatus,
    description: Type.String(),
    journal_entry_id: Uuid,
    redemption_target_type: RedemptionTargetType,
    redemption_target_entity_id: Type.Union([Uuid, Type.Null()]),
    lots_consumed: Type.Array(Type.Object({ lot_id: Uuid, amount: Type.String(), restored: Type.String() }), {
      description: 'LOT assets: the lots the redemption consumed, FIFO, and how much reversals restored',
    }),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  {
    $id: 'Redemption',
    examples: [
      {
        id: '01a24330-3b70-7000-b56a-51f6e7c68ed2',
        participant_id: '01a24330-2d4b-7000-8b43-0fc57f1fc48c',
        program_id: '01a24330-2cf4-7000-9491-eda95eeea36a',
        asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
        amount: '200.00',
        reward_id: '01a24330-3ac9-7000-9e65-b3f9b1306752',
        quantity: 2,
        unit_cost: '100.00',
        reversed_amount: '0.00',
        reversed_quantity: 0,
        status: 'COMPLETED',
        description: 'Redeemed: $10 Gift Card',
        journal_entry_id: '01a24330-3b9b-7002-92b7-a2aedbd20c19',
        redemption_target_type: 'SYSTEM_REDEMPTION',
        redemption_target_entity_id: null,
        lots_consumed: [],
        created_at: '2026-12-01T12:00:00.000Z',
        updated_at: '2026-12-01T12:00:00.000Z',
      },
    ],
    description: 'A redemption',
  },
);
export type Redemption = Static<typeof Redemption>;

export const RawRedemptionBody = Type.Object(
  {
    program_id: Uuid,
    asset_id: Uuid,
    amount: Amount,
    description: Description,
    idempotency_key: Type.Optional(IdempotencyKey),
  },
  {
    additionalProperties: false,
    examples: [
      {
        program_id: '01a24330-4918-7000-a939-0994092c77c2',
        asset_id: '01a24330-492b-7000-a990-78acae16b09b',
        amount: '300',
        description: 'Seat upgrade',
        idempotency_key: 'upgrade-QX7Y2A',
      },
    ],
  },
);
export type RawRedemptionBody = Static<typeof RawRedemptionBody>;

export const CatalogRedemptionBody = Type.Object(
  {
    program_id: Uuid,
    reward_id: Uuid,
    quantity: Type.Optional({ ...Quantity, description: 'UNIT_BASED only; default 1' }),
    amount: Type.Optional({ ...Amount, description: 'AMOUNT_BASED only; at least the reward unit_cost' }),
    description: Type.Optional(Description),
    idempotency_key: Type.Optional(IdempotencyKey),
  },
  {
    additionalProperties: false,
    examples: [
      {
        program_id: '01a24330-2cf4-7000-9491-eda95eeea36a',
        reward_id: '01a24330-3ac9-7000-9e65-b3f9b1306752',
        quantity: 2,
        idempotency_key: 'order-12346-redeem',
      },
    ],
  },
);
export type CatalogRedemptionBody = Static<typeof CatalogRedemptionBody>;

export const ListRedemptionsQuery = Type.Object(
  {
    ...ListQueryFields,
    status: Type.Optional(RedemptionStatus),
    reward_catalog_item_id: Type.Optional({ ...Uuid, description: 'Only redemptions of this reward' }),
    reward_id: Type.Optional({ ...Uuid, description: 'The same as reward_catalog_item_id' }),
    from: Type.Optional({ ...Timestamp, description: 'created_at at or after' }),
    to: Type.Optional({ ...Timestamp, description: 'created_at at or before' }),
  },
  { additionalProperties: false },
);
export type ListRedemptionsQuery = Static<typeof ListRedemptionsQuery>;

export const ReverseBody = Type.Object(
  {
    reason: Type.String({
      minLength: 1,
      maxLength: ledgerDescriptionLengthMax,
      description: '1-500 characters',
    }),
    amount: Type.Optional({
      ...Amount,
      description: 'Raw and AMOUNT_BASED redemptions; omitted: the remainder',
    }),
    quantity: Type.Optional({ ...Quantity, description: 'UNIT_BASED redemptions; omitted: the remainder' }),
    idempotency_key: Type.Optional(IdempotencyKey),
  },
  { additionalProperties: false, examples: [{ reason: 'One card returned', quantity: 1 }] },
);
export type ReverseBody = Static<typeof ReverseBody>;

export const RedemptionReversal = Type.Object(
  {
    id: Uuid,
    redemption_id: Uuid,
    amount: Type.String({ description: 'Credited back' }),
    quantity: Type.Union([Type.Integer(), Type.Null()]),
    reason: Type.String(),
    journal_entry_id: Uuid,
    created_at: Timestamp,
  },
  {
    $id: 'RedemptionReversal',
    examples: [
      {
        id: '01a24330-3cc0-7000-adda-31b5f90b7463',
        redemption_id: '01a24330-3b70-7000-b56a-51f6e7c68ed2',
        amount: '100.00',
        quantity: 1,
        reason: 'One card returned',
        journal_entry_id: '01a24330-3ca0-7002-8c45-73faeab1c00b',
        created_at: '2026-12-01T12:00:00.000Z',
      },
    ],
    description: 'A reversal of a redemption',
  },
);
export type RedemptionReversal = Static<typeof RedemptionReversal>;

export const ReversalsQuery = Type.Object({ ...ListQueryFields }, { additionalProperties: false });
export type ReversalsQuery = Static<typeof ReversalsQuery>;
