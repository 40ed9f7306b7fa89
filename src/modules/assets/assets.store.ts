import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import { pageNewestFirst } from '../../platform/db/keyset.js';
import { containsPattern } from '../../platform/db/search.js';

export interface AssetTable {
  organization_id: string;
  id: string;
  name: string;
  symbol: string;
  inventory_mode: 'SIMPLE' | 'LOT';
  issuance_policy: 'UNLIMITED' | 'PREFUNDED';
  scale: number;
  /** Minor units, as NUMERIC text. */
  max_transaction_amount: string | null;
  status: 'ACTIVE' | 'ARCHIVED';
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

interface ProgramAssetTable {
  organization_id: string;
  program_id: string;
  asset_id: string;
  created_at: Date;
  first_entry_at: Date | null;
}

type Tables = { assets: AssetTable; program_assets: ProgramAssetTable };

export type AssetRow = AssetTable;

const tables = (db: Database) => db.withTables<Tables>();

export async function insertAsset(db: Database, row: AssetRow): Promise<void> {
  await tables(db).insertInto('assets').values(row).execute();
}

export async function findAsset(db: Database, organizationId: string, id: string, forUpdate = false) {
  let query = tables(db)
    .selectFrom('assets')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', '=', id);
  if (forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

export async function updateAsset(
  db: Database,
  organizationId: string,
  id: string,
  changes: Partial<
    Pick<AssetRow, 'name' | 'status' | 'max_transaction_amount' | 'updated_at' | 'deleted_at'>
  >,
): Promise<AssetRow> {
  return tables(db)
    .updateTable('assets')
    .set(changes)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export interface AssetFilter {
  programId: string | undefined;
  status: AssetRow['status'] | undefined;
  search: string | undefined;
  after: [unknown, unknown] | undefined;
  limit: number;
}

/** Newest first. */
export async function listAssets(db: Database, organizationId: string, filter: AssetFilter) {
  let query = tables(db).selectFrom('assets').selectAll().where('organization_id', '=', organizationId);
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  if (filter.search) {
    const pattern = containsPattern(filter.search);
    query = query.where((eb) => eb.or([eb('name', 'ilike', pattern), eb('symbol', 'ilike', pattern)]));
  }
  const programId = filter.programId;
  if (programId !== undefined) {
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom('program_assets')
          .select('program_assets.asset_id')
          .whereRef('program_assets.organization_id', '=', 'assets.organization_id')
          .whereRef('program_assets.asset_id', '=', 'assets.id')
          .where('program_assets.program_id', '=', programId),
      ),
    );
  }
  return pageNewestFirst(query, filter).execute();
}

export async function listProgramIdsOfAssets(
  db: Database,
  organizationId: string,
  assetIds: string[],
): Promise<Map<string, string[]>> {
  const byAsset = new Map<string, string[]>(assetIds.map((id) => [id, []]));
  if (assetIds.length === 0) return byAsset;
  const rows = await tables(db)
    .selectFrom('program_assets')
    .select(['asset_id', 'program_id'])
    .where('organization_id', '=', organizationId)
    .where('asset_id', 'in', assetIds)
    .orderBy('created_at')
    .orderBy('program_id')
    .execute();
  for (const row of rows) byAsset.get(row.asset_id)?.push(row.program_id);
  return byAsset;
}

export async function listAssetScales(db: Database, organizationId: string, assetIds: string[]) {
  if (assetIds.length === 0) return [];
  return tables(db)
    .selectFrom('assets')
    .select(['id', 'scale'])
    .where('organization_id', '=', organizationId)
    .where('id', 'in', assetIds)
    .execute();
}

/** Answers false when the link already existed. */
export async function insertLink(
  db: Database,
  organizationId: string,
  programId: string,
  assetId: string,
  now: Date,
): Promise<boolean> {
  const inserted = await tables(db)
    .insertInto('program_assets')
    .values({ organization_id: organizationId, program_id: programId, asset_id: assetId, created_at: now })
    .onConflict((conflict) => conflict.columns(['organization_id', 'program_id', 'asset_id']).doNothing())
    .returning('asset_id')
    .executeTakeFirst();
  return inserted !== undefined;
}

export async function findLink(
  db: Database,
  organizationId: string,
  programId: string,
  assetId: string,
  forUpdate = false,
) {
  let query = tables(db)
    .selectFrom('program_assets')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('program_id', '=', programId)
    .where('asset_id', '=', assetId);
  if (forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

/**
 * The asset with its link to the program, in one statement: `linked` is false when there is no
 * link; undefined when the organization has no such asset.
 */
export async function findAssetWithLink(
  db: Database,
  organizationId: string,
  programId: string,
  assetId: string,
): Promise<(AssetRow & { linked: boolean; link_first_entry_at: Date | null }) | undefined> {
  return tables(db)
    .selectFrom('assets as a')
    .leftJoin('program_assets as l', (join) =>
      join
        .onRef('l.organization_id', '=', 'a.organization_id')
        .onRef('l.asset_id', '=', 'a.id')
        .on('l.program_id', '=', programId),
    )
    .selectAll('a')
    .select([sql<boolean>`l.asset_id is not null`.as('linked'), 'l.first_entry_at as link_first_entry_at'])
    .where('a.organization_id', '=', organizationId)
    .where('a.id', '=', assetId)
    .executeTakeFirst();
}

export async function deleteLink(db: Database, organizationId: string, programId: string, assetId: string) {
  await tables(db)
    .deleteFrom('program_assets')
    .where('organization_id', '=', organizationId)
    .where('program_id', '=', programId)
    .where('asset_id', '=', assetId)
    .execute();
}

/**
 * Makes the link permanent with the first journal entry, without waiting on another transaction that
 * is doing the same: the row is marked only when its lock is free; otherwise this transaction holds
 * a key-share lock (deleting the link waits for it) and records its use, which outlives a rollback
 * of the marking transaction. Once first_entry_at is set, writers never come here.
 */
export async function markLinkUsed(
  db: Database,
  organizationId: string,
  programId: string,
  assetId: string,
  now: Date,
) {
  const link = sql`organization_id = ${organizationId} and program_id = ${programId} and asset_id = ${assetId}`;
  const marked = await sql`update program_assets set first_entry_at = ${now}
    where ctid = (select ctid from program_assets where ${link} and first_entry_at is null
      for no key update skip locked)`.execute(db);
  if (marked.numAffectedRows !== 0n) return;
  const held = await sql<{
    first_entry_at: Date | null;
  }>`select first_entry_at from program_assets where ${link} for key share`.execute(db);
  // Deleted meanwhile (the caller's read saw it), or marked by a transaction that committed.
  if (held.rows.length === 0 || held.rows[0]?.first_entry_at !== null) return;
  await sql`insert into program_asset_uses (organization_id, program_id, asset_id, used_at)
    values (${organizationId}, ${programId}, ${assetId}, ${now})`.execute(db);
}

/** Whether a use of the link was recorded by a writer that did not wait to mark it (markLinkUsed). */
export async function hasRecordedUse(
  db: Database,
  organizationId: string,
  programId: string,
  assetId: string,
) {
  const result = await sql`select 1 from program_asset_uses
    where organization_id = ${organizationId} and program_id = ${programId} and asset_id = ${assetId}
    limit 1`.execute(db);
  return result.rows.length > 0;
}

/** Linked assets of a program, newest link first, paged by (link created_at, asset id). */
export async function listProgramAssets(
  db: Database,
  organizationId: string,
  programId: string,
  after: [unknown, unknown] | undefined,
  limit: number,
) {
  let query = tables(db)
    .selectFrom('program_assets as l')
    .innerJoin('assets as a', (join) =>
      join.onRef('a.organization_id', '=', 'l.organization_id').onRef('a.id', '=', 'l.asset_id'),
    )
    .selectAll('a')
    .select('l.created_at as linked_at')
    .where('l.organization_id', '=', organizationId)
    .where('l.program_id', '=', programId);
  if (after) query = query.where(sql<boolean>`(l.created_at, l.asset_id) < (${after[0]}, ${after[1]}::uuid)`);
  return query
    .orderBy('l.created_at', 'desc')
    .orderBy('l.asset_id', 'desc')
    .limit(limit + 1)
    .execute();
}

/**
 * Programs sit on this module's layer, so it may not import them: a plain existence check on the
 * programs table (any status) stands in for the programs module's lookup.
 */
export async function programExists(db: Database, organizationId: string, programId: string) {
  const result = await sql<{ found: number }>`select 1 as found from programs
    where organization_id = ${organizationId} and id = ${programId}`.execute(db);
  return result.rows.length > 0;
}
