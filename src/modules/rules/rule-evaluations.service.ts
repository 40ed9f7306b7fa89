// Stored rule evaluations: written in the event's transaction by the event processor, read back by
// GET /v1/events/{id}, one row per event (0010_event_evaluations.sql). The row stays compact: each
// evaluation's id, rule id, rule name and time are derived when read, a status its reason implies is left
// out, each action is stored without its default fields (stored-action.ts), and the rule versions
// evaluated are a rule set the events between two rule changes share (0038_evaluated_rule_sets.sql). Errors and timeouts are hidden unless
// asked for (include_skipped), so they are also counted on each event and per rule, never silent.
import { type RawBuilder, sql } from 'kysely';
import { cached } from '../../platform/cached.js';
import { toIso, toIsoOrNull } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { derivedId } from '../../platform/ids.js';
import {
  ruleErrorsCountedMax,
  ruleErrorWindowMs,
  ruleEvaluationMessageLengthMax,
} from '../../platform/limits.js';
import type { EvaluableRule, RuleEvaluation } from './evaluate-rules.js';
import type { RuleErrorStats, RuleEvaluationView } from './rules.schemas.js';
import * as store from './rules.store.js';
import { compactAction, expandAction } from './stored-action.js';

/** The statuses include_skipped adds: the rule could not be evaluated. */
const errorStatuses = ['SKIPPED_ERROR', 'SKIPPED_TIMEOUT'];

export interface EventEvaluations {
  organizationId: string;
  eventId: string;
  evaluations: RuleEvaluation[];
  /** The rules evaluated: their actions' definitions leave what they say out of the stored row. */
  rules?: readonly EvaluableRule[];
}

/** The evaluations of many events in one statement; an event that evaluated no rule stores nothing. */
export async function recordEventsEvaluations(
  db: Database,
  events: EventEvaluations[],
  evaluatedAt: Date,
): Promise<void> {
  // The events of one program share its rules: each list is indexed by version, and each rule set
  // named, once per call.
  const indexes = new Map<readonly EvaluableRule[], Map<string, EvaluableRule>>();
  const byVersion = (rules: readonly EvaluableRule[]) =>
    cached(indexes, rules, () => new Map(rules.map((rule) => [rule.history_id, rule])));
  const ruleSetIds = new Map<string, string>();
  const ruleSetId = (historyIds: string[]) => cached(ruleSetIds, historyIds.join('/'), ruleSetIdOf);
  await store.insertEvaluations(
    db,
    events
      .filter(({ evaluations }) => evaluations.length > 0)
      .map(({ organizationId, eventId, evaluations, rules = [] }) => {
        const historyIds = evaluations.map((evaluation) => evaluation.rule_history_id);
        return {
          organization_id: organizationId,
          event_id: eventId,
          rule_set_id: ruleSetId(historyIds),
          rule_history_ids: historyIds,
          matched_rule_ids: evaluations
            .filter((evaluation) => evaluation.status === 'MATCHED')
            .map((evaluation) => evaluation.rule_id),
          outcomes: evaluations.map((evaluation) =>
            storedOutcome(evaluation, byVersion(rules).get(evaluation.rule_history_id)),
          ),
          evaluated_at: evaluatedAt,
        };
      }),
  );
}

/**
 * The id of a rule set, the rule versions some events evaluated joined by '/': the same list has the
 * same id (0038_evaluated_rule_sets.sql computes it the same way).
 */
function ruleSetIdOf(historyIds: string): string {
  return derivedId('rule-set', historyIds);
}

/**
 * The outcome as stored: null and empty parts, and a status its reason implies, left out. MATCHED
 * is the only status without a reason and NOT_MATCHED always has one, so neither is stored. Each
 * action leaves out what its definition in `rule` says.
 */
function storedOutcome(evaluation: RuleEvaluation, rule: EvaluableRule | undefined): store.StoredOutcome {
  const outcome: store.StoredOutcome = impliedStatuses.has(evaluation.status)
    ? {}
    : { status: evaluation.status };
  if (evaluation.reason !== null) outcome.reason = evaluation.reason;
  if (evaluation.message !== null)
    outcome.message = evaluation.message.slice(0, ruleEvaluationMessageLengthMax);
  if (evaluation.stopped_by_rule_id !== null) outcome.stopped_by_rule_id = evaluation.stopped_by_rule_id;
  if (evaluation.actions.length > 0)
    outcome.actions = evaluation.actions.map((action, position) =>
      compactAction(action, rule?.actions[position]?.definition),
    );
  return outcome;
}

export async function listRuleEvaluations(
  db: Database,
  organizationId: string,
  eventId: string,
  includeSkipped: boolean,
): Promise<RuleEvaluationView[]> {
  const row = await store.findEvaluations(db, organizationId, eventId);
  if (row === undefined) return [];
  const versions = await store.findRuleVersions(db, organizationId, row.rule_history_ids);
  const createdAt = toIso(row.evaluated_at);
  return row.outcomes
    .map((outcome, position) => {
      const historyId = row.rule_history_ids[position] ?? '';
      const version = versions.get(historyId);
      return {
        id: derivedId(eventId, String(position)),
        rule_id: version?.rule_id ?? '',
        rule_name: version?.name ?? '',
        rule_history_id: historyId,
        status: shownStatus(outcome),
        reason: (outcome.reason ?? null) as RuleEvaluationView['reason'],
        stopped_by_rule_id: outcome.stopped_by_rule_id ?? null,
        error_message: outcome.message ?? null,
        actions: (outcome.actions ?? []).map((action, index) =>
          expandAction(action, version?.actions[index]),
        ),
        created_at: createdAt,
      };
    })
    .filter((evaluation) => includeSkipped || !errorStatuses.includes(evaluation.status));
}

const impliedStatuses = new Set(['MATCHED', 'NOT_MATCHED']);

/** The API's status of a stored outcome (rows before 0027 store every status). */
function shownStatus(outcome: store.StoredOutcome): RuleEvaluationView['status'] {
  const status = outcome.status ?? (outcome.reason === undefined ? 'MATCHED' : 'NOT_MATCHED');
  return (status === 'MATCHED' ? 'SUCCESS' : status) as RuleEvaluationView['status'];
}

/** How many rules each event skipped by an error or a timeout; events without any are left out. */
export async function countSkippedByError(
  db: Database,
  organizationId: string,
  eventIds: string[],
): Promise<Map<string, number>> {
  const rows = await store.countOutcomesByStatus(db, organizationId, eventIds, errorStatuses);
  return new Map(rows.map((row) => [row.event_id, row.count]));
}

/** The rule's errors and timeouts of the last ruleErrorWindowMs, by processing time. */
export async function readRuleErrorStats(
  db: Database,
  organizationId: string,
  ruleId: string,
  now: Date,
): Promise<RuleErrorStats> {
  const since = new Date(now.getTime() - ruleErrorWindowMs);
  const found = await store.findRecentErrors(db, organizationId, ruleId, {
    since,
    countedMax: ruleErrorsCountedMax,
  });
  return {
    since: toIso(since),
    recent_count: found?.count ?? 0,
    last_error: found?.message ?? null,
    last_error_at: toIsoOrNull(found?.evaluated_at ?? null),
  };
}

/**
 * A condition on an events query: the event is one in which `ruleId` matched. The rules module owns
 * the evaluations table, so it writes the SQL; the events module puts it in its WHERE.
 */
export function matchedByRule(organizationId: string, ruleId: string): RawBuilder<boolean> {
  return sql<boolean>`exists (
    select 1 from event_evaluations r
    where r.organization_id = ${organizationId} and r.event_id = events.id
      and r.matched_rule_ids @> array[${ruleId}::uuid])`;
}
