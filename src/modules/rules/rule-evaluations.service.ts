// Stored rule evaluations: written with the event's outcome row, in the transaction that completes
// it, by the event processor (storedEvaluation, ruleSetsInsert), and read back by GET /v1/events/{id}
// (0038_evaluations_in_outcomes.sql). They stay compact: each evaluation's id, rule id, rule name and
// time are derived when read, a status its reason implies is left out, each action is stored without
// its default fields (stored-action.ts), and the rule versions evaluated are a rule set the events
// between two rule changes share. Errors and timeouts are hidden unless asked for (include_skipped),
// so they are also counted on each event and per rule, never silent.
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

/** One event's evaluations as its outcome row stores them. */
export interface StoredEvaluation {
  /** Names ruleHistoryIds, the versions evaluated in order (ruleSetIdOf). */
  ruleSetId: string;
  ruleHistoryIds: string[];
  matchedRuleIds: string[];
  outcomes: store.StoredOutcome[];
}

// A program's rules stay the same array while unchanged (program-configs.ts in the events module):
// each is indexed by version, and each list of its versions named, once.
const versionIndexes = new WeakMap<readonly EvaluableRule[], Map<string, EvaluableRule>>();
const ruleSetIds = new WeakMap<readonly EvaluableRule[], Map<string, string>>();

/**
 * What the outcome row of an event stores of its evaluations of `rules`: null when it evaluated none.
 * Each action leaves out what its definition in the rule says.
 */
export function storedEvaluation(
  evaluations: RuleEvaluation[],
  rules: readonly EvaluableRule[],
): StoredEvaluation | null {
  if (evaluations.length === 0) return null;
  const byVersion = cached(
    versionIndexes,
    rules,
    () => new Map(rules.map((rule) => [rule.history_id, rule])),
  );
  const ruleHistoryIds = evaluations.map((evaluation) => evaluation.rule_history_id);
  return {
    ruleSetId: cached(
      cached(ruleSetIds, rules, () => new Map()),
      ruleHistoryIds.join('/'),
      ruleSetIdOf,
    ),
    ruleHistoryIds,
    matchedRuleIds: evaluations
      .filter((evaluation) => evaluation.status === 'MATCHED')
      .map((evaluation) => evaluation.rule_id),
    outcomes: evaluations.map((evaluation) =>
      storedOutcome(evaluation, byVersion.get(evaluation.rule_history_id)),
    ),
  };
}

/**
 * The statement that stores the rule sets of `evaluations` not stored yet, for the statement that
 * writes their outcome rows (a common table expression of it).
 */
export function ruleSetsInsert(
  evaluations: { organizationId: string; evaluation: StoredEvaluation | null }[],
): RawBuilder<unknown> {
  const sets = new Map<string, store.RuleSetTable>();
  for (const { organizationId, evaluation } of evaluations) {
    if (evaluation === null) continue;
    sets.set(`${organizationId}/${evaluation.ruleSetId}`, {
      organization_id: organizationId,
      id: evaluation.ruleSetId,
      rule_history_ids: evaluation.ruleHistoryIds,
    });
  }
  return store.ruleSetsInsert([...sets.values()]);
}

/**
 * The id of a rule set, the rule versions some events evaluated joined by '/': the same list has the
 * same id (0038_evaluations_in_outcomes.sql computes it the same way).
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
