// Participants and their enrollments in programs. Invariants: external_id is unique per
// organization; tags are stored lower-cased and without duplicates; attributes are strings.

export { type ParticipantReference, resolveEventParticipant } from './participant-resolution.js';
export { type ParticipantRouteDeps, participantRoutes, participantSchemas } from './participants.routes.js';
export {
  findParticipantRow,
  normalizeTags,
  type ParticipantStateReader,
  toParticipantSummary,
} from './participants.service.js';
export type { ParticipantRow } from './participants.store.js';
