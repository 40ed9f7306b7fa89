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
  const result = await sql<{
    organization_id: string;
  }>`select distinct organization_id from journal_unsealed`.execute(db);
  return result.rows.map((row) => row.organization_id);
}

export async function listOrganizationIds(db: Database): Promise<string[]> {
  const result = await sql<{ id: string }>`select id from organizations order by id`.execute(db);
  return result.rows.map((row) => row.id);
}

type EntryRow = Omit<SealableEntry, 'postings'>;

export interface UnsealedBatch {
  /** The queue rows the batch empties. */
  queueIds: string[];
  entries: SealableEntry[];
}

/**
 * The oldest queued entries, whole queue rows at a time, from the first row up to the one that
 * reaches `limit` entries; entries of a row in creation order.
 */
export async function listUnsealedEntries(db: Database, organizationId: string, limit: number) {
  const queue = await sql<{
    id: string;
    journal_entry_ids: string[];
  }>`select id::text as id, journal_entry_ids
    from (select id, journal_entry_ids, sum(cardinality(journal_entry_ids)) over (order by id) as reached
          from journal_unsealed where organization_id = ${organizationId}) q
    where reached - cardinality(journal_entry_ids) < ${limit} order by id`.execute(db);
  const ids = queue.rows.flatMap((row) => row.journal_entry_ids);
  const result = await sql<EntryRow>`select j.* from unnest(${ids}::uuid[]) with ordinality as q(id, position)
    join journal_entries j on j.organization_id = ${organizationId} and j.id = q.id
    order by q.position`.execute(db);
  const batch: UnsealedBatch = {
    queueIds: queue.rows.map((row) => row.id),
    entries: await withPostings(db, organizationId, result.rows),
  };
  return batch;
}

export type SealedEntry = SealableEntry & { sequence_number: string; entry_hash: string };

/** The sealed entries with sequence numbers above `afterSequence` up to `lastSequence`, in chain order. */
export async function listSealedEntries(
  db: Database,
  organizationId: string,
  afterSequence: bigint,
  lastSequence: bigint,
  limit: number,
): Promise<SealedEntry[]> {
  const result = await sql<EntryRow & { sequence_number: string; entry_hash: string }>`select j.*,
      s.sequence_number::text as sequence_number, encode(s.entry_hash, 'hex') as entry_hash
    from journal_seals s join journal_entries j on j.organization_id = s.organization_id and j.id = s.journal_entry_id
    where s.organization_id = ${organizationId} and s.sequence_number > ${afterSequence.toString()}
      and s.sequence_number <= ${lastSequence.toString()}
    order by s.sequence_number limit ${limit}`.execute(db);
  return withPostings(db, organizationId, result.rows);
}

/** The hash sealed at a position of the chain: what the entry after it chains to. */
export async function findSealHash(db: Database, organizationId: string, sequenceNumber: bigint) {
  const result = await sql<{ entry_hash: string }>`select encode(entry_hash, 'hex') as entry_hash
    from journal_seals where organization_id = ${organizationId}
      and sequence_number = ${sequenceNumber.toString()}`.execute(db);
  return result.rows[0]?.entry_hash;
}

async function withPostings<Row extends EntryRow>(db: Database, organizationId: string, entries: Row[]) {
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

/** Writes the seals and empties the queue rows they came from. */
export async function sealEntries(
  db: Database,
  organizationId: string,
  seals: { id: string; sequenceNumber: bigint; entryHash: string }[],
  queueIds: string[],
): Promise<void> {
  await sql`insert into journal_seals (organization_id, journal_entry_id, sequence_number, entry_hash)
    select ${organizationId}, s.id, s.sequence_number, decode(s.entry_hash, 'hex')
    from unnest(${seals.map((s) => s.id)}::uuid[], ${seals.map((s) => s.sequenceNumber.toString())}::bigint[],
                ${seals.map((s) => s.entryHash)}::text[]) as s(id, sequence_number, entry_hash)`.execute(db);
  await sql`delete from journal_unsealed where organization_id = ${organizationId}
    and id = any(${queueIds}::bigint[])`.execute(db);
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

/**
 * Entries with fewer than two postings or postings that do not sum to zero per asset, plus entries
 * that postings name but that do not exist.
 */
export async function countUnbalancedEntries(db: Database, organizationId: string) {
  return count(
    db,
    sql<{ n: string }>`select ((select count(*) from journal_entries j
      where j.organization_id = ${organizationId} and (
        (select count(*) from postings p where p.organization_id = j.organization_id and p.journal_entry_id = j.id) < 2
        or exists (select 1 from postings p where p.organization_id = j.organization_id and p.journal_entry_id = j.id
                   group by p.asset_id having sum(p.amount) <> 0)))
      + (select count(distinct p.journal_entry_id) from postings p
         where p.organization_id = ${organizationId} and not exists (select 1 from journal_entries j
           where j.organization_id = p.organization_id and j.id = p.journal_entry_id)))::text as n`,
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
      left join (select p.account_id, sum(p.amount) as total from postings p
                 where p.organization_id = ${organizationId} and (p.owner_type <> 'SYSTEM' or exists (
                   select 1 from journal_seals s
                   where s.organization_id = p.organization_id and s.journal_entry_id = p.journal_entry_id))
                 group by p.account_id) t on t.account_id = a.id
      where a.organization_id = ${organizationId} and a.balance <> coalesce(t.total, 0)`,
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
    sql<{ n: string }>`select count(*)::text as n from journal_entries j
      where j.organization_id = ${organizationId} and not exists (select 1 from journal_seals s
        where s.organization_id = j.organization_id and s.journal_entry_id = j.id)`,
  );
}

export async function foldSystemPostings(db: Database, organizationId: string, entryIds: string[]) {
  await sql`update ledger_accounts a set balance = a.balance + d.total
    from (select p.account_id, sum(p.amount) as total from postings p
          where p.organization_id = ${organizationId} and p.journal_entry_id = any(${entryIds}::uuid[])
            and p.owner_type = 'SYSTEM' group by p.account_id) d
    where a.organization_id = ${organizationId} and a.id = d.account_id`.execute(db);
}

/**
 * Journal entries in the whole ledger, without counting them: each chain head's sequence number is
 * its organization's sealed entries, and the sealer's queue holds the rest.
 */
export async function countJournalEntries(db: Database): Promise<number> {
  const result = await sql<{ entries: string }>`
    select (coalesce((select sum(sequence_number) from ledger_chain_heads), 0)
      + coalesce((select sum(cardinality(journal_entry_ids)) from journal_unsealed), 0))::text as entries`.execute(
    db,
  );
  return Number(result.rows[0]?.entries ?? 0);
}
