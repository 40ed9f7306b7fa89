// SQL of the ledger reports. Liability is what holders (participants and groups) hold: the sum of
// their postings. Movements are classified by the journal entry's action_type.
import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';

export interface MovementRow {
  asset_id: string;
  asset_name: string;
  asset_symbol: string;
  scale: number;
  program_id: string | null;
  program_name: string | null;
  action_type: string;
  /** Whether the postings add value to holders (in) or take it from them (out). */
  direction: 'in' | 'out';
  /** Sum of holder postings before `from` (all of them when there is no window). */
  before: string;
  /** Sum of holder postings within [from, to]. */
  within: string;
  holders: string;
}

export interface MovementFilter {
  programId?: string | undefined;
  assetId?: string | undefined;
  /** One group's postings only. */
  groupId?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
}

const groupCondition = (groupId: string | undefined) =>
  groupId === undefined ? sql`` : sql`and p.owner_type = 'GROUP' and p.owner_id = ${groupId}`;

/** Holder postings by asset, program and action type, split at the window. */
export async function sumHolderMovements(db: Database, organizationId: string, f: MovementFilter) {
  const from = f.from ?? new Date('0001-01-01T00:00:00Z');
  const to = f.to ?? new Date(8.64e15);
  const result =
    await sql<MovementRow>`select p.asset_id, s.name as asset_name, s.symbol as asset_symbol, s.scale,
      j.program_id, pr.name as program_name, j.action_type,
      case when p.amount > 0 then 'in' else 'out' end as direction,
      coalesce(sum(p.amount) filter (where p.created_at < ${from}), 0)::text as before,
      coalesce(sum(p.amount) filter (where p.created_at >= ${from} and p.created_at <= ${to}), 0)::text as within,
      count(distinct p.owner_id)::text as holders
    from postings p
    join journal_entries j on j.organization_id = p.organization_id and j.id = p.journal_entry_id
    join assets s on s.organization_id = p.organization_id and s.id = p.asset_id
    left join programs pr on pr.organization_id = j.organization_id and pr.id = j.program_id
    where p.organization_id = ${organizationId} and p.owner_type in ('PARTICIPANT', 'GROUP')
      and p.created_at <= ${to}
      ${f.programId === undefined ? sql`` : sql`and j.program_id = ${f.programId}`}
      ${f.assetId === undefined ? sql`` : sql`and p.asset_id = ${f.assetId}`}
      ${groupCondition(f.groupId)}
    group by p.asset_id, s.name, s.symbol, s.scale, j.program_id, pr.name, j.action_type, direction
    order by p.asset_id, j.program_id nulls last, j.action_type, direction`.execute(db);
  return result.rows;
}

export async function countHolders(db: Database, organizationId: string, f: MovementFilter) {
  const result = await sql<{ asset_id: string; holders: string }>`select p.asset_id,
      count(distinct p.owner_id)::text as holders
    from postings p join journal_entries j on j.organization_id = p.organization_id and j.id = p.journal_entry_id
    where p.organization_id = ${organizationId} and p.owner_type = 'PARTICIPANT'
      ${f.programId === undefined ? sql`` : sql`and j.program_id = ${f.programId}`}
    group by p.asset_id`.execute(db);
  return new Map(result.rows.map((row) => [row.asset_id, Number(row.holders)]));
}

export interface LiabilityRow {
  asset_id: string;
  asset_name: string;
  asset_symbol: string;
  scale: number;
  program_id: string | null;
  program_name: string | null;
  bucket: string | null;
  balance: string;
}

export async function sumLiability(
  db: Database,
  organizationId: string,
  f: { asOf: Date; byBucket: boolean } & Pick<MovementFilter, 'programId' | 'assetId' | 'groupId'>,
) {
  const bucket = f.byBucket ? sql`p.bucket` : sql`null::text`;
  const result =
    await sql<LiabilityRow>`select p.asset_id, s.name as asset_name, s.symbol as asset_symbol, s.scale,
      j.program_id, pr.name as program_name, ${bucket} as bucket, sum(p.amount)::text as balance
    from postings p
    join journal_entries j on j.organization_id = p.organization_id and j.id = p.journal_entry_id
    join assets s on s.organization_id = p.organization_id and s.id = p.asset_id
    left join programs pr on pr.organization_id = j.organization_id and pr.id = j.program_id
    where p.organization_id = ${organizationId} and p.owner_type in ('PARTICIPANT', 'GROUP')
      and p.created_at <= ${f.asOf}
      ${f.programId === undefined ? sql`` : sql`and j.program_id = ${f.programId}`}
      ${f.assetId === undefined ? sql`` : sql`and p.asset_id = ${f.assetId}`}
      ${groupCondition(f.groupId)}
    group by p.asset_id, s.name, s.symbol, s.scale, j.program_id, pr.name, 7
    order by p.asset_id, j.program_id nulls last, 7`.execute(db);
  return result.rows;
}

export interface ExpiryRow {
  bucket_start: Date | null;
  placement: 'never' | 'before' | 'after' | 'within';
  amount: string;
  lot_count: string;
}

/** Outstanding lot value of a LOT asset by when it expires, in calendar buckets (UTC). */
export async function sumExpiringLots(
  db: Database,
  organizationId: string,
  f: {
    assetId: string;
    programId?: string | undefined;
    from: Date;
    to: Date;
    granularity: 'day' | 'week' | 'month';
  },
) {
  const placement = sql`case when expires_at is null then 'never' when expires_at < ${f.from} then 'before'
    when expires_at > ${f.to} then 'after' else 'within' end`;
  const result = await sql<ExpiryRow>`select ${placement} as placement,
      case when expires_at between ${f.from} and ${f.to}
        then date_trunc(${f.granularity}, expires_at, 'UTC') end as bucket_start,
      sum(remaining)::text as amount, count(*)::text as lot_count
    from lots
    where organization_id = ${organizationId} and asset_id = ${f.assetId} and remaining > 0
      and status in ('AVAILABLE', 'HELD', 'DEFERRED')
      ${f.programId === undefined ? sql`` : sql`and program_id = ${f.programId}`}
    group by 1, 2 order by 2 nulls first`.execute(db);
  return result.rows;
}

export async function listLotAssetIds(db: Database, organizationId: string): Promise<string[]> {
  const result = await sql<{ id: string }>`select id from assets
    where organization_id = ${organizationId} and inventory_mode = 'LOT' order by id`.execute(db);
  return result.rows.map((row) => row.id);
}
