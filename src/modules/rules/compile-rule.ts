// A stored rule version becomes an evaluable rule: its condition and action expressions compiled.
// Compiled rules are cached by rule_history_id, which names one immutable version. Pure.
import { invalidField } from '../../platform/errors.js';
import { celCompiledCacheSizeMax } from '../../platform/limits.js';
import { CelCompileError, type CompiledExpression, compileExpression } from './cel-environment.js';
import type { BudgetState, EvaluableRule } from './evaluate-rules.js';
import { type CompiledAction, compileAction } from './rule-actions.js';
import type { Action } from './rules.schemas.js';

export interface RuleVersion {
  id: string;
  history_id: string;
  order: number;
  stop_after_match: boolean;
  active_from: Date | null;
  active_to: Date | null;
  condition: string;
  actions: Action[];
}

/** Compiles a condition, or answers 400 bad_request naming `condition` and the position. */
export function compileCondition(source: string): CompiledExpression {
  try {
    return compileExpression(source, 'condition');
  } catch (error) {
    if (error instanceof CelCompileError) throw invalidField('condition', error.message);
    throw error;
  }
}

export function compileActions(actions: Action[]): CompiledAction[] {
  return actions.map((action, index) => compileAction(action, index));
}

const compiledVersions = new Map<string, { condition: CompiledExpression; actions: CompiledAction[] }>();

/** The rule version with its expressions compiled; budgets are live state and never cached. */
export function compileRule(version: RuleVersion, budgets: BudgetState[]): EvaluableRule {
  let compiled = compiledVersions.get(version.history_id);
  if (compiled === undefined) {
    compiled = { condition: compileCondition(version.condition), actions: compileActions(version.actions) };
    if (compiledVersions.size >= celCompiledCacheSizeMax) {
      const oldest = compiledVersions.keys().next();
      if (oldest.done !== true) compiledVersions.delete(oldest.value);
    }
    compiledVersions.set(version.history_id, compiled);
  }
  return {
    id: version.id,
    history_id: version.history_id,
    order: version.order,
    stop_after_match: version.stop_after_match,
    active_from: version.active_from,
    active_to: version.active_to,
    condition: compiled.condition,
    actions: compiled.actions,
    budgets,
  };
}
