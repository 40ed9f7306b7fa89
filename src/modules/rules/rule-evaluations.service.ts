// Stored rule evaluations: written in the event's transaction by the event processor, read back by
// GET /v1/events/{id}, one row per event (0010_event_evaluations.sql). Skips (time window, budget,
// stop, errors, timeouts) are kept but hidden unless asked for, so an event shows what matched and
// what was tested without noise.
import { type RawBuilder, sql } from 'kysely';
import { toIso } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import type { RuleEvaluation } from './evaluate-rules.js';
import type { RuleEvaluationView } from './rules.schemas.js';
import * as store from './rules.store.js';

const shownByDefault = ['MATCHED', 'NOT_MATCHED'];
const messageLengthMax = 1000;

export async function recordRuleEvaluations(
  db: Database,
  organizationId: string,
  eventId: string,
  evaluations: RuleEvaluation[],
  evaluatedAt: Date,
): Promise<void> {
  await recordEventsEvaluations(db, [{ organizationId, eventId, evaluations }], evaluatedAt);
}

/** The evaluations of many events in one statement; an event that evaluated no rule stores nothing. */
export async function recordEventsEvaluations(
  db: Database,
  events: { organizationId: string; eventId: string; evaluations: RuleEvaluation[] }[],
  evaluatedAt: Date,
): Promise<void> {
  await store.insertEvaluations(
    db,
    events
      .filter(({ evaluations }) => evaluations.length > 0)
      .map(({ organizationId, eventId, evaluations }) => ({
        organization_id: organizationId,
        event_id: eventId,
        rule_ids: evaluations.map((evaluation) => evaluation.rule_id),
        rule_history_ids: evaluations.map((evaluation) => evaluation.rule_history_id),
        matched_rule_ids: evaluations
          .filter((evaluation) => evaluation.status === 'MATCHED')
          .map((evaluation) => evaluation.rule_id),
        outcomes: evaluations.map(storedOutcome),
        evaluated_at: evaluatedAt,
      })),
  );
}

function storedOutcome(evaluation: RuleEvaluation): store.StoredOutcome {
  const outcome: store.StoredOutcome = { status: evaluation.status };
  if (evaluation.reason !== null) outcome.reason = evaluation.reason;
  if (evaluation.message !== null) outcome.message = evaluation.message.slice(0, messageLengthMax);
  if (evaluation.stopped_by_rule_id !== null) outcome.stopped_by_rule_id = evaluation.stopped_by_rule_id;
  if (evaluation.actions.length > 0) outcome.actions = evaluation.actions;
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
  const evaluatedAt = toIso(row.evaluated_at);
  return row.outcomes
    .map((outcome, position) => ({
      rule_id: row.rule_ids[position] ?? '',
      rule_history_id: row.rule_history_ids[position] ?? '',
      status: outcome.status as RuleEvaluationView['status'],
      reason: (outcome.reason ?? null) as RuleEvaluationView['reason'],
      message: outcome.message ?? null,
      stopped_by_rule_id: outcome.stopped_by_rule_id ?? null,
      actions: (outcome.actions ?? []) as Record<string, unknown>[],
      evaluated_at: evaluatedAt,
    }))
    .filter((evaluation) => includeSkipped || shownByDefault.includes(evaluation.status));
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
