import { type Static, Type } from 'typebox';
import { ListQueryFields, NullableTimestamp, SortDir, Timestamp, Uuid } from '../../platform/http/schemas.js';
import { descriptionLengthMax, nameLengthMax, searchLengthMax } from '../../platform/limits.js';

export const ProgramStatus = Type.Enum(['ACTIVE', 'SUSPENDED', 'ARCHIVED']);
export const OnUnknownParticipant = Type.Enum(['CREATE', 'REJECT']);

export const Program = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
    status: ProgramStatus,
    on_unknown_participant: OnUnknownParticipant,
    created_at: Timestamp,
    updated_at: Timestamp,
    deleted_at: NullableTimestamp,
  },
  { $id: 'Program' },
);
export type Program = Static<typeof Program>;

const Name = Type.String({ minLength: 1, maxLength: nameLengthMax, description: 'Program name (1-255)' });
const Description = Type.String({ maxLength: descriptionLengthMax, description: 'At most 1000 characters' });

export const CreateProgramBody = Type.Object(
  {
    name: Name,
    description: Type.Optional(Description),
    on_unknown_participant: Type.Optional(OnUnknownParticipant),
  },
  { additionalProperties: false },
);
export type CreateProgramBody = Static<typeof CreateProgramBody>;

export const UpdateProgramBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Type.Union([Description, Type.Null()])),
    on_unknown_participant: Type.Optional(OnUnknownParticipant),
    status: Type.Optional(ProgramStatus),
  },
  { additionalProperties: false },
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
