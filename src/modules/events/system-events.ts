// SYSTEM events: the follow-ups rules ask for, and the events automations fire. SCHEDULE_EVENT makes
// a one_time automation for a participant, due at `processAt`; BROADCAST an immediate one for every
// ACTIVE participant enrolled in the program. Both are automations with source rule_action, made in
// the event's transaction, so they exist exactly when the event that made them completed, and keyed
// by that event: a retry cannot make them twice. The automation scheduler fires them, like every
// automation, through fireSystemEvents.
import type { Database } from '../../platform/db/database.js';
import { DomainError } from '../../platform/errors.js';
import { oversizedEventDataJson } from '../../platform/event-data.js';
import { newId } from '../../platform/ids.js';
import { createRuleActionAutomation, type FiredEvent, type FireEvents } from '../automations/index.js';
import { findProgramRow } from '../programs/index.js';
import { canonicalJson, hashCanonicalEvent } from './canonical-payload.js';
import { type EventRowToInsert, findEventsByKeys, insertEventsIfAbsent } from './events.store.js';

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
 * whose payload a replay must match. Each event has an ordering key of its own, so a fan-out never
 * holds back a participant's other events.
 */
export const fireSystemEvents: FireEvents = async (trx, events, now) => {
  const first = events[0];
  if (first === undefined) return;
  const program = await findProgramRow(trx, first.organizationId, first.programId);
  if (program.status !== 'ACTIVE') {
    throw new DomainError(
      'program_inactive',
      `program ${program.id} is ${program.status} and accepts no events`,
    );
  }
  const serialized = new Map<Record<string, unknown>, SerializedEventData>();
  const rows = events.map((event) =>
    toFiredRow(event, cached(serialized, event.eventData, serializeEventData), now),
  );
  const inserted = await insertEventsIfAbsent(trx, rows);
  const replays = rows.filter((row) => !inserted.has(row.id));
  if (replays.length === 0) return;
  const stored = await findEventsByKeys(trx, first.organizationId, replays);
  const hashes = new Map(stored.map((row) => [row.idempotency_key, row.payload_hash]));
  for (const row of replays) {
    if (hashes.get(row.idempotency_key)?.equals(row.payload_hash) !== true) {
      throw new DomainError(
        'idempotency_conflict',
        `idempotency_key "${row.idempotency_key}" was used with another payload`,
      );
    }
  }
};

interface SerializedEventData {
  json: string;
  canonical: string;
}

/** A fan-out's events share one event_data: it is checked and serialized once. */
function serializeEventData(eventData: Record<string, unknown>): SerializedEventData {
  const json = JSON.stringify(eventData);
  const oversized = oversizedEventDataJson(json, 'event_data');
  if (oversized) throw oversized;
  return { json, canonical: canonicalJson(eventData) };
}

function cached<K, V>(map: Map<K, V>, key: K, make: (key: K) => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make(key);
    map.set(key, value);
  }
  return value;
}

function toFiredRow(event: FiredEvent, eventData: SerializedEventData, now: Date): EventRowToInsert {
  const payload = {
    program_id: event.programId,
    participant_id: event.participantId ?? undefined,
    event_timestamp: event.eventTimestamp.toISOString(),
    event_data: event.eventData,
  };
  return {
    organization_id: event.organizationId,
    id: newId(),
    program_id: event.programId,
    participant_id: event.participantId,
    external_id: null,
    recipient_id: null,
    recipient_external_id: null,
    ordering_key: `s:${event.idempotencyKey}`,
    idempotency_key: event.idempotencyKey,
    payload_hash: hashCanonicalEvent(payload, eventData.canonical, event.eventTimestamp),
    event_type: 'SYSTEM',
    event_data: event.eventData,
    event_data_json: eventData.json,
    event_timestamp: event.eventTimestamp,
    available_at: now,
    received_at: now,
    created_at: now,
    updated_at: now,
  };
}
