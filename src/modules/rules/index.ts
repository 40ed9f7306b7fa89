// Rules: a program's CEL conditions and actions, their budgets and versioned history, and their
// evaluation against events. Invariants: two ACTIVE rules of a program never share an order (checked
// by a partial unique index too); every change writes a rule_history row and moves
// current_history_id, so an evaluation names the exact version that ran; ARCHIVED rules and rules
// of archived programs are read-only; every expression is compiled and bounded before it is saved.
// Evaluation is pure and returns actions as data; the server runs it in a worker thread under a hard
// time limit (evaluateRulesIsolated), never on the event loop that serves HTTP. Applying the actions
// (ledger postings, state changes) belongs to the event processor, inside the event's transaction;
// it stores the evaluations here (recordRuleEvaluations) and GET /v1/events/{id} reads them back
// (listRuleEvaluations, schema $ref 'RuleEvaluation').

export { resetDueBudgets } from './budget-resets.js';
export {
  type CelBindings,
  CelCompileError,
  type CompiledExpression,
  compileExpression,
  toCelInput,
  toCelTimestamp,
} from './cel-environment.js';
export type { RuleVersion } from './compile-rule.js';
export {
  type BudgetConsumption,
  type BudgetState,
  type EvaluableRule,
  type EvaluationInput,
  type EvaluationReason,
  type EvaluationStatus,
  evaluateRules,
  type ParticipantState,
  type ProgramState,
  type RuleEvaluation,
} from './evaluate-rules.js';
export {
  countEvaluationProblems,
  evaluateEventsIsolated,
  evaluateRulesIsolated,
  startRuleEvaluation,
} from './evaluation-thread.js';
export {
  amountScaleFailure,
  financialActionTypes,
  type ResolvedAction,
  type ResolvedTarget,
} from './rule-actions.js';
export {
  countSkippedByError,
  listRuleEvaluations,
  matchedByRule,
  ruleSetsInsert,
  type StoredEvaluation,
  storedEvaluation,
} from './rule-evaluations.service.js';
export { ruleRoutes, ruleSchemas } from './rules.routes.js';
export type { RuleEvaluationView } from './rules.schemas.js';
export {
  type ActiveRuleVersion,
  compileActiveRules,
  consumeRuleBudgets,
  loadActiveRules,
  loadActiveRuleVersions,
} from './rules.service.js';
export { parseDuration } from './schedules.js';
