// Participants, their enrollments in programs, and the state of participants and programs: tags,
// counters, attributes and the state history.
// Invariants:
// - external_id is unique per organization.
// - Tags are stored lower-cased, trimmed and without duplicates; attributes are strings. A
//   participant's live on its row, a program's in program_states.
// - Counter values are exact decimals, NUMERIC(38, 18); the API and rules exchange decimal strings
//   (rules also get JS numbers for CEL). A counter with reset_after reads as 0 once that much time
//   has passed since last_reset_at (creation, absolute set, or last auto-reset). Reads never write;
//   the next write applies the reset, records it as auto_reset and restarts the window.
// - Every change of state is recorded in state_history with exactly one source: an event (with the
//   rule that acted), an API key, or a background job (the tier lifecycle). Writes that change
//   nothing record nothing. Tier changes (owned by the tiers module) are recorded here too. The
//   changes one source makes to one owner at one time are stored as one row (state_history_sets),
//   read one change per row through the state_history view.
// - Every state write locks its owner's row first, so one owner's changes apply one at a time.
export {
  commitDraft,
  draftCounterValues,
  draftIncrement,
  draftTag,
  emptyStateWrites,
  type HeldState,
  heldCounterValues,
  heldRuleState,
  heldStateOf,
  loadHeldStates,
  loadProgramHeldState,
  type StateDraft,
  type StateWrites,
  saveStateWrites,
  startDraft,
} from './held-state.js';
export {
  createEventParticipants,
  enrollParticipant,
  lockKnownParticipants,
  newEventParticipant,
  type ParticipantReference,
  referenceKey,
  resolveEventParticipant,
} from './participant-resolution.js';
export { type ParticipantRouteDeps, participantRoutes, participantSchemas } from './participants.routes.js';
export {
  findParticipantByExternalId,
  findParticipantById,
  findParticipantRow,
  isEnrolled,
  type ParticipantStateReader,
  toParticipantSummary,
} from './participants.service.js';
export type { ParticipantInsert, ParticipantRow } from './participants.store.js';
export { stateRoutes } from './state.routes.js';
export {
  applyTag,
  applyUntag,
  deleteAttribute,
  deleteCounter,
  historyRows,
  incrementCounter,
  loadStateForRules,
  mergeAttributes,
  type RuleState,
  recordHistoryRows,
  recordStateChanges,
  replaceTags,
  type StateSource,
  setAttribute,
  setCounter,
} from './state.service.js';
export type { StateHistoryChange, StateOwner } from './state.store.js';
export { normalizeTags } from './tags.js';
