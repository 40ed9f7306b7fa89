import { type Static, type TSchema, Type } from 'typebox';
import { NullableTimestamp, Timestamp, Uuid } from '../../platform/http/schemas.js';
import {
  counterKeyLengthMax,
  criteriaPerLevelMax,
  levelKeyLengthMax,
  levelsPerTierMax,
  nameLengthMax,
  tierKeyLengthMax,
} from '../../platform/limits.js';

const Empty = Type.Object({}, { additionalProperties: false, description: '{} clears the field' });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const TierKey = Type.String({
  pattern: '^[a-z][a-z0-9_]*$',
  format: 'key-name',
  maxLength: tierKeyLengthMax,
  description: 'Lower-case letters, digits and _; starts with a letter',
});
export const LevelKey = Type.String({ minLength: 1, maxLength: levelKeyLengthMax });

export const Criterion = Type.Object(
  {
    counter: Type.String({ minLength: 1, maxLength: counterKeyLengthMax }),
    operator: Type.Enum(['>=', '>', '==', '<=', '<']),
    // Bounded so that the number converts to an exact decimal (no exponent notation).
    threshold: Type.Number({ minimum: -1e15, maximum: 1e15 }),
  },
  { additionalProperties: false },
);
export type Criterion = Static<typeof Criterion>;

export const Qualification = Type.Object(
  {
    mode: Type.Enum(['ALL', 'ANY']),
    criteria: Type.Array(Criterion, { minItems: 1, maxItems: criteriaPerLevelMax }),
  },
  { additionalProperties: false },
);
export type Qualification = Static<typeof Qualification>;

export const Lifecycle = Type.Object(
  {
    retention: Type.Object(
      {
        mode: Type.Enum(['PERIOD_BASED', 'ACTIVITY_REFRESH']),
        duration: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: 'Go duration' })),
      },
      { additionalProperties: false },
    ),
    qualification_period: Type.Optional(
      Type.Object(
        {
          type: Type.Enum(['CALENDAR_YEAR', 'FIXED_YEAR', 'NONE']),
          start_month: Type.Optional(Type.Integer({ minimum: 1, maximum: 12 })),
          start_day: Type.Optional(Type.Integer({ minimum: 1, maximum: 31 })),
        },
        { additionalProperties: false },
      ),
    ),
    status_validity: Type.Optional(
      Type.Object(
        { extend_months: Type.Optional(Type.Integer({ minimum: 0, maximum: 120 })) },
        { additionalProperties: false },
      ),
    ),
    downgrade_policy: Type.Optional(
      Type.Object(
        {
          mode: Type.Optional(Type.Enum(['DROP_TO_QUALIFYING', 'DROP_ONE', 'HOLD'])),
          grace_days: Type.Optional(Type.Integer({ minimum: 0, maximum: 3650 })),
          min_level: Type.Optional(LevelKey),
        },
        { additionalProperties: false },
      ),
    ),
    counters: Type.Optional(
      Type.Object(
        {
          qualifying: Type.Optional(
            Type.Array(Type.String({ minLength: 1, maxLength: counterKeyLengthMax }), {
              maxItems: criteriaPerLevelMax,
            }),
          ),
          rollover: Type.Optional(Type.Enum(['NONE', 'EXCESS'])),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type Lifecycle = Static<typeof Lifecycle>;

const Color = Type.String({ pattern: '^#[0-9A-Fa-f]{6}$', description: 'Hex color, e.g. #FFD700' });
const IconUrl = Type.String({ minLength: 1, maxLength: 2048 });
const Benefits = Type.Record(Type.String(), Type.Unknown(), { description: 'Free JSON' });
const DisplayName = Type.String({ minLength: 1, maxLength: nameLengthMax });
const Rank = Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'Higher is better; 0 is the base' });

export const LevelInput = Type.Object(
  {
    key: LevelKey,
    rank: Rank,
    display_name: Type.Optional(DisplayName),
    color: Type.Optional(Color),
    icon_url: Type.Optional(IconUrl),
    benefits: Type.Optional(Benefits),
    qualification: Type.Optional(Type.Union([Empty, Qualification])),
  },
  { additionalProperties: false },
);
export type LevelInput = Static<typeof LevelInput>;

export const CreateTierBody = Type.Object(
  {
    key: TierKey,
    display_name: Type.Optional(DisplayName),
    levels: Type.Array(LevelInput, { minItems: 1, maxItems: levelsPerTierMax }),
    lifecycle: Type.Optional(Type.Union([Empty, Lifecycle])),
  },
  {
    additionalProperties: false,
    examples: [
      {
        key: 'status',
        display_name: 'Status',
        levels: [
          { key: 'member', rank: 0 },
          {
            key: 'silver',
            rank: 1,
            qualification: {
              mode: 'ALL',
              criteria: [{ counter: 'ytd_spend', operator: '>=', threshold: 500 }],
            },
          },
          {
            key: 'gold',
            rank: 2,
            qualification: {
              mode: 'ALL',
              criteria: [{ counter: 'ytd_spend', operator: '>=', threshold: 2000 }],
            },
          },
        ],
        lifecycle: {
          retention: { mode: 'PERIOD_BASED' },
          qualification_period: { type: 'CALENDAR_YEAR' },
          downgrade_policy: { mode: 'DROP_TO_QUALIFYING', grace_days: 10 },
          counters: { rollover: 'NONE' },
        },
      },
    ],
  },
);
export type CreateTierBody = Static<typeof CreateTierBody>;

export const LevelPatch = Type.Object(
  {
    key: LevelKey,
    rank: Type.Optional(Nullable(Rank)),
    display_name: Type.Optional(Nullable(DisplayName)),
    color: Type.Optional(Nullable(Type.Union([Color, Type.Literal('')]))),
    icon_url: Type.Optional(Nullable(Type.Union([IconUrl, Type.Literal('')]))),
    benefits: Type.Optional(Nullable(Benefits)),
    qualification: Type.Optional(Nullable(Type.Union([Empty, Qualification]))),
  },
  { additionalProperties: false },
);
export type LevelPatch = Static<typeof LevelPatch>;

export const UpdateTierBody = Type.Object(
  {
    display_name: Type.Optional(Nullable(DisplayName)),
    levels: Type.Optional(Nullable(Type.Array(LevelPatch, { minItems: 1, maxItems: levelsPerTierMax }))),
    lifecycle: Type.Optional(Nullable(Type.Union([Empty, Lifecycle]))),
  },
  {
    additionalProperties: false,
    examples: [
      {
        display_name: 'Member status',
        levels: [{ key: 'gold', display_name: 'Gold', color: '#FFD700', benefits: { free_shipping: true } }],
      },
    ],
  },
);
export type UpdateTierBody = Static<typeof UpdateTierBody>;

export const Level = Type.Object({
  id: Uuid,
  key: Type.String(),
  rank: Type.Integer(),
  display_name: Nullable(Type.String()),
  color: Nullable(Type.String()),
  icon_url: Nullable(Type.String()),
  benefits: Benefits,
  qualification: Nullable(Qualification),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type Level = Static<typeof Level>;

export const Tier = Type.Object(
  {
    id: Uuid,
    program_id: Uuid,
    key: Type.String(),
    display_name: Nullable(Type.String()),
    levels: Type.Array(Level),
    lifecycle: Nullable(Lifecycle),
    status: Type.Enum(['ACTIVE', 'ARCHIVED']),
    archived_at: Type.Optional(Timestamp),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  {
    $id: 'Tier',
    examples: [
      {
        id: '01a24330-3f92-7000-97f8-d3b909015081',
        program_id: '01a24330-2cf4-7000-9491-eda95eeea36a',
        key: 'status',
        display_name: 'Status',
        levels: [
          {
            id: '01a24330-3f94-7000-8ffa-312e21c9dcb5',
            key: 'member',
            rank: 0,
            display_name: null,
            color: null,
            icon_url: null,
            benefits: {},
            qualification: null,
            created_at: '2026-12-01T12:00:00.000Z',
            updated_at: '2026-12-01T12:00:00.000Z',
          },
          {
            id: '01a24330-3f94-7001-b36f-1fa2fc24b362',
            key: 'silver',
            rank: 1,
            display_name: null,
            color: null,
            icon_url: null,
            benefits: {},
            qualification: {
              mode: 'ALL',
              criteria: [{ counter: 'ytd_spend', operator: '>=', threshold: 500 }],
            },
            created_at: '2026-12-01T12:00:00.000Z',
            updated_at: '2026-12-01T12:00:00.000Z',
          },
          {
            id: '01a24330-3f94-7002-ab81-d54faefe6bbc',
            key: 'gold',
            rank: 2,
            display_name: null,
            color: null,
            icon_url: null,
            benefits: {},
            qualification: {
              mode: 'ALL',
              criteria: [{ counter: 'ytd_spend', operator: '>=', threshold: 2000 }],
            },
            created_at: '2026-12-01T12:00:00.000Z',
            updated_at: '2026-12-01T12:00:00.000Z',
          },
        ],
        lifecycle: {
          retention: { mode: 'PERIOD_BASED' },
          qualification_period: { type: 'CALENDAR_YEAR' },
          downgrade_policy: { mode: 'DROP_TO_QUALIFYING', grace_days: 10 },
          counters: { rollover: 'NONE' },
        },
        status: 'ACTIVE',
        created_at: '2026-12-01T12:00:00.000Z',
        updated_at: '2026-12-01T12:00:00.000Z',
      },
    ],
    description: 'A tier with its levels',
  },
);
export type Tier = Static<typeof Tier>;

export const ProgramParams = Type.Object({ programId: Uuid }, { additionalProperties: false });
export const TierParams = Type.Object({ programId: Uuid, key: TierKey }, { additionalProperties: false });

export const TierState = Type.Object(
  {
    key: Type.String(),
    level: Type.String(),
    rank: Type.Integer(),
    benefits: Benefits,
    acquired_at: Timestamp,
    expires_at: NullableTimestamp,
  },
  {
    $id: 'TierState',
    description: "A participant's level in a tier",
    examples: [
      {
        key: 'status',
        level: 'gold',
        rank: 2,
        benefits: { free_shipping: true, points_multiplier: 2 },
        acquired_at: '2026-03-14T09:12:00.000Z',
        expires_at: '2027-01-10T00:00:00.000Z',
      },
    ],
  },
);
export type TierState = Static<typeof TierState>;

export const ParticipantTierParams = Type.Object({ id: Uuid, key: TierKey }, { additionalProperties: false });
export const ProgramQuery = Type.Object({ program_id: Uuid }, { additionalProperties: false });
export const SetTierBody = Type.Object(
  { level: LevelKey, expires_at: Type.Optional(NullableTimestamp) },
  {
    additionalProperties: false,
    examples: [{ level: 'gold', expires_at: '2027-12-31T23:59:59.000Z' }, { level: 'silver' }],
  },
);
export type SetTierBody = Static<typeof SetTierBody>;
