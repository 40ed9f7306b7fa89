// SQL of groups and their members.
import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import { pageNewestFirst } from '../../platform/db/keyset.js';
import type { CursorValue } from '../../platform/http/pagination.js';

export type GroupStatus = 'ACTIVE' | 'ARCHIVED';
export type MemberRole = 'ADMIN' | 'MEMBER';

export interface GroupTable {
  organization_id: string;
  id: string;
  name: string;
  status: GroupStatus;
  created_on_behalf_of_participant_id: string | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

export interface MemberTable {
  organization_id: string;
  group_id: string;
  participant_id: string;
  role: MemberRole;
  status: 'ACTIVE' | 'LEFT';
  added_on_behalf_of_participant_id: string | null;
  joined_at: Date;
  left_at: Date | null;
}

export type GroupRow = GroupTable;
export type MemberRow = MemberTable & { external_id: string };

type Tables = {
  groups: GroupTable;
  group_members: MemberTable;
  participants: { organization_id: string; id: string; external_id: string };
};

const tables = (db: Database) => db.withTables<Tables>();

export async function insertGroup(db: Database, row: GroupRow): Promise<void> {
  await tables(db).insertInto('groups').values(row).execute();
}

/** The group, locked FOR UPDATE (changes) or FOR SHARE (balance operations) when asked. */
export async function findGroup(
  db: Database,
  organizationId: string,
  id: string,
  lock?: 'update' | 'share',
): Promise<GroupRow | undefined> {
  let query = tables(db)
    .selectFrom('groups')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', '=', id);
  if (lock === 'update') query = query.forUpdate();
  if (lock === 'share') query = query.forShare();
  return query.executeTakeFirst();
}

export async function updateGroup(
  db: Database,
  organizationId: string,
  id: string,
  changes: Partial<Pick<GroupRow, 'name' | 'status' | 'updated_at' | 'deleted_at'>>,
): Promise<GroupRow> {
  return tables(db)
    .updateTable('groups')
    .set(changes)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function listGroups(
  db: Database,
  organizationId: string,
  filter: { includeArchived: boolean; after: [CursorValue, CursorValue] | undefined; limit: number },
): Promise<GroupRow[]> {
  let query = tables(db).selectFrom('groups').selectAll().where('organization_id', '=', organizationId);
  if (!filter.includeArchived) query = query.where('status', '=', 'ACTIVE');
  return pageNewestFirst(query, filter).execute();
}

/** Which of these ids are participants of the organization. */
export async function findParticipantIds(db: Database, organizationId: string, ids: string[]) {
  const rows = await tables(db)
    .selectFrom('participants')
    .select('id')
    .where('organization_id', '=', organizationId)
    .where('id', 'in', ids)
    .execute();
  return new Set(rows.map((row) => row.id));
}

/** Insert-or-rejoin: a LEFT member comes back ACTIVE with the new role and join time. */
export async function upsertMembers(db: Database, rows: MemberTable[]): Promise<void> {
  await tables(db)
    .insertInto('group_members')
    .values(rows)
    .onConflict((conflict) =>
      conflict.columns(['organization_id', 'group_id', 'participant_id']).doUpdateSet((excluded) => ({
        role: excluded.ref('excluded.role'),
        status: 'ACTIVE',
        joined_at: excluded.ref('excluded.joined_at'),
        left_at: null,
        added_on_behalf_of_participant_id: excluded.ref('excluded.added_on_behalf_of_participant_id'),
      })),
    )
    .execute();
}

export async function listMembers(
  db: Database,
  organizationId: string,
  groupId: string,
  filter: {
    includeFormer: boolean;
    participantIds?: string[];
    after?: [CursorValue, CursorValue] | undefined;
    limit: number;
  },
): Promise<MemberRow[]> {
  const result = await sql<MemberRow>`select m.*, p.external_id from group_members m
    join participants p on p.organization_id = m.organization_id and p.id = m.participant_id
    where m.organization_id = ${organizationId} and m.group_id = ${groupId}
      ${filter.includeFormer ? sql`` : sql`and m.status = 'ACTIVE'`}
      ${filter.participantIds === undefined ? sql`` : sql`and m.participant_id = any(${filter.participantIds}::uuid[])`}
      ${filter.after === undefined ? sql`` : sql`and (m.joined_at, m.participant_id) > (${filter.after[0]}, ${filter.after[1]}::uuid)`}
    order by m.joined_at, m.participant_id
    limit ${filter.limit + 1}`.execute(db);
  return result.rows;
}

export async function countActiveAdmins(db: Database, organizationId: string, groupId: string) {
  const row = await tables(db)
    .selectFrom('group_members')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('organization_id', '=', organizationId)
    .where('group_id', '=', groupId)
    .where('status', '=', 'ACTIVE')
    .where('role', '=', 'ADMIN')
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function markMemberLeft(
  db: Database,
  organizationId: string,
  groupId: string,
  participantId: string,
  now: Date,
): Promise<void> {
  await tables(db)
    .updateTable('group_members')
    .set({ status: 'LEFT', left_at: now })
    .where('organization_id', '=', organizationId)
    .where('group_id', '=', groupId)
    .where('participant_id', '=', participantId)
    .execute();
}

/** The ACTIVE memberships of these participants, each participant's oldest first. */
export async function listActiveMemberships(db: Database, organizationId: string, participantIds: string[]) {
  return tables(db)
    .selectFrom('group_members')
    .select(['participant_id', 'group_id'])
    .where('organization_id', '=', organizationId)
    .where('participant_id', 'in', participantIds)
    .where('status', '=', 'ACTIVE')
    .orderBy('participant_id')
    .orderBy('joined_at')
    .orderBy('group_id')
    .execute();
}
