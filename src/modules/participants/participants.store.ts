import { type Generated, sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import { pageInSortOrder, type SortDirection } from '../../platform/db/keyset.js';
import { containsPattern } from '../../platform/db/search.js';
import { queueChangedParticipants } from './state-changes.store.js';

export type ParticipantStatus = 'ACTIVE' | 'SUSPENDED' | 'CLOSED';

export interface ParticipantTable {
  organization_id: string;
  id: string;
  external_id: string;
  status: ParticipantStatus;
  email: string | null;
  phone: string | null;
  first_name: string | null;
  last_name: string | null;
  display_name: string | null;
  attributes: Record<string, string>;
  tags: string[];
  created_at: Date;
  updated_at: Date;
}

interface EnrollmentTable {
  organization_id: string;
  program_id: string;
  participant_id: string;
  status: Generated<string>;
  created_at: Date;
}

type Tables = {
  participants: ParticipantTable;
  enrollments: EnrollmentTable;
};

export type ParticipantRow = ParticipantTable;
export type ParticipantChanges = Partial<Omit<ParticipantRow, 'organization_id' | 'id' | 'created_at'>>;

const tables = (db: Database) => db.withTables<Tables>();

/** A participant to insert, and the program it joins (enrolled when the insert is given a time). */
export interface ParticipantInsert {
  row: ParticipantRow;
  programId: string | null;
}

/**
 * Inserts the participants whose external_id is not taken, in external_id order (so that
 * transactions inserting overlapping sets wait on each other in one order); answers the rows it
 * inserted. With `enrolledAt`, each inserted participant with a programId is enrolled in it (as
 * enroll does) by the same statement.
 */
export async function insertParticipantsIfAbsent(
  db: Database,
  inserts: ParticipantInsert[],
  enrolledAt?: Date,
): Promise<ParticipantRow[]> {
  if (inserts.length === 0) return [];
  const given = inserts.map(({ row, programId }) => ({ ...row, program_id: programId }));
  const insert = sql<ParticipantRow>`insert into participants (organization_id, id, external_id, status, email,
      phone, first_name, last_name, display_name, attributes, tags, created_at, updated_at)
    select organization_id, id, external_id, status, email, phone, first_name, last_name, display_name,
      attributes, tags, created_at, updated_at
    from given order by organization_id, external_id
    on conflict (organization_id, external_id) do nothing
    returning *`;
  const enrolled =
    enrolledAt === undefined
      ? sql`select organization_id, id as participant_id from inserted where false`
      : sql`insert into enrollments (organization_id, participant_id, program_id, created_at)
          select i.organization_id, i.id, g.program_id, ${enrolledAt} from inserted i
          join given g on g.organization_id = i.organization_id and g.id = i.id
          where g.program_id is not null
          returning organization_id, participant_id`;
  const result = await sql<ParticipantRow>`with given as (
      select * from jsonb_to_recordset(${JSON.stringify(given)}::jsonb) as g (organization_id uuid, id uuid,
        external_id text, status text, email text, phone text, first_name text, last_name text,
        display_name text, attributes jsonb, tags text[], created_at timestamptz, updated_at timestamptz,
        program_id uuid)),
    inserted as (${insert}),
    enrolled as (${enrolled}),
    queued as (${queueChangedParticipants(sql`select organization_id, participant_id from enrolled`)})
    select * from inserted`.execute(db);
  return result.rows;
}

/** Locks the participants with these ids or external_ids, in external_id order. */
export async function lockParticipants(
  db: Database,
  organizationId: string,
  ids: string[],
  externalIds: string[],
): Promise<ParticipantRow[]> {
  if (ids.length === 0 && externalIds.length === 0) return [];
  return tables(db)
    .selectFrom('participants')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where((eb) =>
      eb.or([
        ...(ids.length > 0 ? [eb('id', 'in', ids)] : []),
        ...(externalIds.length > 0 ? [eb('external_id', 'in', externalIds)] : []),
      ]),
    )
    .orderBy('external_id')
    .forUpdate()
    .execute();
}

export async function findParticipant(db: Database, organizationId: string, id: string) {
  return tables(db)
    .selectFrom('participants')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function findParticipantByExternalIdForUpdate(
  db: Database,
  organizationId: string,
  externalId: string,
) {
  return tables(db)
    .selectFrom('participants')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('external_id', '=', externalId)
    .forUpdate()
    .executeTakeFirst();
}

/** Applies profile changes; tags and attributes change through the state functions instead. */
export async function updateParticipant(
  db: Database,
  organizationId: string,
  id: string,
  changes: ParticipantChanges,
): Promise<ParticipantRow | undefined> {
  const { attributes: _ignored, ...plain } = changes;
  return tables(db)
    .updateTable('participants')
    .set(plain)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export async function enroll(
  db: Database,
  organizationId: string,
  participantId: string,
  programId: string,
  now: Date,
): Promise<void> {
  // A new enrollment may subscribe the participant to the program's participant_state automations.
  await sql`with enrolled as (
      insert into enrollments (organization_id, participant_id, program_id, created_at)
      values (${organizationId}, ${participantId}, ${programId}, ${now})
      on conflict (organization_id, participant_id, program_id) do nothing
      returning organization_id, participant_id)
    ${queueChangedParticipants(sql`select organization_id, participant_id from enrolled`)}`.execute(db);
}

/** Which of these participants are enrolled in the program. */
export async function listEnrolled(
  db: Database,
  organizationId: string,
  programId: string,
  participantIds: string[],
): Promise<string[]> {
  if (participantIds.length === 0) return [];
  const rows = await tables(db)
    .selectFrom('enrollments')
    .select('participant_id')
    .where('organization_id', '=', organizationId)
    .where('program_id', '=', programId)
    .where('participant_id', 'in', participantIds)
    .execute();
  return rows.map((row) => row.participant_id);
}

export async function findParticipantByExternalId(db: Database, organizationId: string, externalId: string) {
  return tables(db)
    .selectFrom('participants')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('external_id', '=', externalId)
    .executeTakeFirst();
}

export async function listProgramIds(
  db: Database,
  organizationId: string,
  participantId: string,
): Promise<string[]> {
  const rows = await tables(db)
    .selectFrom('enrollments')
    .select('program_id')
    .where('organization_id', '=', organizationId)
    .where('participant_id', '=', participantId)
    .orderBy('created_at')
    .orderBy('program_id')
    .execute();
  return rows.map((row) => row.program_id);
}

export interface ParticipantFilter {
  externalId: string | undefined;
  search: string | undefined;
  status: ParticipantStatus | undefined;
  programId: string | undefined;
  from: Date | undefined;
  to: Date | undefined;
  sortBy: 'created_at' | 'external_id' | 'status';
  sortDir: SortDirection;
  after: [unknown, unknown] | undefined;
  limit: number;
}

export async function listParticipants(db: Database, organizationId: string, filter: ParticipantFilter) {
  let query = tables(db).selectFrom('participants').selectAll().where('organization_id', '=', organizationId);
  if (filter.externalId !== undefined) query = query.where('external_id', '=', filter.externalId);
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  if (filter.from !== undefined) query = query.where('created_at', '>=', filter.from);
  if (filter.to !== undefined) query = query.where('created_at', '<=', filter.to);
  if (filter.search) {
    const pattern = containsPattern(filter.search);
    query = query.where((eb) =>
      eb.or(
        (['external_id', 'email', 'phone', 'first_name', 'last_name', 'display_name'] as const).map(
          (column) => eb(column, 'ilike', pattern),
        ),
      ),
    );
  }
  const programId = filter.programId;
  if (programId !== undefined) {
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom('enrollments')
          .select('enrollments.program_id')
          .whereRef('enrollments.organization_id', '=', 'participants.organization_id')
          .whereRef('enrollments.participant_id', '=', 'participants.id')
          .where('enrollments.program_id', '=', programId),
      ),
    );
  }
  return pageInSortOrder(query, filter).execute();
}
