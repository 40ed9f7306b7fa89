// Groups and their members: one transaction per command. Every change locks the group's row first,
// so membership changes of one group apply one at a time (the last-ADMIN rule holds under
// concurrency), and an archived group refuses them all.
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction } from '../../platform/db/transaction.js';
import { DomainError, invalidField, notFound } from '../../platform/errors.js';
import type { Caller } from '../../platform/http/auth.js';
import { decodeKeyset, type PageResult, toPage } from '../../platform/http/pagination.js';
import { newId } from '../../platform/ids.js';
import { groupsPerParticipantMax, pageSizeDefault } from '../../platform/limits.js';
import { type BalanceHolder, groupOwner, readTotalBalances } from '../ledger/index.js';
import type {
  AddMembersBody,
  CreateGroupBody,
  Group,
  GroupWithBalances,
  ListGroupsQuery,
  Member,
  MembersQuery,
  UpdateGroupBody,
} from './groups.schemas.js';
import type { GroupRow, MemberRole, MemberRow } from './groups.store.js';
import * as store from './groups.store.js';

function toGroup(row: GroupRow): Group {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    ...(row.deleted_at === null ? {} : { deleted_at: row.deleted_at.toISOString() }),
  };
}

function toMember(row: MemberRow): Member {
  return {
    participant_id: row.participant_id,
    external_id: row.external_id,
    role: row.role,
    status: row.status,
    joined_at: row.joined_at.toISOString(),
    left_at: row.left_at === null ? null : row.left_at.toISOString(),
  };
}

/**
 * The group, locked when asked; another organization's is not found. With a lock the group must be
 * ACTIVE: an archived group takes no change, balance operation or transfer.
 */
export async function requireGroup(
  db: Database,
  organizationId: string,
  id: string,
  lock?: 'update' | 'share',
): Promise<GroupRow> {
  const row = await store.findGroup(db, organizationId, id, lock);
  if (row === undefined) throw notFound('group');
  if (lock !== undefined && row.status === 'ARCHIVED') {
    throw new DomainError('group_archived', `group ${id} is archived; it takes no changes`);
  }
  return row;
}

/**
 * A group's status, its row locked for the transaction, or undefined when there is none. Transfers
 * share the lock; rules, which go on to write the group's state (a row lock too), take it whole at
 * once, since two transactions upgrading a shared lock would deadlock.
 */
export async function lockGroupStatus(
  db: Database,
  organizationId: string,
  id: string,
  mode: 'share' | 'update' = 'share',
) {
  return (await store.findGroup(db, organizationId, id, mode))?.status;
}

/** The group as a balance holder: it must exist and be ACTIVE, whatever the operation. */
export function groupHolder(id: string): BalanceHolder {
  return {
    owner: groupOwner(id),
    requireAllowedTo: async (trx, organizationId) => {
      await requireGroup(trx, organizationId, id, 'share');
    },
  };
}

interface MemberInput {
  participant_id: string;
  role?: MemberRole | undefined;
}

/** Members named twice, or participants of no one (another organization's): refused, naming them. */
async function checkMembers(db: Database, organizationId: string, members: MemberInput[], field: string) {
  const seen = new Set<string>();
  for (const [index, member] of members.entries()) {
    if (seen.has(member.participant_id)) {
      throw invalidField(
        `${field}[${index}].participant_id`,
        'names a participant already listed',
        'duplicate',
      );
    }
    seen.add(member.participant_id);
  }
  const known = await store.findParticipantIds(db, organizationId, [...seen]);
  const missing = members.findIndex((member) => !known.has(member.participant_id));
  if (missing >= 0) {
    const id = members[missing]?.participant_id;
    throw new DomainError('not_found', `participant ${id} not found`, {
      field: members.length === 1 && field === '' ? 'participant_id' : `${field}[${missing}].participant_id`,
    });
  }
}

async function checkOnBehalfOf(db: Database, organizationId: string, id: string | undefined) {
  if (id === undefined) return;
  const known = await store.findParticipantIds(db, organizationId, [id]);
  if (!known.has(id)) {
    throw new DomainError('not_found', `participant ${id} not found`, {
      field: 'on_behalf_of_participant_id',
    });
  }
}

function memberRows(
  organizationId: string,
  groupId: string,
  members: MemberInput[],
  onBehalfOf: string | undefined,
  now: Date,
): store.MemberTable[] {
  return members.map((member) => ({
    organization_id: organizationId,
    group_id: groupId,
    participant_id: member.participant_id,
    role: member.role ?? 'MEMBER',
    status: 'ACTIVE',
    added_on_behalf_of_participant_id: onBehalfOf ?? null,
    joined_at: now,
    left_at: null,
  }));
}

export async function createGroup(db: Database, clock: Clock, caller: Caller, body: CreateGroupBody) {
  if (!body.members.some((member) => member.role === 'ADMIN')) {
    throw invalidField('members', 'at least one member must have role ADMIN', 'admin_required');
  }
  return withTransaction(db, async (trx) => {
    const now = clock();
    await checkMembers(trx, caller.organizationId, body.members, 'members');
    await checkOnBehalfOf(trx, caller.organizationId, body.on_behalf_of_participant_id);
    const row: GroupRow = {
      organization_id: caller.organizationId,
      id: newId(),
      name: body.name,
      status: 'ACTIVE',
      created_on_behalf_of_participant_id: body.on_behalf_of_participant_id ?? null,
      created_at: now,
      updated_at: now,
      deleted_at: null,
    };
    await store.insertGroup(trx, row);
    const rows = memberRows(
      caller.organizationId,
      row.id,
      body.members,
      body.on_behalf_of_participant_id,
      now,
    );
    await store.upsertMembers(trx, rows);
    return toGroup(row);
  });
}

export async function listGroups(
  db: Database,
  organizationId: string,
  query: ListGroupsQuery,
): Promise<PageResult<Group>> {
  const limit = query.limit ?? pageSizeDefault;
  const scope = 'groups:created_at:desc';
  const rows = await store.listGroups(db, organizationId, {
    includeArchived: query.include_archived === true,
    after: decodeKeyset(query.cursor, scope),
    limit,
  });
  return toPage(rows, limit, scope, (row) => [row.created_at, row.id], toGroup);
}

export async function getGroup(db: Database, organizationId: string, id: string): Promise<GroupWithBalances> {
  const row = await requireGroup(db, organizationId, id);
  const balances = await readTotalBalances(db, organizationId, groupOwner(id));
  return { ...toGroup(row), balances };
}

export async function renameGroup(
  db: Database,
  clock: Clock,
  organizationId: string,
  id: string,
  body: UpdateGroupBody,
) {
  return withTransaction(db, async (trx) => {
    await requireGroup(trx, organizationId, id, 'update');
    return toGroup(
      await store.updateGroup(trx, organizationId, id, { name: body.name, updated_at: clock() }),
    );
  });
}

/** DELETE: archives the group for good; its balances, members and state stay readable. */
export async function archiveGroup(db: Database, clock: Clock, organizationId: string, id: string) {
  return withTransaction(db, async (trx) => {
    await requireGroup(trx, organizationId, id, 'update');
    const now = clock();
    const row = await store.updateGroup(trx, organizationId, id, {
      status: 'ARCHIVED',
      deleted_at: now,
      updated_at: now,
    });
    return toGroup(row);
  });
}

/** The one-member form or the batch form, never both. */
function membersOf(body: AddMembersBody): { members: MemberInput[]; field: string } {
  if (body.members !== undefined) {
    if (body.participant_id !== undefined || body.role !== undefined) {
      throw invalidField(
        'members',
        'give either participant_id (and role) or members, not both',
        'exclusive',
      );
    }
    return { members: body.members, field: 'members' };
  }
  if (body.participant_id === undefined) {
    throw invalidField('participant_id', 'is required (or give members)', 'required');
  }
  return { members: [{ participant_id: body.participant_id, role: body.role }], field: '' };
}

export async function addMembers(
  db: Database,
  clock: Clock,
  caller: Caller,
  groupId: string,
  body: AddMembersBody,
) {
  const { organizationId } = caller;
  const { members, field } = membersOf(body);
  return withTransaction(db, async (trx) => {
    await requireGroup(trx, organizationId, groupId, 'update');
    await checkMembers(trx, organizationId, members, field);
    await checkOnBehalfOf(trx, organizationId, body.on_behalf_of_participant_id);
    const ids = members.map((member) => member.participant_id);
    const active = await store.listMembers(trx, organizationId, groupId, {
      includeFormer: false,
      participantIds: ids,
      limit: ids.length,
    });
    const already = active[0];
    if (already !== undefined) {
      const index = ids.indexOf(already.participant_id);
      throw new DomainError('conflict', `participant ${already.participant_id} is already an active member`, {
        field: field === '' ? 'participant_id' : `${field}[${index}].participant_id`,
        reason: 'already_member',
      });
    }
    const now = clock();
    await store.upsertMembers(
      trx,
      memberRows(organizationId, groupId, members, body.on_behalf_of_participant_id, now),
    );
    const added = await store.listMembers(trx, organizationId, groupId, {
      includeFormer: false,
      participantIds: ids,
      limit: ids.length,
    });
    return { message: 'Member(s) added to group', members: added.map(toMember) };
  });
}

export async function listMembers(
  db: Database,
  organizationId: string,
  groupId: string,
  query: MembersQuery,
): Promise<PageResult<Member>> {
  await requireGroup(db, organizationId, groupId);
  const limit = query.limit ?? pageSizeDefault;
  const includeFormer = query.include_former === true;
  const scope = `group-members:${groupId}:${includeFormer}`;
  const rows = await store.listMembers(db, organizationId, groupId, {
    includeFormer,
    after: decodeKeyset(query.cursor, scope),
    limit,
  });
  return toPage(rows, limit, scope, (row) => [row.joined_at, row.participant_id], toMember);
}

/** The member LEFT; the group's balance is untouched. The last ACTIVE ADMIN cannot leave. */
export async function removeMember(
  db: Database,
  clock: Clock,
  organizationId: string,
  groupId: string,
  participantId: string,
): Promise<Member> {
  return withTransaction(db, async (trx) => {
    await requireGroup(trx, organizationId, groupId, 'update');
    const [member] = await store.listMembers(trx, organizationId, groupId, {
      includeFormer: false,
      participantIds: [participantId],
      limit: 1,
    });
    if (member === undefined) throw notFound('active member');
    if (member.role === 'ADMIN' && (await store.countActiveAdmins(trx, organizationId, groupId)) === 1) {
      throw new DomainError('conflict', 'the last ADMIN of a group cannot be removed', {
        field: 'participant_id',
        reason: 'last_admin',
      });
    }
    const now = clock();
    await store.markMemberLeft(trx, organizationId, groupId, participantId, now);
    return toMember({ ...member, status: 'LEFT', left_at: now });
  });
}

/** participant.groups (the ids of ACTIVE memberships) for a claim's participants, by participant id. */
export async function listActiveGroupIdsOf(db: Database, organizationId: string, participantIds: string[]) {
  const byParticipant = new Map<string, string[]>();
  if (participantIds.length === 0) return byParticipant;
  const rows = await store.listActiveMemberships(db, organizationId, participantIds);
  for (const row of rows) {
    const ids = byParticipant.get(row.participant_id) ?? [];
    if (ids.length < groupsPerParticipantMax) ids.push(row.group_id);
    byParticipant.set(row.participant_id, ids);
  }
  return byParticipant;
}
