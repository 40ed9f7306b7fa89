// SQL of the sealer and the integrity checks.
import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import type { SealableEntry } from './journal-entry.js';

export interface ChainHead {
  organization_id: string;
  sequence_number: string;
  entry_hash: string;
  sealed_at: Date | null;
}

/**
 * The organization's chain head, locked. When another sealer holds it: undefined (SKIP LOCKED), or,
 * with `wait`, the head once that sealer has committed.
 */
export async function lockChainHead(db: Database, organizationId: string, genesis: string, wait: boolean) {
  await sql`insert into ledger_chain_heads (organization_id, sequence_number, entry_hash)
    values (${organizationId}, 0, ${genesis}) on conflict do nothing`.execute(db);
  const result =
    await sql<ChainHead>`select organization_id, sequence_number::text as sequence_number, entry_hash,
      sealed_at from ledger_chain_heads where organization_id = ${organizationId}
      for update ${wait ? sql`` : sql`skip locked`}`.execute(db);
  return result.rows[0];
}

export async function findChainHead(db: Database, organizationId: string) {
  const result =
    await sql<ChainHead>`select organization_id, sequence_number::text as sequence_number, entry_hash,
      sealed_at from ledger_chain_heads where organization_id = ${organizationId}`.execute(db);
  return result.rows[0];
}

export async function organizationsWithUnsealedEntries(db: Database): Promise<string[]> {
  const result = await sql<{ organization_id: string }>`select distinct organization_id from journal_entries
    where sequence_number is null`.execute(db);
  return result.rows.map((row) => row.organization_id);
}

export async function listOrganizationIds(db: Database): Promise<string[]> {
  const result = await sql<{ id: string }>`select id from organizations order by id`.execute(db);
  return result.rows.map((row) => row.id);
}

type EntryRow = Omit<SealableEntry, 'postings'> & {
  sequence_number: string | null;
  previous_hash: string | null;
  entry_hash: string | null;
};

export async function listUnsealedEntries(db: Database, organizationId: string, limit: number) {
  const result = await sql<EntryRow>`select * from journal_entries
    where organization_id = ${organizationId} and sequence_number is null
    order by created_at, id limit ${limit}`.execute(db);
  return withPostings(db, organizationId, result.rows);
}

/** The sealed entries with sequence numbers above `afterSequence` up to `lastSequence`, in chain order. */
export async function listSealedEntries(
  db: Database,
  organizationId: string,
  afterSequence: bigint,
  lastSequence: bigint,
  limit: number,
) {
  const result = await sql<EntryRow>`select * from journal_entries
    where organization_id = ${organizationId} and sequence_number > ${afterSequence.toString()}
      and sequence_number <= ${lastSequence.toString()}
    order by sequence_number limit ${limit}`.execute(db);
  return withPostings(db, organizationId, result.rows);
}

async function withPostings(db: Database, organizationId: string, entries: EntryRow[]) {
  if (entries.length === 0) return [];
  const postings = await sql<
    SealableEntry['postings'][number] & { journal_entry_id: string; owner_type: string }
  >`
    select id, journal_entry_id, account_id, asset_id, bucket, amount::text as amount, owner_type from postings
    where organization_id = ${organizationId} and journal_entry_id = any(${entries.map((e) => e.id)}::uuid[])`.execute(
    db,
  );
  const byEntry = new Map<string, (typeof postings.rows)[number][]>();
  for (const posting of postings.rows) {
    const list = byEntry.get(posting.journal_entry_id);
    if (list === undefined) byEntry.set(posting.journal_entry_id, [posting]);
    else list.push(posting);
  }
  return entries.map((entry) => ({ ...entry, postings: byEntry.get(entry.id) ?? [] }));
}

export async function sealEntries(
  db: Database,
  organizationId: string,
  seals: { id: string; sequenceNumber: bigint; previousHash: string; entryHash: string }[],
  now: Date,
): Promise<void> {
  await sql`update journal_entries j set sequence_number = s.sequence_number, previous_hash = s.previous_hash,
      entry_hash = s.entry_hash, sealed_at = ${now}
    from unnest(${seals.map((s) => s.id)}::uuid[], ${seals.map((s) => s.sequenceNumber.toString())}::bigint[],
                ${seals.map((s) => s.previousHash)}::text[], ${seals.map((s) => s.entryHash)}::text[])
      as s(id, sequence_number, previous_hash, entry_hash)
    where j.organization_id = ${organizationId} and j.id = s.id`.execute(db);
}

export async function moveChainHead(
  db: Database,
  organizationId: string,
  sequenceNumber: bigint,
  hash: string,
  now: Date,
) {
  await sql`update ledger_chain_heads set sequence_number = ${sequenceNumber.toString()}, entry_hash = ${hash},
      sealed_at = ${now} where organization_id = ${organizationId}`.execute(db);
}

async function count(db: Database, query: ReturnType<typeof sql<{ n: string }>>): Promise<number> {
  const result = await query.execute(db);
  return Number(result.rows[0]?.n ?? '0');
}

/** Entries with fewer than two postings or postings that do not sum to zero per asset. */
export async function countUnbalancedEntries(db: Database, organizationId: string) {
  return count(
    db,
    sql<{ n: string }>`select count(*)::text as n from journal_entries j
      where j.organization_id = ${organizationId} and (
        (select count(*) from postings p where p.organization_id = j.organization_id and p.journal_entry_id = j.id) < 2
        or exists (select 1 from postings p where p.organization_id = j.organization_id and p.journal_entry_id = j.id
                   group by p.asset_id having sum(p.amount) <> 0))`,
  );
}

/** Assets whose postings do not sum to zero: value created or destroyed outside double entry. */
export async function countUnconservedAssets(db: Database, organizationId: string) {
  return count(
    db,
    sql<{ n: string }>`select count(*)::text as n from (select asset_id from postings
      where organization_id = ${organizationId} group by asset_id having sum(amount) <> 0) x`,
  );
}

/**
 * Accounts whose stored balance differs from their postings (system accounts: from their sealed
 * postings), plus LOT holders whose lot remainders differ from their bucket balances.
 */
export async function countBalanceDifferences(db: Database, organizationId: string) {
  const accounts = await count(
    db,
    sql<{ n: string }>`select count(*)::text as n from ledger_accounts a
      where a.organization_id = ${organizationId} and a.balance <> (
        select coalesce(sum(p.amount), 0) from postings p
        join journal_entries j on j.organization_id = p.organization_id and j.id = p.journal_entry_id
        where p.organization_id = a.organization_id and p.account_id = a.id
          and (a.owner_type <> 'SYSTEM' or j.sequence_number is not null))`,
  );
  const lots = await count(
    db,
    sql<{ n: string }>`select count(*)::text as n from ledger_accounts a
      join assets s on s.organization_id = a.organization_id and s.id = a.asset_id and s.inventory_mode = 'LOT'
      where a.organization_id = ${organizationId} and a.owner_type in ('PARTICIPANT', 'GROUP')
        and (case when a.bucket = 'AVAILABLE' then greatest(a.balance, 0) else a.balance end) <> (
          select coalesce(sum(l.remaining), 0) from lots l
          where l.organization_id = a.organization_id and l.owner_id = a.owner_id and l.asset_id = a.asset_id
            and l.status = a.bucket)`,
  );
  return accounts + lots;
}

export async function countUnsealedEntries(db: Database, organizationId: string) {
  return count(
    db,
    sql<{ n: string }>`select count(*)::text as n from journal_entries
      where organization_id = ${organizationId} and sequence_number is null`,
  );
}

export async function foldSystemPostings(db: Database, organizationId: string, entryIds: string[]) {
  await sql`update ledger_accounts a set balance = a.balance + d.total
    from (select p.account_id, sum(p.amount) as total from postings p
          where p.organization_id = ${organizationId} and p.journal_entry_id = any(${entryIds}::uuid[])
            and p.owner_type = 'SYSTEM' group by p.account_id) d
    where a.organization_id = ${organizationId} and a.id = d.account_id`.execute(db);
}
