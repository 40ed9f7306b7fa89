import { type Static, Type } from 'typebox';
import { ListQueryFields, NullableTimestamp, SortDir, Timestamp, Uuid } from '../../platform/http/schemas.js';
import {
  descriptionLengthMax,
  nameLengthMax,
  rewardCategoryLengthMax,
  rewardQuantityMax,
  searchLengthMax,
} from '../../platform/limits.js';

export const RewardStatus = Type.Enum(['DRAFT', 'ACTIVE', 'OUT_OF_STOCK', 'ARCHIVED']);
/** OUT_OF_STOCK is set by the server when max_total is reached, never by a request. */
const SettableStatus = Type.Enum(['DRAFT', 'ACTIVE', 'ARCHIVED'], {
  description: 'DRAFT, ACTIVE or ARCHIVED; OUT_OF_STOCK is set automatically when max_total is reached',
});
export const RedemptionType = Type.Enum(['UNIT_BASED', 'AMOUNT_BASED']);

export const Reward = Type.Object(
  {
    id: Uuid,
    program_id: Uuid,
    asset_id: Uuid,
    name: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    category: Type.Union([Type.String(), Type.Null()]),
    redemption_type: RedemptionType,
    unit_cost: Type.String({
      description: 'UNIT_BASED: price of one unit; AMOUNT_BASED: the minimum amount',
    }),
    max_total: Type.Union([Type.Integer(), Type.Null()]),
    max_per_participant: Type.Union([Type.Integer(), Type.Null()]),
    redeemed_count: Type.Integer({ description: 'Units redeemed, net of reversals (UNIT_BASED)' }),
    available_from: NullableTimestamp,
    available_until: NullableTimestamp,
    status: RewardStatus,
    metadata: Type.Record(Type.String(), Type.Unknown()),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  {
    $id: 'Reward',
    examples: [
      {
        id: '01a24330-3ac9-7000-9e65-b3f9b1306752',
        program_id: '01a24330-2cf4-7000-9491-eda95eeea36a',
        asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
        name: '$10 Gift Card',
        description: null,
        category: null,
        redemption_type: 'UNIT_BASED',
        unit_cost: '100.00',
        max_total: 100,
        max_per_participant: 5,
        redeemed_count: 0,
        available_from: null,
        available_until: null,
        status: 'ACTIVE',
        metadata: {},
        created_at: '2026-12-01T12:00:00.000Z',
        updated_at: '2026-12-01T12:00:00.000Z',
      },
    ],
    description: 'A reward of the catalog',
  },
);
export type Reward = Static<typeof Reward>;

const Name = Type.String({
  minLength: 1,
  maxLength: nameLengthMax,
  description: 'Unique in the program (1-255)',
});
const Description = Type.String({ maxLength: descriptionLengthMax, description: 'At most 1000 characters' });
const Category = Type.String({ maxLength: rewardCategoryLengthMax, description: 'At most 100 characters' });
const UnitCost = Type.String({ minLength: 1, maxLength: 64, description: 'Positive decimal string' });
const Limit = Type.Union([Type.Integer({ minimum: 1, maximum: rewardQuantityMax }), Type.Null()], {
  description: 'UNIT_BASED only; null means unlimited',
});
const Metadata = Type.Record(Type.String(), Type.Unknown(), {
  description: 'Free-form JSON object (16 KiB)',
});

export const CreateRewardBody = Type.Object(
  {
    name: Name,
    description: Type.Optional(Description),
    category: Type.Optional(Category),
    redemption_type: RedemptionType,
    asset_id: Uuid,
    unit_cost: UnitCost,
    status: SettableStatus,
    max_total: Type.Optional(Limit),
    max_per_participant: Type.Optional(Limit),
    available_from: Type.Optional(NullableTimestamp),
    available_until: Type.Optional(NullableTimestamp),
    metadata: Type.Optional(Metadata),
  },
  {
    additionalProperties: false,
    examples: [
      {
        name: '$10 Gift Card',
        redemption_type: 'UNIT_BASED',
        asset_id: '01a24330-2fba-7000-8d19-3cece0eb69ca',
        unit_cost: '100',
        max_total: 100,
        max_per_participant: 5,
        status: 'ACTIVE',
      },
    ],
  },
);
export type CreateRewardBody = Static<typeof CreateRewardBody>;

export const UpdateRewardBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Type.Union([Description, Type.Null()])),
    category: Type.Optional(Type.Union([Category, Type.Null()])),
    redemption_type: Type.Optional(RedemptionType),
    asset_id: Type.Optional(Uuid),
    unit_cost: Type.Optional(UnitCost),
    status: Type.Optional(SettableStatus),
    max_total: Type.Optional(Limit),
    max_per_participant: Type.Optional(Limit),
    available_from: Type.Optional(NullableTimestamp),
    available_until: Type.Optional(NullableTimestamp),
    metadata: Type.Optional(Metadata),
  },
  {
    additionalProperties: false,
    examples: [{ unit_cost: '450', max_per_participant: 2 }, { status: 'ARCHIVED' }],
  },
);
export type UpdateRewardBody = Static<typeof UpdateRewardBody>;

export const ListRewardsQuery = Type.Object(
  {
    ...ListQueryFields,
    status: Type.Optional(RewardStatus),
    include_archived: Type.Optional(Type.Boolean({ default: false })),
    search: Type.Optional(Type.String({ maxLength: searchLengthMax, description: 'Partial match on name' })),
    sort_by: Type.Optional(Type.Enum(['created_at', 'name'], { default: 'created_at' })),
    sort_dir: Type.Optional(SortDir),
  },
  { additionalProperties: false },
);
export type ListRewardsQuery = Static<typeof ListRewardsQuery>;

export const ProgramRewardParams = Type.Object(
  { programId: Uuid, rewardId: Uuid },
  { additionalProperties: false },
);
export const ProgramParams = Type.Object({ programId: Uuid }, { additionalProperties: false });
