// The work queue over the events table: SQL only. A claim is a lease (claim_token, lease_expires_at)
// committed on its own, so PROCESSING is visible while a worker holds an event; the worker then
// applies the event in a transaction that first locks the row and checks its token.
import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import type { EventRow } from './events.store.js';

/**
 * Claims up to `limit` pending events, at most one per participant: an event is claimable only when
 * no earlier event of the same participant (ordering_key) is still PENDING or PROCESSING. SKIP LOCKED
 * lets many workers claim at once without waiting on each other.
 */
export async function claimPendingEvents(
  db: Database,
  claimToken: string,
  limit: number,
  leaseMs: number,
): Promise<EventRow[]> {
  const result = await sql<EventRow>`
    with candidates as (
      select e.organization_id, e.id from events e
      where e.status = 'PENDING' and e.available_at <= now()
        and not exists (
          select 1 from events earlier
          where earlier.organization_id = e.organization_id and earlier.ordering_key = e.ordering_key
            and earlier.status in ('PENDING', 'PROCESSING') and earlier.ingest_seq < e.ingest_seq)
      order by e.ingest_seq
      limit ${limit}
      for update of e skip locked)
    update events set status = 'PROCESSING', claim_token = ${claimToken}::uuid,
      lease_expires_at = now() + ${leaseMs} * interval '1 millisecond', claim_count = claim_count + 1
    from candidates
    where events.organization_id = candidates.organization_id and events.id = candidates.id
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
      where status = 'PROCESSING' and lease_expires_at < now()
      for update skip locked)
    update events set status = 'PENDING', claim_token = null, lease_expires_at = null
    from expired
    where events.organization_id = expired.organization_id and events.id = expired.id`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

/**
 * Locks a claimed event for its processing transaction; undefined when the claim was lost (the lease
 * expired and another worker took the event), so the caller must not apply it.
 */
export async function lockClaimedEvent(
  db: Database,
  organizationId: string,
  id: string,
  claimToken: string,
): Promise<EventRow | undefined> {
  const result = await sql<EventRow>`
    select * from events
    where organization_id = ${organizationId} and id = ${id}
      and status = 'PROCESSING' and claim_token = ${claimToken}::uuid
    for update`.execute(db);
  return result.rows[0];
}

export interface EventOutcome {
  status: 'COMPLETED' | 'FAILED';
  errorMessage: string | null;
  participantId: string | null;
  externalId: string | null;
  recipientId: string | null;
  now: Date;
}

/** Ends a claimed event; false when the claim was lost in the meantime. */
export async function finishClaimedEvent(
  db: Database,
  event: Pick<EventRow, 'organization_id' | 'id'>,
  claimToken: string,
  outcome: EventOutcome,
): Promise<boolean> {
  const result = await sql`
    update events set status = ${outcome.status}, error_message = ${outcome.errorMessage},
      participant_id = coalesce(${outcome.participantId}::uuid, participant_id),
      external_id = coalesce(${outcome.externalId}, external_id),
      recipient_id = coalesce(${outcome.recipientId}::uuid, recipient_id),
      processed_at = ${outcome.now}, updated_at = ${outcome.now},
      claim_token = null, lease_expires_at = null
    where organization_id = ${event.organization_id} and id = ${event.id}
      and status = 'PROCESSING' and claim_token = ${claimToken}::uuid`.execute(db);
  return Number(result.numAffectedRows ?? 0n) === 1;
}

/** Hands a claimed event back to the queue after a transient failure, to be tried again later. */
export async function deferClaimedEvent(
  db: Database,
  event: Pick<EventRow, 'organization_id' | 'id'>,
  claimToken: string,
  delayMs: number,
): Promise<void> {
  await sql`
    update events set status = 'PENDING', claim_token = null, lease_expires_at = null,
      available_at = now() + ${delayMs} * interval '1 millisecond'
    where organization_id = ${event.organization_id} and id = ${event.id}
      and status = 'PROCESSING' and claim_token = ${claimToken}::uuid`.execute(db);
}
