// SQL of the ledger's read side: activity, statements, journal entries.
import { sql } from 'kysely';
import { assert } from '../../platform/assert.js';
import type { Database } from '../../platform/db/database.js';
import type { Bucket, Owner } from './accounts.js';

export interface ActivityRow {
  posting_id: string;
  journal_entry_id: string;
  asset_id: string;
  bucket: Bucket;
  amount: string;
  created_at: Date;
  action_type: string;
  description: string;
  event_id: string | null;
  event_timestamp: Date | null;
  created_by_api_key_id: string | null;
}

export interface ActivityFilter {
  assetId?: string | undefined;
  bucket?: Bucket | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  eventFrom?: Date | undefined;
  eventTo?: Date | undefined;
  after?: [unknown, unknown] | undefined;
  limit: number;
}

/**
 * The owner's type, for a read of its postings by owner: a holder's (postings_by_owner leaves
 * SYSTEM accounts out, 0027).
 */
function holderType(owner: Owner): Owner['type'] {
  assert(owner.type !== 'SYSTEM', 'postings are read by owner for holders only');
  return owner.type;
}

/** Postings of one owner, oldest first, paged by (created_at, posting id). */
export async function listActivity(db: Database, organizationId: string, owner: Owner, f: ActivityFilter) {
  const eventTime = sql`coalesce(j.event_timestamp, j.created_at)`;
  const result = await sql<ActivityRow>`select p.id as posting_id, p.journal_entry_id, p.asset_id, p.bucket,
      p.amount::text as amount, p.created_at, j.action_type, j.description, j.event_id, j.event_timestamp,
      j.created_by_api_key_id
    from postings p
    join journal_entries j on j.organization_id = p.organization_id and j.id = p.journal_entry_id
    where p.organization_id = ${organizationId} and p.owner_id = ${owner.id} and p.owner_type = ${holderType(owner)}
      and p.owner_type <> 'SYSTEM'
      ${f.assetId === undefined ? sql`` : sql`and p.asset_id = ${f.assetId}`}
      ${f.bucket === undefined ? sql`` : sql`and p.bucket = ${f.bucket}`}
      ${f.from === undefined ? sql`` : sql`and p.created_at >= ${f.from}`}
      ${f.to === undefined ? sql`` : sql`and p.created_at <= ${f.to}`}
      ${f.eventFrom === undefined ? sql`` : sql`and ${eventTime} >= ${f.eventFrom}`}
      ${f.eventTo === undefined ? sql`` : sql`and ${eventTime} <= ${f.eventTo}`}
      ${f.after === undefined ? sql`` : sql`and (p.created_at, p.id) > (${f.after[0]}, ${f.after[1]}::uuid)`}
    order by p.created_at, p.id
    limit ${f.limit + 1}`.execute(db);
  return result.rows;
}

/** Sum of an owner's postings in an asset (and bucket) strictly before a (created_at, id) key. */
export async function sumBefore(
  db: Database,
  organizationId: string,
  owner: Owner,
  assetId: string,
  bucket: Bucket | undefined,
  before: { createdAt: Date; id?: string | undefined; inclusive?: boolean },
): Promise<bigint> {
  const key =
    before.id === undefined
      ? sql`p.created_at ${sql.raw(before.inclusive ? '<=' : '<')} ${before.createdAt}`
      : sql`(p.created_at, p.id) ${sql.raw(before.inclusive ? '<=' : '<')} (${before.createdAt}, ${before.id}::uuid)`;
  const result = await sql<{ total: string }>`select coalesce(sum(p.amount), 0)::text as total from postings p
    where p.organization_id = ${organizationId} and p.owner_id = ${owner.id} and p.owner_type = ${holderType(owner)}
      and p.owner_type <> 'SYSTEM' and p.asset_id = ${assetId} ${bucket === undefined ? sql`` : sql`and p.bucket = ${bucket}`} and ${key}`.execute(
    db,
  );
  return BigInt(result.rows[0]?.total ?? '0');
}

export interface JournalEntryRow {
  id: string;
  action_type: string;
  description: string;
  program_id: string | null;
  program_name: string | null;
  event_id: string | null;
  rule_id: string | null;
  reference_id: string | null;
  created_by_api_key_id: string | null;
  sequence_number: string | null;
  entry_hash: string | null;
  created_at: Date;
}

export interface EntryFilter {
  id?: string | undefined;
  programId?: string | undefined;
  eventId?: string | undefined;
  ruleId?: string | undefined;
  participantId?: string | undefined;
  groupId?: string | undefined;
  externalId?: string | undefined;
  assetId?: string | undefined;
  bucket?: Bucket | undefined;
  minAmount?: string | undefined;
  maxAmount?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  actionType?: string | undefined;
  referenceId?: string | undefined;
  after?: [unknown, unknown] | undefined;
  limit: number;
}

function hasPostingFilter(f: EntryFilter): boolean {
  return [f.participantId, f.groupId, f.externalId, f.assetId, f.bucket, f.minAmount, f.maxAmount].some(
    (value) => value !== undefined,
  );
}

/** Journal entries newest first; posting filters match entries with at least one such posting. */
export async function listJournalEntries(db: Database, organizationId: string, f: EntryFilter) {
  const postingFilter = hasPostingFilter(f)
    ? sql`and exists (select 1 from postings p join assets s on s.organization_id = p.organization_id
          and s.id = p.asset_id where p.organization_id = j.organization_id and p.journal_entry_id = j.id
          ${f.participantId === undefined ? sql`` : sql`and p.owner_type = 'PARTICIPANT' and p.owner_id = ${f.participantId}`}
          ${f.groupId === undefined ? sql`` : sql`and p.owner_type = 'GROUP' and p.owner_id = ${f.groupId}`}
          ${
            f.externalId === undefined
              ? sql``
              : sql`and p.owner_type = 'PARTICIPANT' and p.owner_id = (select id from participants
            where organization_id = j.organization_id and external_id = ${f.externalId})`
          }
          ${f.assetId === undefined ? sql`` : sql`and p.asset_id = ${f.assetId}`}
          ${f.bucket === undefined ? sql`` : sql`and p.bucket = ${f.bucket}`}
          ${f.minAmount === undefined ? sql`` : sql`and p.amount >= ${f.minAmount}::numeric * power(10::numeric, s.scale)`}
          ${f.maxAmount === undefined ? sql`` : sql`and p.amount <= ${f.maxAmount}::numeric * power(10::numeric, s.scale)`})`
    : sql``;
  const result = await sql<JournalEntryRow>`select j.id, j.action_type, j.description, j.program_id,
      pr.name as program_name, j.event_id, j.rule_id, j.reference_id, j.created_by_api_key_id,
      s.sequence_number::text as sequence_number, encode(s.entry_hash, 'hex') as entry_hash, j.created_at
    from journal_entries j
    left join journal_seals s on s.organization_id = j.organization_id and s.journal_entry_id = j.id
    left join programs pr on pr.organization_id = j.organization_id and pr.id = j.program_id
    where j.organization_id = ${organizationId}
      ${f.id === undefined ? sql`` : sql`and j.id = ${f.id}`}
      ${f.programId === undefined ? sql`` : sql`and j.program_id = ${f.programId}`}
      ${f.eventId === undefined ? sql`` : sql`and j.event_id = ${f.eventId}`}
      ${f.ruleId === undefined ? sql`` : sql`and j.rule_id = ${f.ruleId}`}
      ${f.from === undefined ? sql`` : sql`and j.created_at >= ${f.from}`}
      ${f.to === undefined ? sql`` : sql`and j.created_at <= ${f.to}`}
      ${f.actionType === undefined ? sql`` : sql`and j.action_type = ${f.actionType}`}
      ${f.referenceId === undefined ? sql`` : sql`and j.reference_id = ${f.referenceId}`}
      ${postingFilter}
      ${f.after === undefined ? sql`` : sql`and (j.created_at, j.id) < (${f.after[0]}, ${f.after[1]}::uuid)`}
    order by j.created_at desc, j.id desc
    limit ${f.limit + 1}`.execute(db);
  return result.rows;
}

export interface PostingRow {
  id: string;
  journal_entry_id: string;
  asset_id: string;
  asset_symbol: string;
  scale: number;
  bucket: Bucket;
  owner_type: Owner['type'];
  owner_id: string;
  amount: string;
  created_at: Date;
}

export async function listPostingsOf(db: Database, organizationId: string, entryIds: string[]) {
  if (entryIds.length === 0) return [];
  const result = await sql<PostingRow>`select p.id, p.journal_entry_id, p.asset_id, s.symbol as asset_symbol,
      s.scale, p.bucket, p.owner_type, p.owner_id, p.amount::text as amount, p.created_at
    from postings p join assets s on s.organization_id = p.organization_id and s.id = p.asset_id
    where p.organization_id = ${organizationId} and p.journal_entry_id = any(${entryIds}::uuid[])
    order by p.journal_entry_id, p.amount, p.id`.execute(db);
  return result.rows;
}
