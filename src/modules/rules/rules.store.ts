import { type RawBuilder, sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import { pageInKeyOrder, pageInSortOrder, type SortDirection } from '../../platform/db/keyset.js';
import { containsPattern } from '../../platform/db/search.js';
import type { Action, ChangeType } from './rules.schemas.js';

export type RuleStatus = 'ACTIVE' | 'SUSPENDED' | 'ARCHIVED';

export interface RuleTable {
  organization_id: string;
  id: string;
  program_id: string;
  name: string;
  description: string | null;
  condition: string;
  actions: Action[];
  order: number;
  status: RuleStatus;
  stop_after_match: boolean;
  active_from: Date | null;
  active_to: Date | null;
  current_history_id: string;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

export interface BudgetTable {
  organization_id: string;
  rule_id: string;
  asset_id: string;
  limit: string;
  consumed: string;
  schedule_type: 'CRON' | 'INTERVAL' | null;
  cron_expression: string | null;
  interval: string | null;
  next_reset_at: Date | null;
}

export interface HistoryTable {
  organization_id: string;
  id: string;
  rule_id: string;
  program_id: string;
  change_type: ChangeType;
  changed_at: Date;
  changed_by_api_key_id: string | null;
  changes: Record<string, { from: unknown; to: unknown }>;
  snapshot: Record<string, unknown>;
}

/**
 * One event's evaluations, a view of its outcome row (0038_evaluations_in_outcomes.sql): outcomes in
 * the order of its rule set's versions. Each evaluation's rule id is its version's
 * (rule_history.rule_id), and its time the event's processing time.
 */
export interface EvaluationTable {
  organization_id: string;
  event_id: string;
  rule_set_id: string;
  evaluated_at: Date;
  matched_rule_ids: string[];
  outcomes: StoredOutcome[];
}

/**
 * The rule versions some events evaluated, in order (0038_evaluations_in_outcomes.sql): written once,
 * named by a hash of the list, so that the events between two changes of a program's rules share one.
 */
export interface RuleSetTable {
  organization_id: string;
  id: string;
  rule_history_ids: string[];
}

/**
 * An evaluation's outcome as stored: null and empty parts left out, and since 0027 the status too
 * when it is MATCHED (no reason) or NOT_MATCHED (a reason, and no status).
 */
export interface StoredOutcome {
  status?: string;
  reason?: string;
  message?: string;
  stopped_by_rule_id?: string;
  /** Without their default fields (stored-action.ts); rows written before 0027 hold them whole. */
  actions?: Record<string, unknown>[];
}

type Tables = {
  rules: RuleTable;
  rule_budgets: BudgetTable;
  rule_history: HistoryTable;
  event_evaluations: EvaluationTable;
  evaluated_rule_sets: RuleSetTable;
};

export type RuleRow = RuleTable;
export type BudgetRow = BudgetTable;
export type HistoryRow = HistoryTable;
/** One event's evaluations as read: the row and the versions its rule set names. */
export type EvaluationRecord = EvaluationTable & Pick<RuleSetTable, 'rule_history_ids'>;

const tables = (db: Database) => db.withTables<Tables>();

/** jsonb columns are written as JSON text: node-postgres would send a JS array as a Postgres array. */
const asJson = (value: unknown) => sql<never>`${JSON.stringify(value)}::jsonb`;

export async function insertRule(db: Database, rule: RuleRow): Promise<void> {
  await tables(db)
    .insertInto('rules')
    .values({ ...rule, actions: asJson(rule.actions) })
    .execute();
}

export async function updateRule(
  db: Database,
  organizationId: string,
  id: string,
  changes: Partial<Omit<RuleRow, 'organization_id' | 'id' | 'program_id' | 'created_at'>>,
): Promise<RuleRow> {
  const values = changes.actions === undefined ? changes : { ...changes, actions: asJson(changes.actions) };
  return tables(db)
    .updateTable('rules')
    .set(values)
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findRule(db: Database, organizationId: string, id: string, forUpdate = false) {
  let query = tables(db)
    .selectFrom('rules')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', '=', id);
  if (forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

/** The highest order among the program's rules that are not archived; 0 when there are none. */
export async function findMaxOrder(db: Database, organizationId: string, programId: string): Promise<number> {
  const row = await tables(db)
    .selectFrom('rules')
    .select((eb) => eb.fn.max('order').as('max_order'))
    .where('organization_id', '=', organizationId)
    .where('program_id', '=', programId)
    .where('status', '!=', 'ARCHIVED')
    .executeTakeFirst();
  return Number(row?.max_order ?? 0);
}

export async function countLiveRules(
  db: Database,
  organizationId: string,
  programId: string,
): Promise<number> {
  const row = await tables(db)
    .selectFrom('rules')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('organization_id', '=', organizationId)
    .where('program_id', '=', programId)
    .where('status', '!=', 'ARCHIVED')
    .executeTakeFirst();
  return Number(row?.count ?? 0);
}

/** The program's ACTIVE rules in order, each saying whether it has budgets. */
export async function listActiveRules(db: Database, organizationId: string, programId: string) {
  return tables(db)
    .selectFrom('rules')
    .selectAll()
    .select((eb) =>
      eb
        .exists(
          eb
            .selectFrom('rule_budgets')
            .select('rule_budgets.rule_id')
            .whereRef('rule_budgets.organization_id', '=', 'rules.organization_id')
            .whereRef('rule_budgets.rule_id', '=', 'rules.id'),
        )
        .as('budgeted'),
    )
    .where('organization_id', '=', organizationId)
    .where('program_id', '=', programId)
    .where('status', '=', 'ACTIVE')
    .orderBy('order', 'asc')
    .execute();
}

export interface RuleFilter {
  programId: string | undefined;
  statuses: RuleStatus[] | undefined;
  search: string | undefined;
  sortBy: 'order' | 'created_at' | 'name';
  sortDir: SortDirection;
  after: [unknown, unknown] | undefined;
  limit: number;
}

export async function listRules(db: Database, organizationId: string, filter: RuleFilter) {
  let query = tables(db).selectFrom('rules').selectAll().where('organization_id', '=', organizationId);
  if (filter.programId) query = query.where('program_id', '=', filter.programId);
  if (filter.statuses) query = query.where('status', 'in', filter.statuses);
  if (filter.search) query = query.where('name', 'ilike', containsPattern(filter.search));
  return pageInSortOrder(query, filter).execute();
}

/** The rules' budgets; `forUpdate` locks them in this order (rule, asset), which avoids deadlocks. */
export async function listBudgets(
  db: Database,
  organizationId: string,
  ruleIds: string[],
  forUpdate = false,
): Promise<BudgetRow[]> {
  if (ruleIds.length === 0) return [];
  const query = tables(db)
    .selectFrom('rule_budgets')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('rule_id', 'in', ruleIds)
    .orderBy('rule_id')
    .orderBy('asset_id');
  return (forUpdate ? query.forUpdate() : query).execute();
}

export async function replaceBudgets(
  db: Database,
  organizationId: string,
  ruleId: string,
  budgets: BudgetRow[],
): Promise<void> {
  // A kept budget is updated in place, not deleted and inserted again: an event's transaction
  // waiting for its lock then reads the new version, where it would skip a deleted row.
  let removed = tables(db)
    .deleteFrom('rule_budgets')
    .where('organization_id', '=', organizationId)
    .where('rule_id', '=', ruleId);
  if (budgets.length > 0)
    removed = removed.where(
      'asset_id',
      'not in',
      budgets.map((budget) => budget.asset_id),
    );
  await removed.execute();
  if (budgets.length === 0) return;
  await tables(db)
    .insertInto('rule_budgets')
    .values(budgets)
    .onConflict((conflict) =>
      conflict.columns(['organization_id', 'rule_id', 'asset_id']).doUpdateSet((row) => ({
        limit: row.ref('excluded.limit'),
        consumed: row.ref('excluded.consumed'),
        schedule_type: row.ref('excluded.schedule_type'),
        cron_expression: row.ref('excluded.cron_expression'),
        interval: row.ref('excluded.interval'),
        next_reset_at: row.ref('excluded.next_reset_at'),
      })),
    )
    .execute();
}

/** Budgets whose reset is due at `now`, locked; those an event or another scheduler holds are skipped. */
export async function claimDueBudgets(db: Database, now: Date, limit: number): Promise<BudgetRow[]> {
  return tables(db)
    .selectFrom('rule_budgets')
    .selectAll()
    .where('next_reset_at', '<=', now)
    .orderBy('next_reset_at')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
}

export async function findBudgetForUpdate(
  db: Database,
  organizationId: string,
  ruleId: string,
  assetId: string,
) {
  return tables(db)
    .selectFrom('rule_budgets')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('rule_id', '=', ruleId)
    .where('asset_id', '=', assetId)
    .forUpdate()
    .executeTakeFirst();
}

export async function updateBudget(
  db: Database,
  budget: Pick<BudgetRow, 'organization_id' | 'rule_id' | 'asset_id' | 'consumed' | 'next_reset_at'>,
): Promise<BudgetRow> {
  return tables(db)
    .updateTable('rule_budgets')
    .set({ consumed: budget.consumed, next_reset_at: budget.next_reset_at })
    .where('organization_id', '=', budget.organization_id)
    .where('rule_id', '=', budget.rule_id)
    .where('asset_id', '=', budget.asset_id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function insertHistory(db: Database, entry: HistoryRow): Promise<void> {
  await tables(db)
    .insertInto('rule_history')
    .values({ ...entry, changes: asJson(entry.changes), snapshot: asJson(entry.snapshot) })
    .execute();
}

export interface HistoryFilter {
  changeType: ChangeType | undefined;
  from: Date | undefined;
  to: Date | undefined;
  sortDir: SortDirection;
  after: [unknown, unknown] | undefined;
  limit: number;
}

export async function listHistory(
  db: Database,
  organizationId: string,
  ruleId: string,
  filter: HistoryFilter,
) {
  let query = tables(db)
    .selectFrom('rule_history')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('rule_id', '=', ruleId);
  if (filter.changeType) query = query.where('change_type', '=', filter.changeType);
  if (filter.from) query = query.where('changed_at', '>=', filter.from);
  if (filter.to) query = query.where('changed_at', '<', filter.to);
  return pageInKeyOrder(query, {
    column: 'changed_at',
    direction: filter.sortDir,
    after: filter.after,
    limit: filter.limit,
  }).execute();
}

/** Inserts the rule sets not stored yet (a common table expression of another statement). */
export function ruleSetsInsert(sets: RuleSetTable[]): RawBuilder<unknown> {
  const uuids = (ids: string[]) => `{${ids.join(',')}}`;
  return sql`insert into evaluated_rule_sets (organization_id, id, rule_history_ids)
    select organization_id, id, rule_history_ids::uuid[]
    from unnest(${sets.map((set) => set.organization_id)}::uuid[], ${sets.map((set) => set.id)}::uuid[],
      ${sets.map((set) => uuids(set.rule_history_ids))}::text[]) as s(organization_id, id, rule_history_ids)
    on conflict do nothing`;
}

/** The event's evaluations with the versions of its rule set. */
export async function findEvaluations(
  db: Database,
  organizationId: string,
  eventId: string,
): Promise<EvaluationRecord | undefined> {
  return tables(db)
    .selectFrom('event_evaluations as e')
    .innerJoin('evaluated_rule_sets as s', (join) =>
      join.onRef('s.organization_id', '=', 'e.organization_id').onRef('s.id', '=', 'e.rule_set_id'),
    )
    .selectAll('e')
    .select('s.rule_history_ids')
    .where('e.organization_id', '=', organizationId)
    .where('e.event_id', '=', eventId)
    .executeTakeFirst();
}

export interface RuleVersionSummary {
  rule_id: string;
  name: string;
  /** The actions as the version defined them. */
  actions: Record<string, unknown>[];
}

/** Each rule version's rule, name and actions (from its history snapshot), by version id. */
export async function findRuleVersions(
  db: Database,
  organizationId: string,
  historyIds: string[],
): Promise<Map<string, RuleVersionSummary>> {
  if (historyIds.length === 0) return new Map();
  const rows = await tables(db)
    .selectFrom('rule_history')
    .select([
      'id',
      'rule_id',
      sql<string>`snapshot->>'name'`.as('name'),
      sql<Record<string, unknown>[]>`coalesce(snapshot->'actions', '[]')`.as('actions'),
    ])
    .where('organization_id', '=', organizationId)
    .where('id', 'in', historyIds)
    .execute();
  return new Map(rows.map(({ id, ...version }) => [id, version]));
}

/** Per event, how many of its outcomes have one of `statuses`; events with none are left out. */
export async function countOutcomesByStatus(
  db: Database,
  organizationId: string,
  eventIds: string[],
  statuses: string[],
): Promise<{ event_id: string; count: number }[]> {
  if (eventIds.length === 0) return [];
  const result = await sql<{ event_id: string; count: number }>`select e.event_id, count(*)::int as count
    from event_evaluations e, json_array_elements(e.outcomes) o
    where e.organization_id = ${organizationId} and e.event_id = any(${eventIds}::uuid[])
      and o->>'status' = any(${statuses}::text[])
    group by e.event_id`.execute(db);
  return result.rows;
}

export interface RecentErrors {
  count: number;
  message: string | null;
  evaluated_at: Date;
}

/**
 * The rule's SKIPPED_ERROR and SKIPPED_TIMEOUT outcomes evaluated since `since`: how many (at most
 * countedMax) and the latest. The partial index event_outcomes_errors holds only the events with
 * such an outcome, by rule set and time (its predicate is repeated here so that it is used), so
 * healthy rules cost nothing; the rule's versions are read from its history, and the rule sets that
 * hold them.
 */
export async function findRecentErrors(
  db: Database,
  organizationId: string,
  ruleId: string,
  window: { since: Date; countedMax: number },
): Promise<RecentErrors | undefined> {
  const result = await sql<RecentErrors>`with versions as materialized (
      select coalesce(array_agg(id), '{}') as ids from rule_history
      where organization_id = ${organizationId} and rule_id = ${ruleId}::uuid),
    rule_sets as materialized (
      select id, rule_history_ids from evaluated_rule_sets
      where organization_id = ${organizationId} and rule_history_ids && (select ids from versions)),
    recent as (
      select e.evaluated_at, o.value->>'message' as message
      from rule_sets s
      join event_evaluations e on e.organization_id = ${organizationId} and e.rule_set_id = s.id
      cross join lateral json_array_elements(e.outcomes) with ordinality as o(value, position)
      where (e.outcomes::jsonb @> '[{"status": "SKIPPED_ERROR"}]'
          or e.outcomes::jsonb @> '[{"status": "SKIPPED_TIMEOUT"}]')
        and e.evaluated_at >= ${window.since}
        and s.rule_history_ids[o.position] = any((select ids from versions)::uuid[])
        and o.value->>'status' in ('SKIPPED_ERROR', 'SKIPPED_TIMEOUT')
      order by e.evaluated_at desc
      limit ${window.countedMax})
    select (select count(*) from recent)::int as count, message, evaluated_at
    from recent order by evaluated_at desc limit 1`.execute(db);
  return result.rows[0];
}
