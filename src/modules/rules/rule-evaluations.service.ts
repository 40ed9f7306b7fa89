// Stored rule evaluations: written in the event's transaction by the event processor, read back by
// GET /v1/events/{id}. Skips (time window, budget, stop, errors, timeouts) are kept but hidden
// unless asked for, so an event shows what matched and what was tested without noise.
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

/** The evaluations of many events in one statement. */
export async function recordEventsEvaluations(
  db: Database,
  events: { organizationId: string; eventId: string; evaluations: RuleEvaluation[] }[],
  evaluatedAt: Date,
): Promise<void> {
  await store.insertEvaluations(
    db,
    events.flatMap(({ organizationId, eventId, evaluations }) =>
      evaluations.map((evaluation, position) => ({
        organization_id: organizationId,
        event_id: eventId,
        position,
        rule_id: evaluation.rule_id,
        rule_history_id: evaluation.rule_history_id,
        status: evaluation.status,
        reason: evaluation.reason,
        message: evaluation.message === null ? null : evaluation.message.slice(0, messageLengthMax),
        stopped_by_rule_id: evaluation.stopped_by_rule_id,
        actions: evaluation.actions,
        evaluated_at: evaluatedAt,
      })),
    ),
  );
}

export async function listRuleEvaluations(
  db: Database,
  organizationId: string,
  eventId: string,
  includeSkipped: boolean,
): Promise<RuleEvaluationView[]> {
  const rows = await store.listEvaluations(
    db,
    organizationId,
    eventId,
    includeSkipped ? undefined : shownByDefault,
  );
  return rows.map((row) => ({
    rule_id: row.rule_id,
    rule_history_id: row.rule_history_id,
    status: row.status as RuleEvaluationView['status'],
    reason: row.reason as RuleEvaluationView['reason'],
    message: row.message,
    stopped_by_rule_id: row.stopped_by_rule_id,
    actions: row.actions as Record<string, unknown>[],
    evaluated_at: toIso(row.evaluated_at),
  }));
}

/**
 * A condition on an events query: the event is one in which `ruleId` matched. The rules module owns
 * the evaluations table, so it writes the SQL; the events module puts it in its WHERE.
 */
export function matchedByRule(organizationId: string, ruleId: string): RawBuilder<boolean> {
  return sql<boolean>`exists (
    select 1 from rule_evaluations r
    where r.organization_id = ${organizationId} and r.rule_id = ${ruleId}
      and r.event_id = events.id and r.status = 'MATCHED')`;
}
