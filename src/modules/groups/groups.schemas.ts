import { type Static, Type } from 'typebox';
import { ListQueryFields, NullableTimestamp, Timestamp, Uuid } from '../../platform/http/schemas.js';
import { membersPerRequestMax, nameLengthMax } from '../../platform/limits.js';

const Name = Type.String({ minLength: 1, maxLength: nameLengthMax });
const OnBehalfOf = Type.Optional(
  Type.String({ format: 'uuid', description: 'The participant the caller acts for, recorded for audit' }),
);
const Role = Type.Enum(['ADMIN', 'MEMBER'], { default: 'MEMBER' });

const MemberInput = Type.Object(
  { participant_id: Uuid, role: Type.Optional(Role) },
  { additionalProperties: false },
);
const MemberInputs = Type.Array(MemberInput, { minItems: 1, maxItems: membersPerRequestMax });

export const CreateGroupBody = Type.Object(
  {
    name: Name,
    members: Type.Array(MemberInput, {
      minItems: 1,
      maxItems: membersPerRequestMax,
      description: 'At least one of them ADMIN',
    }),
    on_behalf_of_participant_id: OnBehalfOf,
  },
  { additionalProperties: false },
);
export type CreateGroupBody = Static<typeof CreateGroupBody>;

export const UpdateGroupBody = Type.Object({ name: Name }, { additionalProperties: false });
export type UpdateGroupBody = Static<typeof UpdateGroupBody>;

export const ListGroupsQuery = Type.Object(
  { ...ListQueryFields, include_archived: Type.Optional(Type.Boolean({ default: false })) },
  { additionalProperties: false },
);
export type ListGroupsQuery = Static<typeof ListGroupsQuery>;

const groupFields = {
  id: Uuid,
  name: Type.String(),
  status: Type.Enum(['ACTIVE', 'ARCHIVED']),
  created_at: Timestamp,
  updated_at: Timestamp,
  deleted_at: Type.Optional(Timestamp),
};

export const Group = Type.Object(groupFields, { $id: 'Group', description: 'A group' });
export type Group = Static<typeof Group>;

export const GroupWithBalances = Type.Object(
  {
    ...groupFields,
    balances: Type.Record(Type.String(), Type.String(), {
      description: 'Per asset id, the total of every bucket and program ("1500.00")',
    }),
  },
  { $id: 'GroupWithBalances', description: 'A group with its balance per asset' },
);
export type GroupWithBalances = Static<typeof GroupWithBalances>;

export const AddMembersBody = Type.Object(
  {
    participant_id: Type.Optional(Uuid),
    // No default here: a default would make every batch look like it also named a role.
    role: Type.Optional(Type.Enum(['ADMIN', 'MEMBER'], { description: 'MEMBER when omitted' })),
    members: Type.Optional(MemberInputs),
    on_behalf_of_participant_id: OnBehalfOf,
  },
  {
    additionalProperties: false,
    description:
      'One member (participant_id, role) or several (members, 1-100), not both; role defaults to MEMBER',
  },
);
export type AddMembersBody = Static<typeof AddMembersBody>;

export const Member = Type.Object(
  {
    participant_id: Uuid,
    external_id: Type.String(),
    role: Type.Enum(['ADMIN', 'MEMBER']),
    status: Type.Enum(['ACTIVE', 'LEFT']),
    joined_at: Timestamp,
    left_at: NullableTimestamp,
  },
  { $id: 'GroupMember', description: 'A member of a group' },
);
export type Member = Static<typeof Member>;

export const AddMembersResponse = Type.Object(
  {
    message: Type.String(),
    members: Type.Array(Type.Ref('GroupMember')),
  },
  { description: 'The members added' },
);

export const MembersQuery = Type.Object(
  {
    ...ListQueryFields,
    include_former: Type.Optional(Type.Boolean({ default: false, description: 'Also members who LEFT' })),
  },
  { additionalProperties: false },
);
export type MembersQuery = Static<typeof MembersQuery>;

export const MemberParams = Type.Object({ id: Uuid, participant_id: Uuid }, { additionalProperties: false });
