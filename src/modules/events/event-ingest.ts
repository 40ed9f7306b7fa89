// Accepting events: validate each one on its own, check its program, and store the batch with one
// multi-row insert. Idempotency: the unique key (organization, program, idempotency_key) decides which
// request stored an event; every other request with that key compares its payload hash with the
// stored one: the same payload answers the original event, another payload idempotency_conflict.
import { assert } from '../../platform/assert.js';
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { badRequest, DomainError, type ErrorCode } from '../../platform/errors.js';
import { oversizedEventDataJson } from '../../platform/event-data.js';
import type { LogSummary } from '../../platform/http/log-summary.js';
import { compileBodyPartValidator } from '../../platform/http/validation.js';
import { newId } from '../../platform/ids.js';
import { eventsIngested } from '../../platform/metrics.js';
import { readTimestamp } from '../../platform/timestamp.js';
import { type ProgramStatus, readProgramStatus } from '../programs/index.js';
import { canonicalJson, hashCanonicalEvent } from './canonical-payload.js';
import { toAcceptedEvent } from './event-views.js';
import { type AcceptedEvent, type BatchResult, EventInput } from './events.schemas.js';
import type { EventRowToInsert, NewEventRow } from './events.store.js';
import * as store from './events.store.js';

const validateEventInput = compileBodyPartValidator(EventInput);

type ItemResult = { event: AcceptedEvent } | { error: DomainError };

export async function acceptSingleEvent(
  db: Database,
  clock: Clock,
  organizationId: string,
  body: EventInput,
): Promise<AcceptedEvent> {
  const [result] = await acceptEvents(db, clock, organizationId, [body]);
  assert(result !== undefined, 'one event in, one result out');
  if ('error' in result) throw result.error;
  return result.event;
}

export async function acceptEventBatch(
  db: Database,
  clock: Clock,
  organizationId: string,
  items: unknown[],
): Promise<BatchResult> {
  const results = await acceptEvents(db, clock, organizationId, items);
  const batch: BatchResult = { total: items.length, success_count: 0, error_count: 0, results: [] };
  for (const [index, result] of results.entries()) {
    if ('event' in result) {
      batch.success_count += 1;
      batch.results.push({ index, status: 'accepted', event: result.event });
    } else {
      batch.error_count += 1;
      batch.results.push({
        index,
        status: 'error',
        error: result.error.message,
        error_code: result.error.code,
      });
    }
  }
  return batch;
}

/**
 * What the request log keeps of a batch: how many items and their idempotency keys, the outcome
 * counts, and each failed item's index and error code (not the events, which GET /v1/events shows).
 */
export function summarizeBatch(items: unknown[], batch: BatchResult): LogSummary {
  const keys = items.map((item) =>
    typeof item === 'object' && item !== null && 'idempotency_key' in item ? item.idempotency_key : null,
  );
  const errors = batch.results.flatMap((result) =>
    result.status === 'error' ? [{ index: result.index, error_code: result.error_code }] : [],
  );
  const { total, success_count, error_count } = batch;
  return {
    request: { events: items.length, idempotency_keys: keys },
    response: { total, success_count, error_count, errors },
  };
}

/** An event that passed validation; `programError` is set when its program is not ACTIVE. */
interface Candidate {
  row: EventRowToInsert;
  programError: DomainError | undefined;
}

/** A valid item with its event_data in canonical JSON, written once for the size check, hash and row. */
interface CheckedEvent {
  input: EventInput;
  eventDataJson: string;
}

async function acceptEvents(
  db: Database,
  clock: Clock,
  organizationId: string,
  items: unknown[],
): Promise<ItemResult[]> {
  const receivedAt = clock();
  const checked = items.map(checkEventInput);
  const programs = await findPrograms(db, organizationId, checked, receivedAt);
  const prepared: (ItemResult | Candidate)[] = checked.map((item) => {
    if (item instanceof DomainError) return { error: item };
    const programId = item.input.program_id;
    const programError = checkProgram(programs.get(programId.toLowerCase()), programId);
    return { row: toNewRow(organizationId, item, receivedAt, clock()), programError };
  });
  const candidates = prepared.filter((item): item is Candidate => 'row' in item);
  const insertable = candidates.filter((item) => item.programError === undefined).map((item) => item.row);
  const inserted =
    insertable.length === 0 ? new Set<string>() : await store.insertEventsIfAbsent(db, insertable);
  eventsIngested.inc(inserted.size);
  // Replays, and events of a program that stopped accepting: a key stored earlier still answers
  // with its original event, so a client's retry never turns into an error.
  const lookups = candidates.filter((item) => !inserted.has(item.row.id)).map((item) => item.row);
  const existing = lookups.length === 0 ? [] : await store.findEventsByKeys(db, organizationId, lookups);
  const existingByKey = new Map(existing.map((row) => [keyOf(row), row]));
  return prepared.map((item) => {
    if (!('row' in item)) return item;
    const { row, programError } = item;
    if (inserted.has(row.id)) return { event: toAcceptedEvent(row, 'PENDING') };
    const original = existingByKey.get(keyOf(row));
    if (original === undefined) {
      assert(programError !== undefined, 'an event key that was not inserted must exist');
      return { error: programError };
    }
    if (!original.payload_hash.equals(row.payload_hash)) return { error: idempotencyConflict(row) };
    return { event: toAcceptedEvent(original, original.status) };
  });
}

function keyOf(row: { program_id: string; idempotency_key: string }): string {
  return `${row.program_id}\u0000${row.idempotency_key}`;
}

function idempotencyConflict(row: NewEventRow): DomainError {
  return new DomainError(
    'idempotency_conflict',
    `idempotency_key "${row.idempotency_key}" was already used with a different payload in this program`,
    { field: 'idempotency_key', reason: 'conflict' },
  );
}

/** The shape (schema) and the rules between fields that a schema cannot say. */
function checkEventInput(item: unknown): CheckedEvent | DomainError {
  const problems = validateEventInput(item);
  if (problems.length > 0) return badRequest(problems);
  const input = item as EventInput;
  if ((input.external_id === undefined) === (input.participant_id === undefined)) {
    return badRequest([
      {
        field: 'external_id',
        reason: 'invalid',
        message: 'exactly one of external_id or participant_id is required',
      },
    ]);
  }
  if (input.recipient_id !== undefined && input.recipient_external_id !== undefined) {
    return badRequest([
      {
        field: 'recipient_id',
        reason: 'invalid',
        message: 'give at most one of recipient_id or recipient_external_id',
      },
    ]);
  }
  const eventDataJson = canonicalJson(input.event_data);
  return oversizedEventDataJson(eventDataJson, 'event_data') ?? { input, eventDataJson };
}

/** Each program's status by its lowercase id; a program not found is absent. */
async function findPrograms(
  db: Database,
  organizationId: string,
  items: (CheckedEvent | DomainError)[],
  now: Date,
) {
  const ids = new Set<string>();
  for (const item of items) if (!(item instanceof DomainError)) ids.add(item.input.program_id.toLowerCase());
  const found = await Promise.all(
    [...ids].map(async (id) => [id, await readProgramStatus(db, organizationId, id, now)] as const),
  );
  return new Map(found.flatMap(([id, status]) => (status === undefined ? [] : [[id, status] as const])));
}

function checkProgram(status: ProgramStatus | undefined, programId: string): DomainError | undefined {
  if (status === undefined) {
    return new DomainError('not_found', `invalid program_id: program ${programId} not found`, {
      field: 'program_id',
      reason: 'not_found',
    });
  }
  if (status === 'ACTIVE') return undefined;
  const code: ErrorCode = 'program_inactive';
  return new DomainError(code, `program ${programId} is ${status} and accepts no events`, {
    field: 'program_id',
    reason: status.toLowerCase(),
  });
}

function toNewRow(
  organizationId: string,
  { input, eventDataJson }: CheckedEvent,
  receivedAt: Date,
  now: Date,
): EventRowToInsert {
  const participantId = input.participant_id?.toLowerCase() ?? null;
  const eventTimestamp = readTimestamp(input.event_timestamp, 'event_timestamp');
  return {
    organization_id: organizationId,
    id: newId(),
    program_id: input.program_id.toLowerCase(),
    participant_id: participantId,
    external_id: input.external_id ?? null,
    recipient_id: input.recipient_id?.toLowerCase() ?? null,
    recipient_external_id: input.recipient_external_id ?? null,
    // Events of one participant are applied in ingestion order; the key names the participant as sent.
    ordering_key: input.external_id !== undefined ? `x:${input.external_id}` : `p:${participantId}`,
    idempotency_key: input.idempotency_key,
    payload_hash: hashCanonicalEvent(input, eventDataJson, eventTimestamp),
    event_type: 'EXTERNAL',
    event_data: input.event_data,
    event_data_json: eventDataJson,
    event_timestamp: eventTimestamp,
    available_at: now,
    received_at: receivedAt,
    created_at: now,
    updated_at: now,
  };
}
