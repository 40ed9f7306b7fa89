// The work queue: SQL only. Each event has a narrow event_queue row from its insert until it
// finishes (COMPLETED or FAILED), when the row is deleted and the event gets its outcome row. A
// claim is a lease (claim_token, lease_expires_at) on the queue row, committed on its own, so the
// event shows PROCESSING while a worker holds it; the worker then applies the claimed events in a
// transaction that first locks their queue rows and checks the token. A claim changes no indexed
// column of the queue row, so it is a heap-only update; the event row is not written by a claim.
import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import { ruleSetsInsert, type StoredEvaluation } from '../rules/index.js';
import type { ClaimedEvent } from './events.store.js';

/**
 * Claims up to `limit` pending events as runs per participant (ordering_key), in ingestion order, a
 * participant's events one after the other: the function claim_pending_events (migration 0036) says
 * how, and reads the queue through its ingestion-order index whatever the statistics say.
 */
export async function claimPendingEvents(
  db: Database,
  claimToken: string,
  limit: number,
  leaseMs: number,
): Promise<ClaimedEvent[]> {
  const result = await sql<ClaimedEvent>`
    select * from claim_pending_events(${claimToken}::uuid, ${limit}::integer, ${leaseMs}::integer)`.execute(
    db,
  );
  return result.rows;
}

/**
 * Puts back events whose holder stopped renewing its lease (it died or lost its connection). Rows a
 * live worker is applying are locked by its transaction, so SKIP LOCKED leaves them alone.
 */
export async function releaseExpiredLeases(db: Database): Promise<number> {
  const result = await sql`
    with expired as (
      select organization_id, event_id from event_queue
      where claim_token is not null and lease_expires_at < now()
      for update skip locked)
    update event_queue q set claim_token = null, lease_expires_at = null
    from expired
    where q.organization_id = expired.organization_id and q.event_id = expired.event_id`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

/**
 * Locks the queue rows of one claim for the transaction that applies them; answers the claimed
 * events still held by this claim, in their order. Events whose claim was lost (the lease expired
 * and another worker took them) are left out and must not be applied. The events are not read
 * again: while the token holds, nothing but its holder writes their queue rows, and their event
 * rows change only when the holder finishes them, so they are as claimed.
 */
export async function lockClaimedEvents(
  db: Database,
  events: ClaimedEvent[],
  claimToken: string,
): Promise<ClaimedEvent[]> {
  const result = await sql<{ organization_id: string; event_id: string }>`
    select q.organization_id, q.event_id from event_queue q
    join unnest(${events.map((event) => event.organization_id)}::uuid[], ${events.map((event) => event.id)}::uuid[])
      as claimed (organization_id, id) on q.organization_id = claimed.organization_id and q.event_id = claimed.id
    where q.claim_token = ${claimToken}::uuid
    order by q.ingest_seq
    for update of q`.execute(db);
  const held = new Set(result.rows.map((row) => `${row.organization_id}:${row.event_id}`));
  return events.filter((event) => held.has(`${event.organization_id}:${event.id}`));
}

export interface EventOutcome {
  organizationId: string;
  id: string;
  /** PENDING hands the event back to the queue after a transient failure, due after delayMs. */
  status: 'COMPLETED' | 'FAILED' | 'PENDING';
  errorMessage: string | null;
  /** The parties processing resolved; the outcome row keeps those the event did not name. */
  participantId: string | null;
  externalId: string | null;
  recipientId: string | null;
  /** A completed event's rule evaluations, kept in its outcome row; null when it evaluated no rule. */
  evaluation: StoredEvaluation | null;
  delayMs: number;
}

/**
 * Ends the events of one claim in one statement; rows whose claim was lost are not touched. A
 * finished event leaves the queue and gets its outcome row, with its final status and claim count;
 * an event handed back (PENDING) stays queued, unclaimed, due after its delay. The event rows are
 * not written. The delete returns each outcome with its queue row, so the insert reads them from one
 * CTE: joining two CTEs, the planner, which cannot count their rows, compared every pair.
 */
export async function finishClaimedEvents(
  db: Database,
  claimToken: string,
  outcomes: EventOutcome[],
  now: Date,
): Promise<number> {
  const column = <K extends keyof EventOutcome>(key: K) => outcomes.map((outcome) => outcome[key]);
  const evaluated = <T>(value: (evaluation: StoredEvaluation) => T) =>
    outcomes.map(({ evaluation }) => (evaluation === null ? null : value(evaluation)));
  const result = await sql<{ finished: number }>`
    with o as (
      select * from unnest(${column('organizationId')}::uuid[], ${column('id')}::uuid[], ${column('status')}::text[],
        ${column('errorMessage')}::text[], ${column('participantId')}::uuid[], ${column('externalId')}::text[],
        ${column('recipientId')}::uuid[], ${column('delayMs')}::integer[],
        ${evaluated((evaluation) => evaluation.ruleSetId)}::uuid[],
        ${evaluated((evaluation) => `{${evaluation.matchedRuleIds.join(',')}}`)}::text[],
        ${evaluated((evaluation) => JSON.stringify(evaluation.outcomes))}::text[])
        as o (organization_id, id, status, error_message, participant_id, external_id, recipient_id, delay_ms,
          rule_set_id, matched_rule_ids, outcomes)),
    rule_sets as (${ruleSetsInsert(outcomes)}),
    handed_back as (
      update event_queue q set claim_token = null, lease_expires_at = null,
        available_at = now() + o.delay_ms * interval '1 millisecond'
      from o
      where q.organization_id = o.organization_id and q.event_id = o.id and o.status = 'PENDING'
        and q.claim_token = ${claimToken}::uuid
      returning q.event_id),
    dequeued as (
      delete from event_queue q using o
      where q.organization_id = o.organization_id and q.event_id = o.id and o.status <> 'PENDING'
        and q.claim_token = ${claimToken}::uuid
      returning q.organization_id, q.event_id, q.claim_count, o.status, o.error_message, o.participant_id,
        o.external_id, o.recipient_id, o.rule_set_id, o.matched_rule_ids, o.outcomes),
    finished as (
      insert into event_outcomes (organization_id, event_id, status, error_message, participant_id,
        external_id, recipient_id, claim_count, processed_at, rule_set_id, matched_rule_ids, outcomes)
      select d.organization_id, d.event_id, d.status, d.error_message, d.participant_id, d.external_id,
        d.recipient_id, d.claim_count, ${now}::timestamptz, d.rule_set_id, d.matched_rule_ids::uuid[],
        d.outcomes::json
      from dequeued d
      returning event_id)
    select ((select count(*) from handed_back) + (select count(*) from finished))::int as finished`.execute(
    db,
  );
  return result.rows[0]?.finished ?? 0;
}

/**
 * Refreshes the queue table's statistics. With statistics of an empty or nearly drained queue, the
 * planner expects a few unclaimed rows and sorts all of them for each claim (about 300 ms a claim at
 * 100,000 queued) instead of walking event_queue_by_seq and stopping at the claim's size (2 ms).
 */
export async function analyzeEventQueue(db: Database): Promise<void> {
  await sql`analyze event_queue`.execute(db);
}

export interface QueueGauges {
  depth: number;
  oldest_age_seconds: number;
}

/**
 * The PENDING events (queued and unclaimed, counted up to `depthCountMax`, so a scrape stays cheap
 * on a huge backlog) and the age of the oldest, read through the queue in ingestion order.
 */
export async function readQueueGauges(db: Database, depthCountMax: number): Promise<QueueGauges> {
  const result = await sql<QueueGauges>`
    select
      (select count(*) from (select 1 from event_queue where claim_token is null limit ${depthCountMax}) p)::int
        as depth,
      coalesce((select extract(epoch from now() - e.received_at) from event_queue q
        join events e on e.organization_id = q.organization_id and e.id = q.event_id
        where q.claim_token is null order by q.ingest_seq limit 1), 0)::float8 as oldest_age_seconds`.execute(
    db,
  );
  const row = result.rows[0];
  return row ?? { depth: 0, oldest_age_seconds: 0 };
}
