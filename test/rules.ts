// Rules for tests of evaluation: versions compiled as loadActiveRules compiles them, each with ids
// of its own.
import { compileRule, type RuleVersion } from '../src/modules/rules/compile-rule.js';
import type { BudgetState, EvaluableRule } from '../src/modules/rules/evaluate-rules.js';
import type { Action } from '../src/modules/rules/rules.schemas.js';

let sequence = 0;

export function testRule(
  condition: string,
  actions: Action[],
  extra: Partial<RuleVersion> = {},
  budgets: BudgetState[] = [],
): EvaluableRule {
  sequence += 1;
  const version: RuleVersion = {
    id: `rule-${sequence}`,
    history_id: `history-${sequence}`,
    order: sequence * 10,
    stop_after_match: false,
    active_from: null,
    active_to: null,
    condition,
    actions,
    ...extra,
  };
  return compileRule(version, budgets);
}
