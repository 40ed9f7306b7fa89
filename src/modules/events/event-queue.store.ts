// The work queue over the events table: SQL only. A claim is a lease (claim_token, lease_expires_at)
// committed on its own, so PROCESSING is visible while a worker holds an event; the worker then
// applies the claimed events in a transaction that first locks the rows and checks the token.
// The queue's indexes hold the unfinished events (processed_at is null: PENDING or PROCESSING) and
// nothing a claim changes, so a claim is a heap-only update that adds no index entry.
import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import type { EventRow } from './events.store.js';

/**
 * Claims up to `limit` pending events as runs per participant (ordering_key). A run starts at a head:
 * a PENDING event with no earlier event of its participant still PENDING or PROCESSING. It continues
 * with that participant's next pending events in ingestion order, so a participant with a long
 * backlog moves many events per claim instead of one. Shorter positions come first, so many
 * participants share a claim before any one of them takes the rest. SKIP LOCKED on the heads lets
 * many workers claim at once; the events after a head are never heads, so no other claim takes them.
 */
export async function claimPendingEvents(
  db: Database,
  claimToken: string,
  limit: number,
  leaseMs: number,
): Promise<EventRow[]> {
  const result = await sql<EventRow>`
    with heads as (
      select e.organization_id, e.ordering_key, e.ingest_seq from events e
      where e.processed_at is null and e.status = 'PENDING' and e.available_at <= now()
        and not exists (
          select 1 from events earlier
          where earlier.organization_id = e.organization_id and earlier.ordering_key = e.ordering_key
            and earlier.processed_at is null and earlier.ingest_seq < e.ingest_seq)
      order by e.ingest_seq
      limit ${limit}
      for update of e skip locked),
    runs as (
      select r.organization_id, r.id, r.ingest_seq,
        row_number() over (partition by r.organization_id, r.ordering_key order by r.ingest_seq) as position
      from heads h cross join lateral (
        select n.organization_id, n.id, n.ingest_seq, n.ordering_key from events n
        where n.organization_id = h.organization_id and n.ordering_key = h.ordering_key
          and n.processed_at is null and n.status = 'PENDING' and n.ingest_seq >= h.ingest_seq
        order by n.ingest_seq
        limit ${limit}
        for update of n) r),
    claimed as (select organization_id, id from runs order by position, ingest_seq limit ${limit})
    update events set status = 'PROCESSING', claim_token = ${claimToken}::uuid,
      lease_expires_at = now() + ${leaseMs} * interval '1 millisecond', claim_count = claim_count + 1
    from claimed
    where events.organization_id = claimed.organization_id and events.id = claimed.id
    returning events.*`.execute(db);
  return result.rows.sort((a, b) => Number(BigInt(a.ingest_seq) - BigInt(b.ingest_seq)));
}

/**
 * Puts back events whose holder stopped renewing its lease (it died or lost its connection). Rows a
 * live worker is applying are locked by its transaction, so SKIP LOCKED leaves them alone.
 */
export async function releaseExpiredLeases(db: Database): Promise<number> {
  const result = await sql`
    with expired as (
      select organization_id, id from events
      where processed_at is null and status = 'PROCESSING' and lease_expires_at < now()
      for update skip locked)
    update events set status = 'PENDING', claim_token = null, lease_expires_at = null
    from expired
    where events.organization_id = expired.organization_id and events.id = expired.id`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

/**
 * Locks the events of one claim for the transaction that applies them; events whose claim was lost
 * (the lease expired and another worker took them) are left out and must not be applied.
 */
export async function lockClaimedEvents(
  db: Database,
  events: Pick<EventRow, 'organization_id' | 'id'>[],
  claimToken: string,
): Promise<EventRow[]> {
  const result = await sql<EventRow>`
    select e.* from events e
    join unnest(${events.map((event) => event.organization_id)}::uuid[], ${events.map((event) => event.id)}::uuid[])
      as claimed (organization_id, id) on e.organization_id = claimed.organization_id and e.id = claimed.id
    where e.status = 'PROCESSING' and e.claim_token = ${claimToken}::uuid
    order by e.ingest_seq
    for update of e`.execute(db);
  return result.rows;
}

export interface EventOutcome {
  organizationId: string;
  id: string;
  /** PENDING hands the event back to the queue after a transient failure, due after delayMs. */
  status: 'COMPLETED' | 'FAILED' | 'PENDING';
  errorMessage: string | null;
  participantId: string | null;
  externalId: string | null;
  recipientId: string | null;
  delayMs: number;
}

/** Ends the events of one claim in one statement; rows whose claim was lost are not touched. */
export async function finishClaimedEvents(
  db: Database,
  claimToken: string,
  outcomes: EventOutcome[],
  now: Date,
): Promise<number> {
  const column = <K extends keyof EventOutcome>(key: K) => outcomes.map((outcome) => outcome[key]);
  const result = await sql`
    update events e set status = o.status, error_message = o.error_message,
      participant_id = coalesce(o.participant_id, e.participant_id),
      external_id = coalesce(o.external_id, e.external_id),
      recipient_id = coalesce(o.recipient_id, e.recipient_id),
      processed_at = case when o.status = 'PENDING' then null else ${now}::timestamptz end,
      available_at = case when o.status = 'PENDING' then now() + o.delay_ms * interval '1 millisecond'
        else e.available_at end,
      updated_at = ${now}::timestamptz, claim_token = null, lease_expires_at = null
    from unnest(${column('organizationId')}::uuid[], ${column('id')}::uuid[], ${column('status')}::text[],
      ${column('errorMessage')}::text[], ${column('participantId')}::uuid[], ${column('externalId')}::text[],
      ${column('recipientId')}::uuid[], ${column('delayMs')}::integer[])
      as o (organization_id, id, status, error_message, participant_id, external_id, recipient_id, delay_ms)
    where e.organization_id = o.organization_id and e.id = o.id
      and e.status = 'PROCESSING' and e.claim_token = ${claimToken}::uuid`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

export interface FinishedEvent {
  status: 'COMPLETED' | 'FAILED';
  lag_seconds: number;
}

/** Of the given events, those now finished, with the time from their receipt to their processing. */
export async function readFinishedEvents(
  db: Database,
  events: Pick<EventRow, 'organization_id' | 'id'>[],
): Promise<FinishedEvent[]> {
  const result = await sql<FinishedEvent>`
    select e.status, extract(epoch from e.processed_at - e.received_at)::float8 as lag_seconds
    from events e
    join unnest(${events.map((event) => event.organization_id)}::uuid[], ${events.map((event) => event.id)}::uuid[])
      as k (organization_id, id) on e.organization_id = k.organization_id and e.id = k.id
    where e.processed_at is not null`.execute(db);
  return result.rows;
}

export interface QueueGauges {
  depth: number;
  oldest_age_seconds: number;
}

/**
 * The PENDING events (counted up to `depthCountMax`, so a scrape stays cheap on a huge backlog) and
 * the age of the oldest, both read through the pending-events index.
 */
export async function readQueueGauges(db: Database, depthCountMax: number): Promise<QueueGauges> {
  const result = await sql<QueueGauges>`
    select
      (select count(*) from (select 1 from events where status = 'PENDING' limit ${depthCountMax}) p)::int
        as depth,
      coalesce((select extract(epoch from now() - received_at) from events where status = 'PENDING'
        order by ingest_seq limit 1), 0)::float8 as oldest_age_seconds`.execute(db);
  const row = result.rows[0];
  return row ?? { depth: 0, oldest_age_seconds: 0 };
}
