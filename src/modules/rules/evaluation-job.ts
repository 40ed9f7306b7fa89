// What the main thread asks the evaluation thread to do (see evaluation-thread.ts), and how it is
// done. Everything in the messages survives structured cloning (Dates, plain objects). Pure.
import type { CelOutcome, CompiledExpression } from './cel-environment.js';
import { compileRule, type RuleVersion } from './compile-rule.js';
import {
  type BudgetState,
  buildCelBindings,
  type EvaluableRule,
  type EvaluationInput,
  evaluateRule,
  evaluateRules,
  type RuleEvaluation,
} from './evaluate-rules.js';

/** One rule of an event: its version (sent once per thread, then named by history id) and budgets. */
export interface RuleCall {
  history_id: string;
  budgets: BudgetState[];
}

export interface EvaluationJob {
  /** `event`: the rules in order, as an event runs them; `each`: every rule on its own (simulate). */
  mode: 'event' | 'each';
  events: {
    rules: RuleCall[];
    input: EvaluationInput;
    /** Indexes of rules that overran the hard time limit before: they end SKIPPED_TIMEOUT unrun. */
    overrun: number[];
  }[];
}

export interface EvaluationRequest extends EvaluationJob {
  id: number;
  /** Versions the thread has not been sent yet. */
  versions: RuleVersion[];
}

export type EvaluationReply =
  | { id: number; results: RuleEvaluation[][] }
  | { id: number; missing: string[] }
  | { id: number; error: string };

/** Slots of the shared progress array: the event and the rule being evaluated, -1 before the first. */
export const progressEvent = 0;
export const progressRule = 1;

const overrun: CelOutcome = { kind: 'timeout', message: 'evaluation time limit exceeded' };

/**
 * Evaluates every event of the job, writing into `progress` the event and rule it is on (compiling
 * it, running its condition and actions), so that whoever has to stop it can tell which rule held it.
 */
export function runEvaluationJob(
  job: EvaluationJob,
  versionOf: (historyId: string) => RuleVersion,
  progress: Int32Array,
): RuleEvaluation[][] {
  return job.events.map((event, index) => {
    Atomics.store(progress, progressEvent, index);
    Atomics.store(progress, progressRule, -1);
    const rules = event.rules.map((call, ruleIndex) => {
      Atomics.store(progress, progressRule, ruleIndex);
      return tracked(
        compileRule(versionOf(call.history_id), call.budgets),
        ruleIndex,
        progress,
        event.overrun,
      );
    });
    if (job.mode === 'event') return evaluateRules(rules, event.input);
    // Each rule on its own, as simulate shows it: stop_after_match of earlier rules does not apply.
    const bindings = buildCelBindings(event.input);
    return rules.map((rule) => evaluateRule(rule, bindings, event.input.eventTimestamp));
  });
}

/** The rule, reporting progress before its condition; a rule that overran before is not run again. */
function tracked(rule: EvaluableRule, index: number, progress: Int32Array, overran: number[]): EvaluableRule {
  const skip = overran.includes(index);
  const condition: CompiledExpression = {
    source: rule.condition.source,
    run(bindings) {
      Atomics.store(progress, progressRule, index);
      return skip ? overrun : rule.condition.run(bindings);
    },
  };
  return { ...rule, condition };
}

/** The version an evaluable rule was compiled from: what the evaluation thread compiles again. */
export function versionOf(rule: EvaluableRule): RuleVersion {
  return {
    id: rule.id,
    history_id: rule.history_id,
    order: rule.order,
    stop_after_match: rule.stop_after_match,
    active_from: rule.active_from,
    active_to: rule.active_to,
    condition: rule.condition.source,
    actions: rule.actions.map((action) => action.definition),
  };
}
