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

/**
 * What the evaluation thread is doing, in memory shared with the main thread: the event and rule it
 * is on, and since when (epoch ms) that rule has been running, 0 while nothing runs. Compiling is not
 * timed: it is bounded by the size limits of expressions.
 */
export class EvaluationProgress {
  private readonly slots: Int32Array;
  private readonly since: Float64Array;

  constructor(readonly buffer = new SharedArrayBuffer(16)) {
    this.slots = new Int32Array(buffer, 0, 2);
    this.since = new Float64Array(buffer, 8, 1);
  }

  get event(): number {
    return Atomics.load(this.slots, 0);
  }

  get rule(): number {
    return Atomics.load(this.slots, 1);
  }

  /** When the current rule started running; 0 when none runs. */
  get ruleStartedAt(): number {
    return this.since[0] ?? 0;
  }

  at(event: number, rule: number, running: boolean): void {
    Atomics.store(this.slots, 0, event);
    Atomics.store(this.slots, 1, rule);
    this.since[0] = running ? Date.now() : 0;
  }
}

const overrun: CelOutcome = { kind: 'timeout', message: 'evaluation time limit exceeded' };

/**
 * Evaluates every event of the job, reporting in `progress` the rule it is on, so that whoever has to
 * stop it can tell which rule held it, and for how long.
 */
export function runEvaluationJob(
  job: EvaluationJob,
  versionOf: (historyId: string) => RuleVersion,
  progress: EvaluationProgress,
): RuleEvaluation[][] {
  const results = job.events.map((event, eventIndex) => {
    const rules = event.rules.map((call, ruleIndex) => {
      progress.at(eventIndex, ruleIndex, false);
      const rule = compileRule(versionOf(call.history_id), call.budgets);
      return tracked(rule, { eventIndex, ruleIndex }, progress, event.overrun.includes(ruleIndex));
    });
    if (job.mode === 'event') return evaluateRules(rules, event.input);
    // Each rule on its own, as simulate shows it: stop_after_match of earlier rules does not apply.
    const bindings = buildCelBindings(event.input);
    return rules.map((rule) => evaluateRule(rule, bindings, event.input.eventTimestamp));
  });
  progress.at(-1, -1, false);
  return results;
}

/**
 * The rule, reporting progress as its condition starts (its actions run after it, on its clock); a
 * rule that overran before is not run again.
 */
function tracked(
  rule: EvaluableRule,
  place: { eventIndex: number; ruleIndex: number },
  progress: EvaluationProgress,
  overran: boolean,
): EvaluableRule {
  const condition: CompiledExpression = {
    source: rule.condition.source,
    run(bindings) {
      progress.at(place.eventIndex, place.ruleIndex, true);
      return overran ? overrun : rule.condition.run(bindings);
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
