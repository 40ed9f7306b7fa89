import { type Static, Type } from 'typebox';
import { ListQueryFields, SortDir, Timestamp, Uuid } from '../../platform/http/schemas.js';
import {
  attributeKeyLengthMax,
  attributesPerParticipantMax,
  attributeValueLengthMax,
  externalIdLengthMax,
  phoneLengthMax,
  profileFieldLengthMax,
  searchLengthMax,
  tagLengthMax,
  tagsPerParticipantMax,
} from '../../platform/limits.js';

export const ParticipantStatus = Type.Enum(['ACTIVE', 'SUSPENDED', 'CLOSED']);

const ExternalId = Type.String({
  minLength: 1,
  maxLength: externalIdLengthMax,
  description: 'Your id for this user',
});
const ProfileField = Type.String({ maxLength: profileFieldLengthMax });
const profileFields = {
  email: Type.Optional(
    Type.String({
      maxLength: profileFieldLengthMax,
      pattern: '^$|^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$',
      description: 'Email address; an empty string clears it',
    }),
  ),
  phone: Type.Optional(Type.String({ maxLength: phoneLengthMax })),
  first_name: Type.Optional(ProfileField),
  last_name: Type.Optional(ProfileField),
  display_name: Type.Optional(ProfileField),
};
export type ProfileFieldName = 'email' | 'phone' | 'first_name' | 'last_name' | 'display_name';
export const profileFieldNames: ProfileFieldName[] = [
  'email',
  'phone',
  'first_name',
  'last_name',
  'display_name',
];

export const Attributes = Type.Record(
  Type.String({ minLength: 1, maxLength: attributeKeyLengthMax }),
  Type.String({ maxLength: attributeValueLengthMax }),
  {
    maxProperties: attributesPerParticipantMax,
    propertyNames: { minLength: 1, maxLength: attributeKeyLengthMax },
    description: 'String key-value metadata, readable in rules as participant.attributes.<key>',
  },
);
export const Tags = Type.Array(Type.String({ minLength: 1, maxLength: tagLengthMax }), {
  maxItems: tagsPerParticipantMax,
  description: 'Labels, lower-cased on write',
});

export const Balance = Type.Object({
  asset_id: Uuid,
  available: Type.String(),
  held: Type.String(),
  deferred: Type.String(),
});

const NullableProfileField = Type.Union([Type.String(), Type.Null()], { description: 'null when unset' });

const summaryFields = {
  id: Uuid,
  external_id: Type.String(),
  status: ParticipantStatus,
  email: NullableProfileField,
  phone: NullableProfileField,
  first_name: NullableProfileField,
  last_name: NullableProfileField,
  display_name: NullableProfileField,
  created_at: Timestamp,
  updated_at: Timestamp,
};

export const ParticipantSummary = Type.Object(summaryFields, {
  $id: 'ParticipantSummary',
  examples: [
    {
      id: '01a24330-2d4b-7000-8b43-0fc57f1fc48c',
      external_id: 'user_abc123',
      status: 'ACTIVE',
      email: null,
      phone: null,
      first_name: null,
      last_name: null,
      display_name: null,
      created_at: '2026-12-01T12:00:00.000Z',
      updated_at: '2026-12-01T12:00:00.000Z',
    },
  ],
  description: 'A participant, without balances',
});
export type ParticipantSummary = Static<typeof ParticipantSummary>;

export const Participant = Type.Object(
  {
    ...summaryFields,
    attributes: Type.Record(Type.String(), Type.String()),
    tags: Type.Array(Type.String()),
    counters: Type.Record(Type.String(), Type.String(), { description: 'Counter values as decimal strings' }),
    balances: Type.Array(Balance),
    tiers: Type.Record(Type.String(), Type.Object({ level: Type.String(), rank: Type.Integer() })),
    program_ids: Type.Array(Uuid),
  },
  {
    $id: 'Participant',
    description: 'A participant with its balances, counters, tiers and programs',
    examples: [
      {
        id: '0193b3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b',
        external_id: 'user_abc123',
        status: 'ACTIVE',
        email: null,
        phone: null,
        first_name: null,
        last_name: null,
        display_name: null,
        created_at: '2024-01-15T10:30:00.000Z',
        updated_at: '2024-01-15T10:30:00.000Z',
        attributes: { plan: 'premium', region: 'us-east' },
        tags: ['vip'],
        counters: { points_earned: '1500', purchases: '42' },
        balances: [
          {
            asset_id: '0193b3c4-6a7b-7c8d-9e0f-1a2b3c4d5e6f',
            available: '1500.00',
            held: '200.00',
            deferred: '0.00',
          },
        ],
        tiers: {},
        program_ids: ['550e8400-e29b-41d4-a716-446655440000'],
      },
    ],
  },
);
export type Participant = Static<typeof Participant>;

export const CreateParticipantBody = Type.Object(
  {
    external_id: ExternalId,
    program_id: Type.Optional(Uuid),
    status: Type.Optional(ParticipantStatus),
    ...profileFields,
    attributes: Type.Optional(Attributes),
    tags: Type.Optional(Tags),
  },
  {
    additionalProperties: false,
    examples: [
      {
        external_id: 'user_abc123',
        attributes: { plan: 'premium', region: 'us-east' },
        program_id: '550e8400-e29b-41d4-a716-446655440000',
        status: 'ACTIVE',
        tags: ['vip'],
      },
    ],
  },
);
export type CreateParticipantBody = Static<typeof CreateParticipantBody>;

export const UpdateParticipantBody = Type.Object(
  {
    external_id: Type.Optional(ExternalId),
    ...profileFields,
    attributes: Type.Optional(Attributes),
    tags: Type.Optional(Tags),
    status: Type.Optional(
      Type.Enum(['ACTIVE', 'SUSPENDED', 'CLOSED'], {
        description: 'Accepted for compatibility and ignored: use PATCH /v1/participants/{id}/status',
      }),
    ),
  },
  {
    additionalProperties: false,
    examples: [
      { email: 'jane.doe@example.com', display_name: 'Jane D.', attributes: { city: 'Lyon' }, tags: ['vip'] },
    ],
  },
);
export type UpdateParticipantBody = Static<typeof UpdateParticipantBody>;

export const UpdateParticipantStatusBody = Type.Object(
  { status: ParticipantStatus },
  { additionalProperties: false, examples: [{ status: 'SUSPENDED' }] },
);

export const ListParticipantsQuery = Type.Object(
  {
    ...ListQueryFields,
    external_id: Type.Optional(
      Type.String({ minLength: 1, maxLength: externalIdLengthMax, description: 'Exact match' }),
    ),
    search: Type.Optional(
      Type.String({
        maxLength: searchLengthMax,
        description: 'Partial match on external_id, email, phone and names',
      }),
    ),
    status: Type.Optional(ParticipantStatus),
    program_id: Type.Optional(Uuid),
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
    sort_by: Type.Optional(Type.Enum(['created_at', 'external_id', 'status'], { default: 'created_at' })),
    sort_dir: Type.Optional(SortDir),
  },
  { additionalProperties: false },
);
export type ListParticipantsQuery = Static<typeof ListParticipantsQuery>;
