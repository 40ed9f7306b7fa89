// SYSTEM events: the follow-ups rules ask for. SCHEDULE_EVENT makes one for a participant, processed
// at `processAt`; BROADCAST makes one for every participant enrolled in the program, processed now.
// They are written in the event's transaction, so they exist exactly when the event that made them
// completed, and their idempotency keys derive from that event: a retry cannot make them twice.
import type { Database } from '../../platform/db/database.js';
import { newId } from '../../platform/ids.js';
import { broadcastInsertRowsMax } from '../../platform/limits.js';
import { listEnrolledParticipantIds } from '../participants/index.js';
import { hashEventPayload } from './canonical-payload.js';
import { insertEventsIfAbsent, type NewEventRow } from './events.store.js';

export interface SystemEventDraft {
  /** null: every participant enrolled in the program (BROADCAST). */
  participantId: string | null;
  eventName: string;
  payload: Record<string, unknown>;
  processAt: Date | null;
  ruleId: string;
}

interface SystemEventScope {
  organizationId: string;
  programId: string;
  eventId: string;
  now: Date;
}

export async function scheduleSystemEvents(
  trx: Database,
  scope: SystemEventScope,
  drafts: SystemEventDraft[],
) {
  for (const draft of drafts) {
    const participantIds =
      draft.participantId === null
        ? await listEnrolledParticipantIds(trx, scope.organizationId, scope.programId)
        : [draft.participantId];
    const rows = participantIds.map((participantId, index) => toRow(scope, draft, participantId, index));
    for (let start = 0; start < rows.length; start += broadcastInsertRowsMax) {
      await insertEventsIfAbsent(trx, rows.slice(start, start + broadcastInsertRowsMax));
    }
  }
}

function toRow(
  scope: SystemEventScope,
  draft: SystemEventDraft,
  participantId: string,
  index: number,
): NewEventRow {
  const eventTimestamp = draft.processAt ?? scope.now;
  const idempotencyKey = `system:${scope.eventId}:${draft.ruleId}:${draft.eventName}:${index}`;
  const eventData = { ...draft.payload, event_name: draft.eventName, source_event_id: scope.eventId };
  return {
    organization_id: scope.organizationId,
    id: newId(),
    program_id: scope.programId,
    participant_id: participantId,
    external_id: null,
    recipient_id: null,
    recipient_external_id: null,
    // A key of its own: a follow-up due later must not hold back the participant's other events.
    ordering_key: `s:${idempotencyKey}`,
    idempotency_key: idempotencyKey,
    payload_hash: hashEventPayload({
      program_id: scope.programId,
      participant_id: participantId,
      event_timestamp: eventTimestamp.toISOString(),
      event_data: eventData,
    }),
    event_type: 'SYSTEM',
    event_data: eventData,
    event_timestamp: eventTimestamp,
    available_at: eventTimestamp > scope.now ? eventTimestamp : scope.now,
    received_at: scope.now,
    created_at: scope.now,
    updated_at: scope.now,
  };
}
