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
  {
    additionalProperties: false,
    examples: [
      {
        name: 'Doe household',
        members: [
          { participant_id: '01a24330-2d4b-7000-8b43-0fc57f1fc48c', role: 'ADMIN' },
          { participant_id: '01a24330-4db8-7000-a1a8-2248a57d0e2a', role: 'MEMBER' },
        ],
      },
    ],
  },
);
export type CreateGroupBody = Static<typeof CreateGroupBody>;

export const UpdateGroupBody = Type.Object(
  { name: Name },
  { additionalProperties: false, examples: [{ name: 'Doe family' }] },
);
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

const groupExample = {
  id: '01a24348-55e1-7000-8f3d-6a2c9b4e1d70',
  name: 'Doe household',
  status: 'ACTIVE',
  created_at: '2026-12-01T12:00:00.000Z',
  updated_at: '2026-12-01T12:00:00.000Z',
};

export const Group = Type.Object(groupFields, {
  $id: 'Group',
  description: 'A group',
  examples: [groupExample],
});
export type Group = Static<typeof Group>;

export const GroupWithBalances = Type.Object(
  {
    ...groupFields,
    balances: Type.Record(Type.String(), Type.String(), {
      description: 'Per asset id, the total of every bucket and program ("1500.00")',
    }),
  },
  {
    $id: 'GroupWithBalances',
    description: 'A group with its balance per asset',
    examples: [
      {
        ...groupExample,
        balances: { '01a24330-2fba-7000-8d19-3cece0eb69ca': '1500.00' },
      },
    ],
  },
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
    examples: [
      { participant_id: '01a24330-4db8-7000-a1a8-2248a57d0e2a', role: 'MEMBER' },
      {
        members: [
          { participant_id: '01a24330-4db8-7000-a1a8-2248a57d0e2a' },
          { participant_id: '01a24330-4dd1-7000-9b9a-1cfa6589760b', role: 'ADMIN' },
        ],
      },
    ],
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
  {
    $id: 'GroupMember',
    description: 'A member of a group',
    examples: [
      {
        participant_id: '01a24330-2d4b-7000-8b43-0fc57f1fc48c',
        external_id: 'user_12345',
        role: 'ADMIN',
        status: 'ACTIVE',
        joined_at: '2026-12-01T12:00:00.000Z',
        left_at: null,
      },
    ],
  },
);
export type Member = Static<typeof Member>;

export const AddMembersResponse = Type.Object(
  {
    message: Type.String(),
    members: Type.Array(Type.Ref('GroupMember')),
  },
  {
    description: 'The members added',
    examples: [
      {
        message: 'Member(s) added to group',
        members: [
          {
            participant_id: '01a24330-4db8-7000-a1a8-2248a57d0e2a',
            external_id: 'user_67890',
            role: 'MEMBER',
            status: 'ACTIVE',
            joined_at: '2026-12-02T08:30:00.000Z',
            left_at: null,
          },
        ],
      },
    ],
  },
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
