// SYSTEM events: the follow-ups rules ask for, and the events automations fire. SCHEDULE_EVENT makes
// a one_time automation for a participant, due at `processAt`; BROADCAST an immediate one for every
// ACTIVE participant enrolled in the program. Both are automations with source rule_action, made in
// the event's transaction, so they exist exactly when the event that made them completed, and keyed
// by that event: a retry cannot make them twice. The automation scheduler fires them, like every
// automation, through fireSystemEvents.
import { cached } from '../../platform/cached.js';
import type { Database } from '../../platform/db/database.js';
import { DomainError } from '../../platform/errors.js';
import { oversizedEventDataJson } from '../../platform/event-data.js';
import { newId } from '../../platform/ids.js';
import { createRuleActionAutomation, type FiredEvent, type FireEvents } from '../automations/index.js';
import { findProgramRow } from '../programs/index.js';
import { canonicalJson, hashCanonicalEvent } from './canonical-payload.js';
import { findEventsByKeys, insertSystemEventsIfAbsent, type SystemEventsToInsert } from './events.store.js';

export interface SystemEventDraft {
  /** null: every ACTIVE participant enrolled in the program (BROADCAST). */
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
    await createRuleActionAutomation(trx, {
      organizationId: scope.organizationId,
      programId: scope.programId,
      sourceEventId: scope.eventId,
      ruleId: draft.ruleId,
      eventName: draft.eventName,
      payload: draft.payload,
      participantId: draft.participantId,
      fireAt: draft.processAt ?? scope.now,
      now: scope.now,
    });
  }
}

/**
 * Stores the SYSTEM events an automation fires, with the checks and the idempotency of ingest: the
 * program must accept events, event_data is bounded, and (program, idempotency_key) names one event
 * whose payload a replay must match.
 */
export const fireSystemEvents: FireEvents = (events, now) => {
  const first = events[0];
  if (first === undefined) return async () => {};
  const batch = toSystemEvents(first, events, now);
  return async (trx) => {
    const program = await findProgramRow(trx, first.organizationId, first.programId);
    if (program.status !== 'ACTIVE') {
      throw new DomainError(
        'program_inactive',
        `program ${program.id} is ${program.status} and accepts no events`,
      );
    }
    const inserted = await insertSystemEventsIfAbsent(trx, batch);
    await checkReplays(trx, batch, inserted);
  };
};

/** Events that were there already are replays: their payload must be the stored one. */
async function checkReplays(trx: Database, batch: SystemEventsToInsert, inserted: Set<string>) {
  const replays = batch.events.filter((event) => !inserted.has(event.id));
  if (replays.length === 0) return;
  const stored = await findEventsByKeys(
    trx,
    batch.organizationId,
    replays.map((event) => ({ program_id: batch.programId, idempotency_key: event.idempotencyKey })),
  );
  const hashes = new Map(stored.map((row) => [row.idempotency_key, row.payload_hash]));
  for (const event of replays) {
    if (hashes.get(event.idempotencyKey)?.equals(event.payloadHash) !== true) {
      throw new DomainError(
        'idempotency_conflict',
        `idempotency_key "${event.idempotencyKey}" was used with another payload`,
      );
    }
  }
}

/** The events as stored: a fan-out's events share one event_data, checked and serialized once. */
function toSystemEvents(first: FiredEvent, events: FiredEvent[], now: Date): SystemEventsToInsert {
  const eventData = new Map<Record<string, unknown>, SerializedEventData & { index: number }>();
  const serialized = (data: Record<string, unknown>) =>
    cached(eventData, data, () => ({ ...serializeEventData(data), index: eventData.size }));
  return {
    organizationId: first.organizationId,
    programId: first.programId,
    now,
    events: events.map((event) => {
      const data = serialized(event.eventData);
      return {
        id: newId(),
        participantId: event.participantId,
        idempotencyKey: event.idempotencyKey,
        payloadHash: payloadHashOf(event, data.canonical),
        eventTimestamp: event.eventTimestamp,
        eventData: data.index,
      };
    }),
    eventDataJson: [...eventData.values()].map((data) => data.json),
  };
}

interface SerializedEventData {
  json: string;
  canonical: string;
}

/** Checks the size of one event_data and serializes it, as stored and as hashed. */
function serializeEventData(eventData: Record<string, unknown>): SerializedEventData {
  const json = JSON.stringify(eventData);
  const oversized = oversizedEventDataJson(json, 'event_data');
  if (oversized) throw oversized;
  return { json, canonical: canonicalJson(eventData) };
}

function payloadHashOf(event: FiredEvent, canonicalEventData: string): Buffer {
  const payload = {
    program_id: event.programId,
    participant_id: event.participantId ?? undefined,
    event_timestamp: event.eventTimestamp.toISOString(),
    event_data: event.eventData,
  };
  return hashCanonicalEvent(payload, canonicalEventData, event.eventTimestamp);
}
