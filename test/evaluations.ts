// Rule evaluations stored as the event processor stores them, with the COMPLETED outcome row of
// their event, for tests of how they are read that process no event.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { EvaluableRule, RuleEvaluation } from '../src/modules/rules/evaluate-rules.js';
import { ruleSetsInsert, storedEvaluation } from '../src/modules/rules/index.js';
import type { Database } from '../src/platform/db/database.js';

export interface EventEvaluations {
  organizationId: string;
  eventId: string;
  evaluations: RuleEvaluation[];
  /** The rules evaluated: their actions' definitions leave what they say out of the stored row. */
  rules?: readonly EvaluableRule[];
}

/** One outcome row per event, processed at `processedAt`. */
export async function storeEvaluations(db: Database, events: EventEvaluations[], processedAt: Date) {
  const rows = events.map((event) => ({
    organizationId: event.organizationId,
    evaluation: storedEvaluation(event.evaluations, event.rules ?? []),
  }));
  const evaluated = <T>(value: (evaluation: NonNullable<(typeof rows)[number]['evaluation']>) => T) =>
    rows.map(({ evaluation }) => (evaluation === null ? null : value(evaluation)));
  await sql`with rule_sets as (${ruleSetsInsert(rows)})
    insert into event_outcomes (organization_id, event_id, status, claim_count, processed_at, rule_set_id,
      matched_rule_ids, outcomes)
    select organization_id, event_id, 'COMPLETED', 1, ${processedAt}::timestamptz, rule_set_id,
      matched_rule_ids::uuid[], outcomes::json
    from unnest(${rows.map((row) => row.organizationId)}::uuid[], ${events.map((event) => event.eventId)}::uuid[],
      ${evaluated((evaluation) => evaluation.ruleSetId)}::uuid[],
      ${evaluated((evaluation) => `{${evaluation.matchedRuleIds.join(',')}}`)}::text[],
      ${evaluated((evaluation) => JSON.stringify(evaluation.outcomes))}::text[])
      as x(organization_id, event_id, rule_set_id, matched_rule_ids, outcomes)`.execute(db);
}

/** A rule's evaluation: MATCHED with no action unless `fields` say otherwise, of a random rule version. */
export function ruleEvaluation(fields: Partial<RuleEvaluation>): RuleEvaluation {
  return {
    rule_id: randomUUID(),
    rule_history_id: randomUUID(),
    status: 'MATCHED',
    reason: null,
    message: null,
    stopped_by_rule_id: null,
    actions: [],
    budget_consumption: [],
    ...fields,
  };
}
