// Automations (spec 2.11, 6.6): scheduled (cron, one_time), immediate and participant_state sources
// of SYSTEM events, made through the API or by the rule actions SCHEDULE_EVENT and BROADCAST
// (source rule_action), and the one scheduler that fires them all.
// Invariants:
// - a run is started by one process (the due row is claimed FOR UPDATE SKIP LOCKED) and numbered
//   (run_seq); its events' idempotency keys name the automation, the run and the participant;
// - a fan-out's events commit together with its cursor (fan_out_after, participants_processed), so
//   each participant of a run gets exactly one event, across crashes and several processes;
// - every CEL condition and cron expression is compiled when saved; archived is terminal;
// - events are written through the events module's ingest checks, given as FireEvents (this module
//   sits below events, which makes the rule_action automations);
// - a participant_state automation has at most one subscription per participant; an occurrence is
//   fired by one scheduler (claimed FOR UPDATE SKIP LOCKED) under a key naming the automation, the
//   subscription and the occurrence, so it is never sent twice; re-evaluation after a state change
//   reads the participant_state_changes queue, never the event engine's work;
// - the same pass resets due rule budgets (the rules module's resetDueBudgets).
export {
  type AutomationScheduler,
  runAutomationPass,
  startAutomationScheduler,
} from './automation-scheduler.js';
export { automationRoutes, automationSchemas } from './automations.routes.js';
export type { FiredEvent, FireEvents, StoreFiredEvents } from './fired-events.js';
export { createRuleActionAutomation, type RuleActionAutomation } from './rule-action-automations.js';
