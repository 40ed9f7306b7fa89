// SQL of lots: one per credit of a LOT asset, consumed FIFO by expiry then age.
import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import type { Owner } from './accounts.js';

export type LotStatus = 'DEFERRED' | 'AVAILABLE' | 'HELD' | 'CONSUMED' | 'EXPIRED';

export interface LotRow {
  organization_id: string;
  id: string;
  owner_type: 'PARTICIPANT' | 'GROUP';
  owner_id: string;
  asset_id: string;
  program_id: string | null;
  journal_entry_id: string;
  parent_lot_id: string | null;
  amount: string;
  remaining: string;
  status: LotStatus;
  provisional: boolean;
  reference_id: string | null;
  expires_at: Date | null;
  matures_at: Date | null;
  created_at: Date;
}

type Tables = { lots: LotRow };
const tables = (db: Database) => db.withTables<Tables>();

/** One statement however many lots: each column goes as one array parameter. */
export async function insertLots(db: Database, rows: LotRow[]): Promise<void> {
  if (rows.length === 0) return;
  const column = <T>(value: (row: LotRow) => T) => rows.map(value);
  await sql`insert into lots (organization_id, id, owner_type, owner_id, asset_id, program_id, journal_entry_id,
      parent_lot_id, amount, remaining, status, provisional, reference_id, expires_at, matures_at, created_at)
    select * from unnest(${column((r) => r.organization_id)}::uuid[], ${column((r) => r.id)}::uuid[],
      ${column((r) => r.owner_type)}::text[], ${column((r) => r.owner_id)}::uuid[], ${column((r) => r.asset_id)}::uuid[],
      ${column((r) => r.program_id)}::uuid[], ${column((r) => r.journal_entry_id)}::uuid[],
      ${column((r) => r.parent_lot_id)}::uuid[], ${column((r) => r.amount)}::numeric[],
      ${column((r) => r.remaining)}::numeric[], ${column((r) => r.status)}::text[],
      ${column((r) => r.provisional)}::boolean[], ${column((r) => r.reference_id)}::text[],
      ${column((r) => r.expires_at)}::timestamptz[], ${column((r) => r.matures_at)}::timestamptz[],
      ${column((r) => r.created_at)}::timestamptz[])`.execute(db);
}

export interface LotSelection {
  status: LotStatus;
  referenceId?: string | undefined;
  lotIds?: string[] | undefined;
  earnedFrom?: Date | undefined;
  earnedTo?: Date | undefined;
  provisionalOnly?: boolean;
  /** Only lots whose expiry or maturity is due at this time (background jobs). */
  dueAt?: Date | undefined;
  limit: number;
}

/** Lots with value left, FIFO (soonest expiry first, never-expiring last, then oldest), locked. */
export async function lockLots(
  db: Database,
  organizationId: string,
  owner: Owner,
  assetId: string,
  s: LotSelection,
) {
  let query = tables(db)
    .selectFrom('lots')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('owner_id', '=', owner.id)
    .where('asset_id', '=', assetId)
    .where('status', '=', s.status)
    .where('remaining', '>', '0');
  if (s.referenceId !== undefined) query = query.where('reference_id', '=', s.referenceId);
  if (s.lotIds !== undefined) query = query.where('id', 'in', s.lotIds);
  if (s.earnedFrom !== undefined) query = query.where('created_at', '>=', s.earnedFrom);
  if (s.earnedTo !== undefined) query = query.where('created_at', '<=', s.earnedTo);
  if (s.provisionalOnly) query = query.where('provisional', '=', true);
  return query
    .orderBy(sql`expires_at asc nulls last`)
    .orderBy('created_at')
    .orderBy('id')
    .limit(s.limit)
    .forUpdate()
    .execute();
}

/** Lots by id, locked in id order (a reversal restoring the lots a redemption consumed). */
export async function lockLotsById(db: Database, organizationId: string, ids: string[]) {
  if (ids.length === 0) return [];
  return tables(db)
    .selectFrom('lots')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', 'in', ids)
    .orderBy('id')
    .forUpdate()
    .execute();
}

export async function lockDueLots(
  db: Database,
  organizationId: string,
  owner: Owner,
  assetId: string,
  kind: 'expiry' | 'maturity',
  now: Date,
  limit: number,
) {
  let query = tables(db)
    .selectFrom('lots')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('owner_id', '=', owner.id)
    .where('asset_id', '=', assetId)
    .where('remaining', '>', '0');
  query =
    kind === 'expiry'
      ? query.where('status', 'in', ['AVAILABLE', 'DEFERRED']).where('expires_at', '<=', now)
      : query.where('status', '=', 'DEFERRED').where('matures_at', '<=', now);
  return query.orderBy('created_at').orderBy('id').limit(limit).forUpdate().execute();
}

export async function updateLot(
  db: Database,
  organizationId: string,
  id: string,
  changes: Partial<Pick<LotRow, 'remaining' | 'status' | 'reference_id' | 'provisional'>>,
): Promise<void> {
  await tables(db)
    .updateTable('lots')
    .set(changes)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .execute();
}

/** Which of these participant holders have lots due (expired or matured) at `now`, in key order. */
export async function findHoldersWithDueLots(
  db: Database,
  holders: { organizationId: string; ownerId: string; assetId: string }[],
  now: Date,
): Promise<Omit<DueHolder, 'owner_type'>[]> {
  const result = await sql<
    Omit<DueHolder, 'owner_type'>
  >`select distinct l.organization_id, l.owner_id, l.asset_id
    from lots l join unnest(${holders.map((h) => h.organizationId)}::uuid[], ${holders.map((h) => h.ownerId)}::uuid[],
      ${holders.map((h) => h.assetId)}::uuid[]) as h(organization_id, owner_id, asset_id)
      on l.organization_id = h.organization_id and l.owner_id = h.owner_id and l.asset_id = h.asset_id
    where l.owner_type = 'PARTICIPANT' and l.remaining > 0
      and ((l.status in ('AVAILABLE', 'DEFERRED') and l.expires_at <= ${now})
        or (l.status = 'DEFERRED' and l.matures_at <= ${now}))
    order by l.organization_id, l.owner_id, l.asset_id`.execute(db);
  return result.rows;
}

export interface DueHolder {
  organization_id: string;
  owner_type: 'PARTICIPANT' | 'GROUP';
  owner_id: string;
  asset_id: string;
}

/** Holders with lots due, across organizations (the jobs serve every tenant). */
export async function findDueHolders(db: Database, kind: 'expiry' | 'maturity', now: Date, limit: number) {
  const condition =
    kind === 'expiry'
      ? sql`status in ('AVAILABLE', 'DEFERRED') and expires_at <= ${now}`
      : sql`status = 'DEFERRED' and matures_at <= ${now}`;
  const result = await sql<DueHolder>`select distinct organization_id, owner_type, owner_id, asset_id
    from lots where ${condition} and remaining > 0 limit ${limit}`.execute(db);
  return result.rows;
}

export interface LotFilter {
  assetId: string;
  programId?: string | undefined;
  status?: LotStatus | undefined;
  expiresBefore?: Date | undefined;
  expiresAfter?: Date | undefined;
  referenceId?: string | undefined;
  after?: [unknown, unknown] | undefined;
  limit: number;
}

/** Lots of a holder for the listing, newest first. */
export async function listLots(db: Database, organizationId: string, owner: Owner, f: LotFilter) {
  let query = tables(db)
    .selectFrom('lots')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('owner_id', '=', owner.id)
    .where('asset_id', '=', f.assetId);
  if (f.programId !== undefined) query = query.where('program_id', '=', f.programId);
  if (f.status !== undefined) query = query.where('status', '=', f.status);
  if (f.expiresBefore !== undefined) query = query.where('expires_at', '<', f.expiresBefore);
  if (f.expiresAfter !== undefined) query = query.where('expires_at', '>', f.expiresAfter);
  if (f.referenceId !== undefined) query = query.where('reference_id', '=', f.referenceId);
  if (f.after !== undefined) {
    const [createdAt, id] = f.after;
    query = query.where(sql<boolean>`(created_at, id) < (${createdAt}, ${id}::uuid)`);
  }
  return query
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(f.limit + 1)
    .execute();
}
