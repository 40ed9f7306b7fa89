import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import { pageNewestFirst } from '../../platform/db/keyset.js';
import { containsPattern } from '../../platform/db/search.js';
import type { ScheduleType, TriggerType } from './automations.schemas.js';

export type ExecutionStatus = 'idle' | 'pending' | 'executing' | 'completed' | 'failed';

export interface AutomationTable {
  organization_id: string;
  id: string;
  program_id: string;
  name: string;
  description: string | null;
  event_name: string;
  payload: Record<string, unknown>;
  scope: 'program' | 'participants';
  trigger_type: TriggerType;
  cron_expression: string | null;
  timezone: string;
  trigger_at: Date | null;
  schedule_type: ScheduleType | null;
  schedule_config: Record<string, unknown> | null;
  participant_filter: string | null;
  guard_condition: string | null;
  filter_hints: Record<string, unknown>[];
  participant_id: string | null;
  status: 'active' | 'paused' | 'archived';
  source: 'api' | 'rule_action';
  source_key: string | null;
  execution_status: ExecutionStatus;
  execution_started_at: Date | null;
  execution_completed_at: Date | null;
  execution_error: string | null;
  error_message: string | null;
  last_error: string | null;
  last_evaluated_at: Date | null;
  last_run_at: Date | null;
  next_run_at: Date | null;
  processed_at: Date | null;
  run_seq: number;
  run_fired_at: Date | null;
  fan_out_after: string | null;
  participants_total: number | null;
  participants_processed: number;
  /** participant_state: a full re-evaluation was asked for (refresh-subscriptions, a PATCH, a resume). */
  refresh_requested_at: Date | null;
  /** participant_state: the full re-evaluation in progress started then, and has passed refresh_after. */
  refresh_started_at: Date | null;
  refresh_after: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface SubscriptionTable {
  organization_id: string;
  id: string;
  automation_id: string;
  participant_id: string;
  status: 'active' | 'completed' | 'failed';
  next_trigger_at: Date | null;
  last_triggered_at: Date | null;
  trigger_count: number;
  retry_count: number;
  last_error: string | null;
  /** INTERVAL counts from here: when the participant (last) began to match. */
  started_at: Date;
  evaluated_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

type Tables = { automations: AutomationTable; automation_subscriptions: SubscriptionTable };
export type AutomationRow = AutomationTable;
export type SubscriptionRow = SubscriptionTable;
export type AutomationChanges = Partial<Omit<AutomationRow, 'organization_id' | 'id' | 'program_id'>>;

const tables = (db: Database) => db.withTables<Tables>();

/** Inserts the row; false when a rule_action automation with its source_key exists already. */
export async function insertAutomation(db: Database, row: AutomationRow): Promise<boolean> {
  const inserted = await tables(db)
    .insertInto('automations')
    .values({
      ...row,
      payload: JSON.stringify(row.payload),
      filter_hints: JSON.stringify(row.filter_hints),
    } as never)
    .onConflict((conflict) => conflict.columns(['organization_id', 'source_key']).doNothing())
    .executeTakeFirst();
  return Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1;
}

export async function findAutomation(
  db: Database,
  organizationId: string,
  programId: string,
  id: string,
  forUpdate = false,
) {
  let query = tables(db)
    .selectFrom('automations')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('program_id', '=', programId)
    .where('id', '=', id);
  if (forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

export async function updateAutomation(
  db: Database,
  row: { organization_id: string; id: string },
  changes: AutomationChanges,
): Promise<AutomationRow> {
  const values: Record<string, unknown> = { ...changes };
  if (changes.payload !== undefined) values.payload = JSON.stringify(changes.payload);
  if (changes.filter_hints !== undefined) values.filter_hints = JSON.stringify(changes.filter_hints);
  if (changes.schedule_config) values.schedule_config = JSON.stringify(changes.schedule_config);
  return tables(db)
    .updateTable('automations')
    .set(values as never)
    .where('organization_id', '=', row.organization_id)
    .where('id', '=', row.id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

interface ListFilter {
  search: string | undefined;
  triggerType: TriggerType | undefined;
  scope: 'program' | 'participants' | undefined;
  status: AutomationRow['status'] | undefined;
  source: AutomationRow['source'] | undefined;
  after: [unknown, unknown] | undefined;
  limit: number;
}

/** Newest first; archived automations only when asked for by status. */
export async function listAutomations(
  db: Database,
  organizationId: string,
  programId: string,
  filter: ListFilter,
) {
  let query = tables(db)
    .selectFrom('automations')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('program_id', '=', programId);
  query =
    filter.status === undefined
      ? query.where('status', '!=', 'archived')
      : query.where('status', '=', filter.status);
  if (filter.search !== undefined) query = query.where('name', 'ilike', containsPattern(filter.search));
  if (filter.triggerType !== undefined) query = query.where('trigger_type', '=', filter.triggerType);
  if (filter.scope !== undefined) query = query.where('scope', '=', filter.scope);
  if (filter.source !== undefined) query = query.where('source', '=', filter.source);
  return pageNewestFirst(query, filter).execute();
}

/** Active automations due at `now` with no run in progress, locked; others' claims are skipped. */
export async function claimDueAutomations(db: Database, now: Date, limit: number) {
  return tables(db)
    .selectFrom('automations')
    .selectAll()
    .where('status', '=', 'active')
    .where('next_run_at', '<=', now)
    .where('execution_status', 'not in', ['pending', 'executing'])
    .orderBy('next_run_at')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
}

/**
 * One automation with a fan-out in progress, locked; one another process holds is skipped.
 * `preferred` comes first when it is one (the fan-out whose next chunk this process has read
 * ahead), then the one advanced longest ago.
 */
export async function claimRunningAutomation(db: Database, preferred: string | undefined) {
  return tables(db)
    .selectFrom('automations')
    .selectAll()
    .where('execution_status', 'in', ['pending', 'executing'])
    .orderBy(sql`case when id = ${preferred ?? null}::uuid then 0 else 1 end`)
    .orderBy('updated_at')
    .limit(1)
    .forUpdate()
    .skipLocked()
    .executeTakeFirst();
}

/** What a participant filter or guard reads of one participant. */
export interface FanOutParticipant {
  id: string;
  tags: string[];
  attributes: Record<string, string>;
  counters: Record<string, string>;
}

/**
 * The counters of participant `p` as a JSON object at `now`: a counter whose reset period has
 * passed reads 0, as the rules see it.
 */
export function participantCountersAt(now: Date) {
  return sql`coalesce((
      select jsonb_object_agg(c.key, case
        when c.reset_after_ms is not null
          and ${now}::timestamptz - c.last_reset_at >= make_interval(secs => c.reset_after_ms / 1000.0)
        then 0 else c.value end)
      from counters c
      where c.organization_id = p.organization_id and c.owner_type = 'PARTICIPANT' and c.owner_id = p.id
    ), '{}'::jsonb)`;
}

/**
 * ACTIVE participants enrolled (ACTIVE) in the program, by id after `after`, with the parts of their
 * state `reads` names (the others empty). Both index scans start at `after`, so every chunk costs
 * the same wherever it is in the program.
 */
export async function listFanOutParticipants(
  db: Database,
  chunk: { organizationId: string; programId: string; after: string | null; limit: number; now: Date },
  reads: { tags: boolean; attributes: boolean; counters: boolean },
): Promise<FanOutParticipant[]> {
  const { organizationId, programId, after, limit, now } = chunk;
  const counters = participantCountersAt(now);
  const result = await sql<FanOutParticipant>`
    select p.id, ${reads.tags ? sql`p.tags` : sql`'{}'::text[]`} as tags,
      ${reads.attributes ? sql`p.attributes` : sql`'{}'::jsonb`} as attributes,
      ${reads.counters ? counters : sql`'{}'::jsonb`} as counters
    from enrollments e
    join participants p on p.organization_id = e.organization_id and p.id = e.participant_id
    where e.organization_id = ${organizationId} and e.program_id = ${programId}
      and e.status = 'ACTIVE' and p.status = 'ACTIVE'
      ${after === null ? sql`` : sql`and e.participant_id > ${after}::uuid and p.id > ${after}::uuid`}
    order by e.participant_id
    limit ${limit}`.execute(db);
  return result.rows;
}

export async function countFanOutParticipants(
  db: Database,
  organizationId: string,
  programId: string,
): Promise<number> {
  const result = await sql<{ count: string }>`
    select count(*) as count from enrollments e
    join participants p on p.organization_id = e.organization_id and p.id = e.participant_id
    where e.organization_id = ${organizationId} and e.program_id = ${programId}
      and e.status = 'ACTIVE' and p.status = 'ACTIVE'`.execute(db);
  return Number(result.rows[0]?.count ?? 0);
}

export async function listSubscriptions(
  db: Database,
  organizationId: string,
  automationId: string,
  filter: {
    status: SubscriptionRow['status'] | undefined;
    after: [unknown, unknown] | undefined;
    limit: number;
  },
) {
  let query = tables(db)
    .selectFrom('automation_subscriptions')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('automation_id', '=', automationId);
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  return pageNewestFirst(query, filter).execute();
}
