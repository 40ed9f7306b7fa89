// SQL of the ledger core: accounts, journal entries, postings.
import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import type { Bucket, Owner, OwnerType } from './accounts.js';

export interface AccountRow {
  organization_id: string;
  id: string;
  owner_type: OwnerType;
  owner_id: string;
  asset_id: string;
  bucket: Bucket;
  balance: string;
}

export interface AccountSpec {
  owner: Owner;
  bucket: Bucket;
}

/** Finds the accounts, creating the missing ones; no lock is taken. */
export async function ensureAccounts(
  db: Database,
  organizationId: string,
  assetId: string,
  specs: AccountSpec[],
  newIds: () => string,
  now: Date,
): Promise<AccountRow[]> {
  const found = await selectAccounts(db, organizationId, assetId, specs);
  const missing = specs.filter(
    (spec) =>
      !found.some(
        (row) =>
          row.owner_type === spec.owner.type && row.owner_id === spec.owner.id && row.bucket === spec.bucket,
      ),
  );
  if (missing.length === 0) return found;
  await sql`insert into ledger_accounts (organization_id, id, owner_type, owner_id, asset_id, bucket, created_at)
    select ${organizationId}, x.id, x.owner_type, x.owner_id, ${assetId}, x.bucket, ${now}
    from unnest(${missing.map(newIds)}::uuid[], ${missing.map((s) => s.owner.type)}::text[],
                ${missing.map((s) => s.owner.id)}::uuid[], ${missing.map((s) => s.bucket)}::text[])
      as x(id, owner_type, owner_id, bucket)
    on conflict (organization_id, owner_type, owner_id, asset_id, bucket) do nothing`.execute(db);
  return selectAccounts(db, organizationId, assetId, specs);
}

async function selectAccounts(db: Database, organizationId: string, assetId: string, specs: AccountSpec[]) {
  const result = await sql<AccountRow>`select a.* from ledger_accounts a
    join unnest(${specs.map((s) => s.owner.type)}::text[], ${specs.map((s) => s.owner.id)}::uuid[],
                ${specs.map((s) => s.bucket)}::text[]) as x(owner_type, owner_id, bucket)
      on a.owner_type = x.owner_type and a.owner_id = x.owner_id and a.bucket = x.bucket
    where a.organization_id = ${organizationId} and a.asset_id = ${assetId}`.execute(db);
  return result.rows;
}

/**
 * Locks the accounts in the order given (the caller sorts them) and answers their current rows. The
 * row locks are taken as rows leave the sort, so one statement keeps the order exactly.
 */
export async function lockAccounts(
  db: Database,
  organizationId: string,
  ids: string[],
): Promise<AccountRow[]> {
  if (ids.length === 0) return [];
  const result = await sql<AccountRow>`select * from ledger_accounts
    where organization_id = ${organizationId} and id = any(${ids}::uuid[])
    order by array_position(${ids}::uuid[], id) for update`.execute(db);
  return result.rows;
}

/** A participant's AVAILABLE account of an asset. */
export interface HolderAccountKey {
  assetId: string;
  ownerId: string;
}

/**
 * Creates the missing AVAILABLE accounts of the participants (no lock is taken on existing ones)
 * and answers the id of each asset's account of `systemOwnerId`, by asset id.
 */
export async function ensureHolderAccounts(
  db: Database,
  organizationId: string,
  holders: HolderAccountKey[],
  systemOwnerId: string,
  newIds: () => string,
  now: Date,
): Promise<Map<string, string>> {
  const assetIds = [...new Set(holders.map((holder) => holder.assetId))];
  const result = await sql<{ id: string; asset_id: string }>`with created as (
      insert into ledger_accounts (organization_id, id, owner_type, owner_id, asset_id, bucket, created_at)
      select ${organizationId}, x.id, 'PARTICIPANT', x.owner_id, x.asset_id, 'AVAILABLE', ${now}
      from unnest(${holders.map(newIds)}::uuid[], ${holders.map((h) => h.ownerId)}::uuid[],
                  ${holders.map((h) => h.assetId)}::uuid[]) as x(id, owner_id, asset_id)
      on conflict (organization_id, owner_type, owner_id, asset_id, bucket) do nothing)
    select id, asset_id from ledger_accounts
    where organization_id = ${organizationId} and owner_type = 'SYSTEM' and owner_id = ${systemOwnerId}
      and asset_id = any(${assetIds}::uuid[]) and bucket = 'AVAILABLE'`.execute(db);
  return new Map(result.rows.map((row) => [row.asset_id, row.id]));
}

/**
 * Locks the participants' AVAILABLE accounts in account id order (as rows leave the sort, so one
 * statement keeps the order exactly) and answers each one's id and balance.
 */
export async function lockHolderAccounts(
  db: Database,
  organizationId: string,
  holders: HolderAccountKey[],
): Promise<(HolderAccountKey & { id: string; balance: string })[]> {
  const result = await sql<{ id: string; asset_id: string; owner_id: string; balance: string }>`
    select a.id, a.asset_id, a.owner_id, a.balance from ledger_accounts a
    join unnest(${holders.map((h) => h.ownerId)}::uuid[], ${holders.map((h) => h.assetId)}::uuid[])
      as x(owner_id, asset_id) on a.owner_id = x.owner_id and a.asset_id = x.asset_id
    where a.organization_id = ${organizationId} and a.owner_type = 'PARTICIPANT' and a.bucket = 'AVAILABLE'
    order by a.id for update of a`.execute(db);
  return result.rows.map((row) => ({
    id: row.id,
    assetId: row.asset_id,
    ownerId: row.owner_id,
    balance: row.balance,
  }));
}

/** Tries to lock one account without waiting; answers false when another transaction holds it. */
export async function tryLockAccount(db: Database, organizationId: string, id: string): Promise<boolean> {
  const result = await sql`select id from ledger_accounts
    where organization_id = ${organizationId} and id = ${id} for update skip locked`.execute(db);
  return result.rows.length > 0;
}

export async function addToBalances(
  db: Database,
  organizationId: string,
  deltas: { accountId: string; amount: bigint }[],
): Promise<void> {
  if (deltas.length === 0) return;
  await sql`update ledger_accounts a set balance = a.balance + d.amount
    from unnest(${deltas.map((d) => d.accountId)}::uuid[], ${deltas.map((d) => d.amount.toString())}::numeric[])
      as d(id, amount)
    where a.organization_id = ${organizationId} and a.id = d.id`.execute(db);
}

export interface JournalEntryInsert {
  organization_id: string;
  id: string;
  action_type: string;
  description: string;
  program_id: string | null;
  event_id: string | null;
  rule_id: string | null;
  reference_id: string | null;
  event_timestamp: Date | null;
  created_by_api_key_id: string | null;
  created_at: Date;
}

export interface PostingInsert {
  id: string;
  account_id: string;
  owner_type: OwnerType;
  owner_id: string;
  bucket: Bucket;
  amount: bigint;
}

export interface JournalEntryWrite {
  entry: JournalEntryInsert;
  assetId: string;
  postings: PostingInsert[];
}

export async function insertJournalEntry(
  db: Database,
  entry: JournalEntryInsert,
  assetId: string,
  postings: PostingInsert[],
): Promise<void> {
  await insertJournalEntries(db, [{ entry, assetId, postings }]);
}

/**
 * Inserts entries and their postings: two statements however many entries, each column one array
 * parameter (a VALUES list of 11 parameters an entry was compiled, sent and planned anew for every
 * count of entries).
 */
export async function insertJournalEntries(db: Database, writes: JournalEntryWrite[]): Promise<void> {
  if (writes.length === 0) return;
  const entryColumn = <T>(value: (entry: JournalEntryInsert) => T) =>
    writes.map((write) => value(write.entry));
  await sql`insert into journal_entries (organization_id, id, action_type, description, program_id, event_id,
      rule_id, reference_id, event_timestamp, created_by_api_key_id, created_at)
    select * from unnest(${entryColumn((e) => e.organization_id)}::uuid[], ${entryColumn((e) => e.id)}::uuid[],
      ${entryColumn((e) => e.action_type)}::text[], ${entryColumn((e) => e.description)}::text[],
      ${entryColumn((e) => e.program_id)}::uuid[], ${entryColumn((e) => e.event_id)}::uuid[], ${entryColumn((e) => e.rule_id)}::uuid[],
      ${entryColumn((e) => e.reference_id)}::text[], ${entryColumn((e) => e.event_timestamp)}::timestamptz[],
      ${entryColumn((e) => e.created_by_api_key_id)}::uuid[], ${entryColumn((e) => e.created_at)}::timestamptz[])`.execute(
    db,
  );
  const postings = writes.flatMap(({ entry, assetId, postings }) =>
    postings.map((posting) => ({ ...posting, entry, assetId })),
  );
  const column = <T>(value: (posting: (typeof postings)[number]) => T) => postings.map(value);
  await sql`insert into postings
      (organization_id, id, journal_entry_id, account_id, asset_id, owner_type, owner_id, bucket, amount, created_at)
    select * from unnest(${column((p) => p.entry.organization_id)}::uuid[], ${column((p) => p.id)}::uuid[],
      ${column((p) => p.entry.id)}::uuid[], ${column((p) => p.account_id)}::uuid[], ${column((p) => p.assetId)}::uuid[],
      ${column((p) => p.owner_type)}::text[], ${column((p) => p.owner_id)}::uuid[], ${column((p) => p.bucket)}::text[],
      ${column((p) => p.amount.toString())}::numeric[], ${column((p) => p.entry.created_at)}::timestamptz[])`.execute(
    db,
  );
}

export interface OwnerStatus {
  status: string;
}

/**
 * Participants sit on this module's layer, so it may not import them: the ledger reads the status
 * it needs (existence and whether financial actions are allowed) straight from the table.
 */
export async function findParticipantStatus(
  db: Database,
  organizationId: string,
  participantId: string,
): Promise<string | undefined> {
  const result = await sql<OwnerStatus>`select status from participants
    where organization_id = ${organizationId} and id = ${participantId}`.execute(db);
  return result.rows[0]?.status;
}

export interface BalanceRow {
  asset_id: string;
  scale: number;
  available: string;
  held: string;
  deferred: string;
}

/** Balances of one owner per asset, by asset id. */
export async function listOwnerBalances(
  db: Database,
  organizationId: string,
  owner: Owner,
  filter: {
    assetId?: string | undefined;
    afterAssetId?: string | undefined;
    limit: number;
    prefundedOnly?: boolean;
  },
): Promise<BalanceRow[]> {
  const result = await sql<BalanceRow>`select a.asset_id, s.scale,
      coalesce(sum(a.balance) filter (where a.bucket = 'AVAILABLE'), 0)::text as available,
      coalesce(sum(a.balance) filter (where a.bucket = 'HELD'), 0)::text as held,
      coalesce(sum(a.balance) filter (where a.bucket = 'DEFERRED'), 0)::text as deferred
    from ledger_accounts a
    join assets s on s.organization_id = a.organization_id and s.id = a.asset_id
    where a.organization_id = ${organizationId} and a.owner_type = ${owner.type} and a.owner_id = ${owner.id}
      ${filter.assetId === undefined ? sql`` : sql`and a.asset_id = ${filter.assetId}`}
      ${filter.afterAssetId === undefined ? sql`` : sql`and a.asset_id > ${filter.afterAssetId}`}
      ${filter.prefundedOnly ? sql`and s.issuance_policy = 'PREFUNDED'` : sql``}
    group by a.asset_id, s.scale
    order by a.asset_id
    limit ${filter.limit + 1}`.execute(db);
  return result.rows;
}
