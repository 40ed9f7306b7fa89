// Evaluation of a program's ACTIVE rules against one event (spec 3.2), as data: which rules
// matched, why the others did not, and the resolved actions to apply. Pure: the caller loads the
// rules, state and budgets, and applies the result in the event's transaction.

import { addDecimals, compareDecimals, subtractDecimals } from '../../platform/money.js';
import type { CompiledExpression } from './cel-environment.js';
import { type CelBindings, toCelInput, toCelTimestamp } from './cel-environment.js';
import { costMeter } from './cel-functions.js';
import { type CompiledAction, type ResolvedAction, resolveAction } from './rule-actions.js';

/**
 * MATCHED: the condition held and every action resolved.
 * NOT_MATCHED: CONDITION_FALSE, or MISSING_FIELD (the condition read a field the event lacks).
 * SKIPPED: OUTSIDE_TIME_WINDOW, BUDGET_EXCEEDED, or STOPPED_AFTER_MATCH (see stopped_by_rule_id).
 * SKIPPED_ERROR: EVALUATION_ERROR in the condition or an action value (see message).
 * SKIPPED_TIMEOUT: COST_LIMIT_EXCEEDED.
 */
export type EvaluationStatus = 'MATCHED' | 'NOT_MATCHED' | 'SKIPPED' | 'SKIPPED_ERROR' | 'SKIPPED_TIMEOUT';
export type EvaluationReason =
  | 'CONDITION_FALSE'
  | 'MISSING_FIELD'
  | 'OUTSIDE_TIME_WINDOW'
  | 'BUDGET_EXCEEDED'
  | 'STOPPED_AFTER_MATCH'
  | 'EVALUATION_ERROR'
  | 'COST_LIMIT_EXCEEDED';

/** A budget as evaluation sees it: consumption counts only until `next_reset_at`. */
export interface BudgetState {
  asset_id: string;
  limit: string;
  consumed: string;
  next_reset_at: Date | null;
}

/** One ACTIVE rule, compiled (see `loadActiveRules`). */
export interface EvaluableRule {
  id: string;
  history_id: string;
  order: number;
  stop_after_match: boolean;
  active_from: Date | null;
  active_to: Date | null;
  condition: CompiledExpression;
  actions: CompiledAction[];
  budgets: BudgetState[];
}

export interface ParticipantState {
  tags: string[];
  counters: Record<string, number>;
  attributes: Record<string, string>;
  tiers: Record<string, { level: string; rank: number }>;
  status: 'ACTIVE' | 'SUSPENDED' | 'CLOSED';
  /**
   * The ids of the groups the participant is an ACTIVE member of, oldest membership first. Events
   * always give it; inputs built by hand (tests, benchmarks) may leave it out.
   */
  groups?: string[];
}

export interface ProgramState {
  tags: string[];
  counters: Record<string, number>;
  attributes: Record<string, string>;
}

export interface EvaluationInput {
  /** The event's event_data. */
  eventData: Record<string, unknown>;
  /** The event's event_timestamp: `now` in CEL and the clock of time windows and budgets. */
  eventTimestamp: Date;
  /**
   * null: the event has no participant (a program-scope automation's). CEL then sees `participant`
   * as an empty map, so a condition that reads it is false (MISSING_FIELD), not an error.
   */
  participant: ParticipantState | null;
  program: ProgramState;
}

export interface BudgetConsumption {
  asset_id: string;
  amount: string;
}

export interface RuleEvaluation {
  rule_id: string;
  rule_history_id: string;
  status: EvaluationStatus;
  reason: EvaluationReason | null;
  message: string | null;
  stopped_by_rule_id: string | null;
  /** Resolved actions, in the rule's order; empty unless MATCHED. */
  actions: ResolvedAction[];
  /** What the matched rule takes from its budgets (CREDIT amounts per budgeted asset). */
  budget_consumption: BudgetConsumption[];
}

export function buildCelBindings(input: EvaluationInput): CelBindings {
  return {
    event: toCelInput(input.eventData),
    participant: toCelInput(input.participant ?? {}),
    program: toCelInput(input.program),
    now: toCelTimestamp(input.eventTimestamp),
  };
}

/**
 * Evaluates `rules` (ACTIVE, ascending `order`) in order; one evaluation per rule. The rules share
 * one wall-clock ceiling (celEventEvaluationTimeMaxMs): once it is spent, an expensive rule ends as
 * SKIPPED_TIMEOUT at its first clock reading, while cheap rules still finish.
 */
export function evaluateRules(rules: EvaluableRule[], input: EvaluationInput): RuleEvaluation[] {
  const bindings = buildCelBindings(input);
  const evaluations: RuleEvaluation[] = [];
  let stoppedBy: string | null = null;
  costMeter.beginEvent();
  try {
    for (const rule of rules) {
      if (stoppedBy !== null) {
        evaluations.push({
          ...evaluationOf(rule, 'SKIPPED', 'STOPPED_AFTER_MATCH', null),
          stopped_by_rule_id: stoppedBy,
        });
        continue;
      }
      const evaluation = evaluateRule(rule, bindings, input.eventTimestamp);
      evaluations.push(evaluation);
      if (evaluation.status === 'MATCHED' && rule.stop_after_match) stoppedBy = rule.id;
    }
  } finally {
    costMeter.endEvent();
  }
  return evaluations;
}

/** One rule, ignoring stop_after_match of earlier rules: also what simulate shows. */
export function evaluateRule(
  rule: EvaluableRule,
  bindings: CelBindings,
  eventTimestamp: Date,
): RuleEvaluation {
  const time = eventTimestamp.getTime();
  const outsideWindow =
    (rule.active_from !== null && time < rule.active_from.getTime()) ||
    (rule.active_to !== null && time >= rule.active_to.getTime());
  if (outsideWindow) return evaluationOf(rule, 'SKIPPED', 'OUTSIDE_TIME_WINDOW', null);
  const exhausted = rule.budgets.find(
    (budget) => compareDecimals(remaining(budget, eventTimestamp), '0') <= 0,
  );
  if (exhausted)
    return evaluationOf(
      rule,
      'SKIPPED',
      'BUDGET_EXCEEDED',
      `budget for asset ${exhausted.asset_id} is exhausted`,
    );
  const outcome = rule.condition.run(bindings);
  if (outcome.kind !== 'value') return failed(rule, outcome.kind, outcome.message);
  if (typeof outcome.value !== 'boolean') {
    return evaluationOf(rule, 'SKIPPED_ERROR', 'EVALUATION_ERROR', 'condition did not evaluate to a bool');
  }
  if (!outcome.value) return evaluationOf(rule, 'NOT_MATCHED', 'CONDITION_FALSE', null);
  const actions: ResolvedAction[] = [];
  for (const compiled of rule.actions) {
    const resolution = resolveAction(compiled, bindings, eventTimestamp);
    if (!resolution.ok) {
      const { kind, message } = resolution.failure;
      // A missing field in an action value is an error, not a false condition: the rule did match.
      return failed(rule, kind === 'missing_field' ? 'error' : kind, message);
    }
    actions.push(resolution.action);
  }
  return checkBudgets(rule, actions, eventTimestamp);
}

function remaining(budget: BudgetState, eventTimestamp: Date): string {
  const reset = budget.next_reset_at !== null && budget.next_reset_at.getTime() <= eventTimestamp.getTime();
  return subtractDecimals(budget.limit, reset ? '0' : budget.consumed);
}

/** A rule whose credits would overrun a budget is skipped whole: no partial rewards. */
function checkBudgets(rule: EvaluableRule, actions: ResolvedAction[], eventTimestamp: Date): RuleEvaluation {
  const consumption: BudgetConsumption[] = [];
  for (const budget of rule.budgets) {
    const amount = actions.reduce(
      (sum, action) =>
        action.type === 'CREDIT' && action.asset_id === budget.asset_id
          ? addDecimals(sum, action.amount)
          : sum,
      '0',
    );
    if (compareDecimals(amount, remaining(budget, eventTimestamp)) > 0) {
      const message = `credits of ${amount} exceed the remaining budget for asset ${budget.asset_id}`;
      return evaluationOf(rule, 'SKIPPED', 'BUDGET_EXCEEDED', message);
    }
    if (compareDecimals(amount, '0') > 0) consumption.push({ asset_id: budget.asset_id, amount });
  }
  return { ...evaluationOf(rule, 'MATCHED', null, null), actions, budget_consumption: consumption };
}

function failed(
  rule: EvaluableRule,
  kind: 'missing_field' | 'error' | 'timeout',
  message: string,
): RuleEvaluation {
  if (kind === 'missing_field') return evaluationOf(rule, 'NOT_MATCHED', 'MISSING_FIELD', message);
  if (kind === 'timeout') return evaluationOf(rule, 'SKIPPED_TIMEOUT', 'COST_LIMIT_EXCEEDED', message);
  return evaluationOf(rule, 'SKIPPED_ERROR', 'EVALUATION_ERROR', message);
}

function evaluationOf(
  rule: EvaluableRule,
  status: EvaluationStatus,
  reason: EvaluationReason | null,
  message: string | null,
): RuleEvaluation {
  return {
    rule_id: rule.id,
    rule_history_id: rule.history_id,
    status,
    reason,
    message,
    stopped_by_rule_id: null,
    actions: [],
    budget_consumption: [],
  };
}
