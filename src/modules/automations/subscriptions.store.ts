// SQL of participant_state subscriptions: due ones claimed for firing, subscriptions locked and
// written by re-evaluation, the queue of participants whose state changed, and full re-evaluations.
import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import {
  type AutomationRow,
  type FanOutParticipant,
  participantCountersAt,
  type SubscriptionRow,
} from './automations.store.js';

const columns = `organization_id, id, automation_id, participant_id, status, next_trigger_at,
  last_triggered_at, trigger_count, retry_count, last_error, started_at, evaluated_at, created_at, updated_at`;

/**
 * Active subscriptions due at `now` of active participant_state automations, locked; those another
 * scheduler holds are skipped, so a subscription fires in one process only.
 */
export async function claimDueSubscriptions(db: Database, now: Date, limit: number) {
  const result = await sql<SubscriptionRow>`
    select s.* from automation_subscriptions s
    join automations a on a.organization_id = s.organization_id and a.id = s.automation_id
    where s.status = 'active' and s.next_trigger_at <= ${now}
      and a.status = 'active' and a.trigger_type = 'participant_state'
    order by s.next_trigger_at
    limit ${limit}
    for update of s skip locked`.execute(db);
  return result.rows;
}

export async function findAutomationsByIds(db: Database, organizationIds: string[], ids: string[]) {
  const result = await sql<AutomationRow>`
    select a.* from automations a
    join unnest(${organizationIds}::uuid[], ${ids}::uuid[]) as k(organization_id, id)
      on a.organization_id = k.organization_id and a.id = k.id`.execute(db);
  return result.rows;
}

/** The active participant_state automations of an organization. */
export async function listStateAutomations(db: Database, organizationId: string) {
  const result = await sql<AutomationRow>`
    select * from automations where organization_id = ${organizationId}
      and trigger_type = 'participant_state' and status = 'active'`.execute(db);
  return result.rows;
}

/** Of `ids`, the participants ACTIVE and enrolled (ACTIVE) in the program, with their state. */
export async function listEnrolledParticipants(
  db: Database,
  organizationId: string,
  programId: string,
  ids: string[],
  now: Date,
): Promise<FanOutParticipant[]> {
  if (ids.length === 0) return [];
  const result = await sql<FanOutParticipant>`
    select p.id, p.tags, p.attributes, ${participantCountersAt(now)} as counters
    from enrollments e
    join participants p on p.organization_id = e.organization_id and p.id = e.participant_id
    where e.organization_id = ${organizationId} and e.program_id = ${programId}
      and e.participant_id = any(${ids}::uuid[]) and e.status = 'ACTIVE' and p.status = 'ACTIVE'`.execute(db);
  return result.rows;
}

/** The automation's subscriptions of these participants, locked (a firing one is waited for). */
export async function lockSubscriptions(
  db: Database,
  organizationId: string,
  automationId: string,
  participantIds: string[],
) {
  if (participantIds.length === 0) return [];
  const result = await sql<SubscriptionRow>`
    select * from automation_subscriptions
    where organization_id = ${organizationId} and automation_id = ${automationId}
      and participant_id = any(${participantIds}::uuid[])
    order by participant_id
    for update`.execute(db);
  return result.rows;
}

/** Inserts or rewrites subscriptions whole, keyed by (automation, participant). */
export async function saveSubscriptions(db: Database, rows: SubscriptionRow[]): Promise<void> {
  if (rows.length === 0) return;
  const column = <K extends keyof SubscriptionRow>(key: K) => rows.map((row) => row[key]);
  await sql`insert into automation_subscriptions (${sql.raw(columns)})
    select * from unnest(${column('organization_id')}::uuid[], ${column('id')}::uuid[],
      ${column('automation_id')}::uuid[], ${column('participant_id')}::uuid[], ${column('status')}::text[],
      ${column('next_trigger_at')}::timestamptz[], ${column('last_triggered_at')}::timestamptz[],
      ${column('trigger_count')}::int[], ${column('retry_count')}::int[], ${column('last_error')}::text[],
      ${column('started_at')}::timestamptz[], ${column('evaluated_at')}::timestamptz[],
      ${column('created_at')}::timestamptz[], ${column('updated_at')}::timestamptz[])
    on conflict (organization_id, automation_id, participant_id) do update set
      status = excluded.status, next_trigger_at = excluded.next_trigger_at,
      last_triggered_at = excluded.last_triggered_at, trigger_count = excluded.trigger_count,
      retry_count = excluded.retry_count, last_error = excluded.last_error,
      started_at = excluded.started_at, evaluated_at = excluded.evaluated_at,
      updated_at = excluded.updated_at`.execute(db);
}

/**
 * Takes up to `limit` queued participants off the queue, in the caller's transaction (a rollback
 * puts them back); rows another scheduler took are skipped.
 */
export async function takeStateChanges(db: Database, limit: number) {
  const result = await sql<{ organization_id: string; participant_id: string }>`
    delete from participant_state_changes where (organization_id, id) in (
      select organization_id, id from participant_state_changes limit ${limit} for update skip locked)
    returning organization_id, participant_id`.execute(db);
  return result.rows;
}

/**
 * One active participant_state automation whose full re-evaluation is due (asked for, in progress,
 * never done, or older than `staleBefore`), locked; one another scheduler holds is skipped.
 */
export async function claimRefreshingAutomation(db: Database, staleBefore: Date) {
  const result = await sql<AutomationRow>`
    select * from automations
    where trigger_type = 'participant_state' and status = 'active'
      and (refresh_requested_at is not null or refresh_started_at is not null
        or last_evaluated_at is null or last_evaluated_at < ${staleBefore})
    order by refresh_started_at nulls last, last_evaluated_at nulls first
    limit 1
    for update skip locked`.execute(db);
  return result.rows[0];
}

/** ACTIVE participants enrolled (ACTIVE) in the program, by id after `after`. */
export async function listEnrolledIdsAfter(
  db: Database,
  organizationId: string,
  programId: string,
  after: string | null,
  limit: number,
): Promise<string[]> {
  const result = await sql<{ id: string }>`
    select e.participant_id as id from enrollments e
    join participants p on p.organization_id = e.organization_id and p.id = e.participant_id
    where e.organization_id = ${organizationId} and e.program_id = ${programId}
      and e.status = 'ACTIVE' and p.status = 'ACTIVE'
      ${after === null ? sql`` : sql`and e.participant_id > ${after}::uuid`}
    order by e.participant_id
    limit ${limit}`.execute(db);
  return result.rows.map((row) => row.id);
}

/** Ends the active subscriptions a full re-evaluation started at `since` did not see. */
export async function endUnseenSubscriptions(db: Database, row: AutomationRow, since: Date, now: Date) {
  await sql`update automation_subscriptions set status = 'completed', next_trigger_at = null, updated_at = ${now}
    where organization_id = ${row.organization_id} and automation_id = ${row.id} and status = 'active'
      and (evaluated_at is null or evaluated_at < ${since})`.execute(db);
}

/** Ends every active subscription (the automation is archived). */
export async function endSubscriptions(db: Database, row: AutomationRow, now: Date) {
  await sql`update automation_subscriptions set status = 'completed', next_trigger_at = null, updated_at = ${now}
    where organization_id = ${row.organization_id} and automation_id = ${row.id} and status = 'active'`.execute(
    db,
  );
}

/** Forgets the schedule of every active subscription: the next full re-evaluation counts from then. */
export async function clearSubscriptionSchedules(db: Database, row: AutomationRow, now: Date) {
  await sql`update automation_subscriptions set next_trigger_at = null, updated_at = ${now}
    where organization_id = ${row.organization_id} and automation_id = ${row.id} and status = 'active'`.execute(
    db,
  );
}
