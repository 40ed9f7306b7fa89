// SQL of the program activity report: events, journal entries and holder postings per program.
import { sql } from 'kysely';
import { assert } from '../../platform/assert.js';
import type { Database } from '../../platform/db/database.js';

export interface ActivityFilter {
  since: Date;
  programId?: string | undefined;
}

const programCondition = (column: string, programId: string | undefined) =>
  programId === undefined ? sql`` : sql`and ${sql.ref(column)} = ${programId}`;

export async function listPrograms(db: Database, organizationId: string, f: ActivityFilter) {
  const result = await sql<{ id: string; name: string }>`select id, name from programs
    where organization_id = ${organizationId} ${programCondition('id', f.programId)}
    order by created_at, id`.execute(db);
  return result.rows;
}

export interface CountRow {
  program_id: string;
  count: string;
  last_at: Date | null;
}

export async function countEvents(db: Database, organizationId: string, f: ActivityFilter) {
  const result = await sql<CountRow>`select program_id, count(*)::text as count, max(created_at) as last_at
    from events where organization_id = ${organizationId} and created_at >= ${f.since}
      ${programCondition('program_id', f.programId)}
    group by program_id`.execute(db);
  return result.rows;
}

export async function countJournalEntries(db: Database, organizationId: string, f: ActivityFilter) {
  const result = await sql<CountRow>`select program_id, count(*)::text as count, max(created_at) as last_at
    from journal_entries where organization_id = ${organizationId} and created_at >= ${f.since}
      and program_id is not null ${programCondition('program_id', f.programId)}
    group by program_id`.execute(db);
  return result.rows;
}

/** Participants with an event of the program or a posting in one of its journal entries. */
export async function countParticipants(db: Database, organizationId: string, f: ActivityFilter) {
  const result = await sql<{
    program_id: string;
    count: string;
  }>`select program_id, count(distinct participant_id)::text as count
    from (
      select program_id, participant_id from events_with_status
        where organization_id = ${organizationId} and created_at >= ${f.since} and participant_id is not null
      union
      select j.program_id, p.owner_id from postings p
        join journal_entries j on j.organization_id = p.organization_id and j.id = p.journal_entry_id
        where p.organization_id = ${organizationId} and p.created_at >= ${f.since}
          and p.owner_type = 'PARTICIPANT' and j.program_id is not null
    ) as seen
    where true ${programCondition('program_id', f.programId)}
    group by program_id`.execute(db);
  return result.rows;
}

export interface AmountRow {
  program_id: string;
  asset_id: string;
  asset_symbol: string;
  scale: number;
  issued: string;
  redeemed: string;
}

/** Holder postings: issued (credits, voided holds) and redeemed (debits and redemptions, net of reversals). */
export async function sumAmounts(db: Database, organizationId: string, f: ActivityFilter) {
  const result = await sql<AmountRow>`select j.program_id, p.asset_id, a.symbol as asset_symbol, a.scale,
      coalesce(sum(p.amount) filter (where j.action_type in ('CREDIT', 'VOID_HOLD')), 0)::text as issued,
      coalesce(-sum(p.amount) filter (where j.action_type in ('DEBIT', 'REDEMPTION', 'REVERSAL')), 0)::text as redeemed
    from postings p
    join journal_entries j on j.organization_id = p.organization_id and j.id = p.journal_entry_id
    join assets a on a.organization_id = p.organization_id and a.id = p.asset_id
    where p.organization_id = ${organizationId} and p.created_at >= ${f.since}
      and p.owner_type in ('PARTICIPANT', 'GROUP') and j.program_id is not null
      ${programCondition('j.program_id', f.programId)}
    group by j.program_id, p.asset_id, a.symbol, a.scale
    order by j.program_id, p.asset_id`.execute(db);
  return result.rows;
}

export interface OverviewCounts {
  participants: string;
  recent_events: string;
  backlog: string;
  failed: string;
}

/**
 * Each count reads an index: enrollments_by_program, events_by_created, the event queue (its events
 * by primary key), event_outcomes_failed (their events by primary key).
 */
export async function countOverview(db: Database, organizationId: string, programId: string, since: Date) {
  const result = await sql<OverviewCounts>`select
    (select count(*) from enrollments
      where organization_id = ${organizationId} and program_id = ${programId})::text as participants,
    (select count(*) from events where organization_id = ${organizationId} and created_at >= ${since}
      and program_id = ${programId})::text as recent_events,
    (select count(*) from event_queue q
      join events e on e.organization_id = q.organization_id and e.id = q.event_id
      where q.organization_id = ${organizationId} and e.program_id = ${programId})::text as backlog,
    (select count(*) from event_outcomes o
      join events e on e.organization_id = o.organization_id and e.id = o.event_id
      where o.status = 'FAILED' and o.organization_id = ${organizationId} and e.program_id = ${programId})::text
      as failed`.execute(db);
  const row = result.rows[0];
  assert(row !== undefined, 'a select without from answers one row');
  return row;
}
