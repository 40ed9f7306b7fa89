// Tiers: tier definitions per program (levels, qualification criteria, lifecycle), each participant's
// level per tier, auto-qualification, SET_TIER, and the lifecycle job (expiries, period ends with
// counter rollover, grace and downgrade policies, ACTIVITY_REFRESH lapses).
// Invariants:
// - Tier keys are unique per program; level keys and ranks are unique per tier (also in the database).
// - A participant holds at most one level per tier (one participant_tiers row; level null = none).
// - Archiving is one-way: an archived tier is never assigned again (SET_TIER skips it, PUT/PATCH
//   answer tier_archived, qualification and the job leave it alone); existing state stays readable.
// - Auto-qualification only upgrades; downgrades come only from the lifecycle job or explicit calls.
// - Every level change goes through writeLevel: one state history entry (state_type tier) with its
//   source and one participant.tier_changed outbox row, in the caller's transaction.
// - Period boundaries are 00:00 UTC; the job applies each due moment at its own time, so it is
//   idempotent and catches up after downtime with the same result.
export { runTierLifecycle, startTierLifecycle } from './tier-lifecycle.job.js';
export {
  loadHolderTierRows,
  qualificationWouldWrite,
  type TierPlan,
  tierLevelsForRules,
  tierPlanOf,
} from './tier-plan.js';
export {
  loadTiersForRules,
  qualifyTiers,
  recordActivity,
  saveTierWrites,
  setTierFromRule,
  type TierWrites,
} from './tier-state.service.js';
export { participantTierRoutes, tierRoutes, tierSchemas, tierStateReader } from './tiers.routes.js';
export { loadProgramTiers, type TierWithLevels } from './tiers.service.js';
export type { ParticipantTierRow } from './tiers.store.js';
