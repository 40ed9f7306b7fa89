// SQL of the rewards catalog.
import type { Database } from '../../platform/db/database.js';
import { pageInSortOrder, type SortDirection } from '../../platform/db/keyset.js';
import { containsPattern } from '../../platform/db/search.js';

export type RewardStatus = 'DRAFT' | 'ACTIVE' | 'OUT_OF_STOCK' | 'ARCHIVED';

export interface RewardRow {
  organization_id: string;
  id: string;
  program_id: string;
  asset_id: string;
  name: string;
  description: string | null;
  category: string | null;
  redemption_type: 'UNIT_BASED' | 'AMOUNT_BASED';
  /** Minor units at the asset's scale (NUMERIC, read as a string). */
  unit_cost: string;
  max_total: number | null;
  max_per_participant: number | null;
  redeemed_count: number;
  available_from: Date | null;
  available_until: Date | null;
  status: RewardStatus;
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

type Tables = { rewards: RewardRow };
const tables = (db: Database) => db.withTables<Tables>();

export type RewardChanges = Partial<Omit<RewardRow, 'organization_id' | 'id' | 'program_id' | 'created_at'>>;

export async function insertReward(db: Database, row: RewardRow): Promise<void> {
  await tables(db)
    .insertInto('rewards')
    .values({ ...row, metadata: JSON.stringify(row.metadata) as never })
    .execute();
}

/** The reward of a program; `forUpdate` locks it, which serializes redemptions of one reward. */
export async function findReward(
  db: Database,
  organizationId: string,
  programId: string | undefined,
  id: string,
  forUpdate = false,
) {
  let query = tables(db)
    .selectFrom('rewards')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', '=', id);
  if (programId !== undefined) query = query.where('program_id', '=', programId);
  if (forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

export async function updateReward(
  db: Database,
  organizationId: string,
  id: string,
  changes: RewardChanges,
): Promise<RewardRow> {
  const { metadata, ...rest } = changes;
  return tables(db)
    .updateTable('rewards')
    .set({ ...rest, ...(metadata === undefined ? {} : { metadata: JSON.stringify(metadata) as never }) })
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export interface RewardFilter {
  statuses: RewardStatus[] | undefined;
  search: string | undefined;
  sortBy: 'created_at' | 'name';
  sortDir: SortDirection;
  after: [unknown, unknown] | undefined;
  limit: number;
}

export async function listRewards(db: Database, organizationId: string, programId: string, f: RewardFilter) {
  let query = tables(db)
    .selectFrom('rewards')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('program_id', '=', programId);
  if (f.statuses) query = query.where('status', 'in', f.statuses);
  if (f.search) query = query.where('name', 'ilike', containsPattern(f.search));
  return pageInSortOrder(query, f).execute();
}
