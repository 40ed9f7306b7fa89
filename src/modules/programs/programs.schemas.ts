import { type Static, Type } from 'typebox';
import { ListQueryFields, NullableTimestamp, SortDir, Timestamp, Uuid } from '../../platform/http/schemas.js';
import { descriptionLengthMax, nameLengthMax, searchLengthMax } from '../../platform/limits.js';

export const ProgramStatus = Type.Enum(['ACTIVE', 'SUSPENDED', 'ARCHIVED']);
export const OnUnknownParticipant = Type.Enum(['CREATE', 'REJECT']);
export const RedemptionTargetType = Type.Enum(['SYSTEM_REDEMPTION', 'SYSTEM_BREAKAGE', 'LEDGER_ENTITY'], {
  description:
    'Where redeemed value goes: SYSTEM_REDEMPTION (default), SYSTEM_BREAKAGE, or LEDGER_ENTITY ' +
    '(an ACTIVE participant or group named by redemption_target_entity_id)',
});
const RedemptionTargetEntityId = Type.String({
  format: 'uuid',
  description: 'Only with redemption_target_type LEDGER_ENTITY, in the same request',
});

export const Program = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    status: ProgramStatus,
    on_unknown_participant: OnUnknownParticipant,
    redemption_target_type: RedemptionTargetType,
    redemption_target_entity_id: Type.Optional(Uuid),
    created_at: Timestamp,
    updated_at: Timestamp,
    deleted_at: NullableTimestamp,
  },
  {
    $id: 'Program',
    description: 'A program',
    examples: [
      {
        id: '550e8400-e29b-41d4-a716-446655440000',
        name: 'Q1 Sales Bonus',
        description: 'Quarterly sales incentive program for the sales team',
        status: 'ACTIVE',
        on_unknown_participant: 'CREATE',
        redemption_target_type: 'SYSTEM_REDEMPTION',
        created_at: '2024-01-15T10:30:00.000Z',
        updated_at: '2024-01-15T10:30:00.000Z',
        deleted_at: null,
      },
    ],
  },
);
export type Program = Static<typeof Program>;

const Name = Type.String({ minLength: 1, maxLength: nameLengthMax, description: 'Program name (1-255)' });
const Description = Type.String({ maxLength: descriptionLengthMax, description: 'At most 1000 characters' });

export const CreateProgramBody = Type.Object(
  {
    name: Name,
    description: Type.Optional(Description),
    on_unknown_participant: Type.Optional(OnUnknownParticipant),
    redemption_target_type: Type.Optional(RedemptionTargetType),
    redemption_target_entity_id: Type.Optional(RedemptionTargetEntityId),
  },
  {
    additionalProperties: false,
    examples: [
      {
        name: 'Q1 Sales Bonus',
        description: 'Quarterly sales incentive program for the sales team',
        on_unknown_participant: 'CREATE',
      },
    ],
  },
);
export type CreateProgramBody = Static<typeof CreateProgramBody>;

export const UpdateProgramBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Type.Union([Description, Type.Null()])),
    on_unknown_participant: Type.Optional(OnUnknownParticipant),
    status: Type.Optional(ProgramStatus),
    redemption_target_type: Type.Optional(RedemptionTargetType),
    redemption_target_entity_id: Type.Optional(RedemptionTargetEntityId),
  },
  {
    additionalProperties: false,
    examples: [
      { name: 'Q2 Sales Bonus', description: 'Quarterly sales incentive, second quarter' },
      { status: 'SUSPENDED' },
    ],
  },
);
export type UpdateProgramBody = Static<typeof UpdateProgramBody>;

export const ListProgramsQuery = Type.Object(
  {
    ...ListQueryFields,
    include_archived: Type.Optional(Type.Boolean({ default: false })),
    status: Type.Optional(ProgramStatus),
    search: Type.Optional(Type.String({ maxLength: searchLengthMax, description: 'Partial match on name' })),
    sort_by: Type.Optional(Type.Enum(['created_at', 'name'], { default: 'created_at' })),
    sort_dir: Type.Optional(SortDir),
  },
  { additionalProperties: false },
);
export type ListProgramsQuery = Static<typeof ListProgramsQuery>;
