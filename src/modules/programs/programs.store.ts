import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import { pageInSortOrder, type SortDirection } from '../../platform/db/keyset.js';
import { containsPattern } from '../../platform/db/search.js';

export type RedemptionTargetType = 'SYSTEM_REDEMPTION' | 'SYSTEM_BREAKAGE' | 'LEDGER_ENTITY';
export type LedgerEntityType = 'PARTICIPANT' | 'GROUP';

export interface ProgramTable {
  organization_id: string;
  id: string;
  name: string;
  description: string | null;
  status: 'ACTIVE' | 'SUSPENDED' | 'ARCHIVED';
  on_unknown_participant: 'CREATE' | 'REJECT';
  redemption_target_type: RedemptionTargetType;
  redemption_target_entity_id: string | null;
  redemption_target_entity_type: LedgerEntityType | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

type Tables = {
  programs: ProgramTable;
};

export type ProgramRow = ProgramTable;

const tables = (db: Database) => db.withTables<Tables>();

export async function insertProgram(db: Database, program: ProgramRow): Promise<void> {
  await tables(db).insertInto('programs').values(program).execute();
}

export async function findProgram(db: Database, organizationId: string, id: string, forUpdate = false) {
  let query = tables(db)
    .selectFrom('programs')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', '=', id);
  if (forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

/**
 * The program's row and its config_version, which every change of its rules, tiers or tier levels
 * renews (migration 0037).
 */
export async function findProgramWithConfigVersion(db: Database, organizationId: string, id: string) {
  return tables(db)
    .selectFrom('programs')
    .selectAll()
    .select(sql<string>`config_version`.as('config_version'))
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function updateProgram(
  db: Database,
  organizationId: string,
  id: string,
  changes: Partial<Omit<ProgramRow, 'organization_id' | 'id' | 'created_at'>>,
): Promise<ProgramRow> {
  return tables(db)
    .updateTable('programs')
    .set(changes)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export interface ProgramFilter {
  statuses: ProgramRow['status'][] | undefined;
  search: string | undefined;
  sortBy: 'created_at' | 'name';
  sortDir: SortDirection;
  after: [unknown, unknown] | undefined;
  limit: number;
}

export async function listPrograms(db: Database, organizationId: string, filter: ProgramFilter) {
  let query = tables(db).selectFrom('programs').selectAll().where('organization_id', '=', organizationId);
  if (filter.statuses) query = query.where('status', 'in', filter.statuses);
  if (filter.search) query = query.where('name', 'ilike', containsPattern(filter.search));
  return pageInSortOrder(query, filter).execute();
}
