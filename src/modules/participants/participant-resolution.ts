// Resolves the participant an event names (spec 3.4), inside the caller's transaction: by
// participant_id, or by external_id creating it when the program allows. Every resolved participant
// is enrolled in the event's program. The participant row is locked until the transaction ends, so
// two events of one participant are never applied at the same time.

import type { Database } from '../../platform/db/database.js';
import { DomainError } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import { enqueueNotifications } from '../../platform/outbox.js';
import type { ProgramRow } from '../programs/index.js';
import type { ParticipantRow } from './participants.store.js';
import * as store from './participants.store.js';

export interface ParticipantReference {
  participantId: string | null;
  externalId: string | null;
}

/** The participant of an event, or of its recipient; throws a DomainError the event fails with. */
export async function resolveEventParticipant(
  trx: Database,
  program: Pick<ProgramRow, 'organization_id' | 'id' | 'on_unknown_participant'>,
  reference: ParticipantReference,
  now: Date,
  role = 'participant',
): Promise<ParticipantRow> {
  const participant =
    reference.participantId !== null
      ? await lockById(trx, program.organization_id, reference.participantId, role)
      : await findOrCreateByExternalId(trx, program, reference.externalId, now, role);
  await store.enroll(trx, program.organization_id, participant.id, program.id, now);
  return participant;
}

async function lockById(trx: Database, organizationId: string, id: string, role: string) {
  const found = await store.findParticipant(trx, organizationId, id);
  const locked =
    found && (await store.findParticipantByExternalIdForUpdate(trx, organizationId, found.external_id));
  if (!locked || locked.id !== id) throw new DomainError('not_found', `${role} ${id} not found`);
  return locked;
}

async function findOrCreateByExternalId(
  trx: Database,
  program: Pick<ProgramRow, 'organization_id' | 'id' | 'on_unknown_participant'>,
  externalId: string | null,
  now: Date,
  role: string,
): Promise<ParticipantRow> {
  if (externalId === null) throw new DomainError('bad_request', `${role} has neither id nor external_id`);
  const organizationId = program.organization_id;
  const existing = await store.findParticipantByExternalIdForUpdate(trx, organizationId, externalId);
  if (existing !== undefined) return existing;
  if (program.on_unknown_participant === 'REJECT') {
    throw new DomainError(
      'not_found',
      `${role} with external_id "${externalId}" does not exist and the program rejects unknown participants; ` +
        'create the participant, then retry the event',
    );
  }
  const created = await insertParticipant(
    trx,
    newEventParticipant(organizationId, externalId, now),
    program.id,
  );
  // Another transaction created it between the lookup and the insert: take the winner's row.
  return created ?? (await lockExisting(trx, organizationId, externalId));
}

async function lockExisting(trx: Database, organizationId: string, externalId: string) {
  const row = await store.findParticipantByExternalIdForUpdate(trx, organizationId, externalId);
  if (row === undefined) throw new DomainError('conflict', 'participant changed concurrently; retry');
  return row;
}

/** The key of a reference in the answer of lockKnownParticipants. */
export function referenceKey(reference: ParticipantReference): string {
  return reference.participantId !== null
    ? `id:${reference.participantId}`
    : `external:${reference.externalId}`;
}

/**
 * Locks the existing participants a claim's events name (one statement, in external_id order) and
 * reads which of them are enrolled in the program. Unknown references are left out: the caller
 * creates them (createEventParticipants) or leaves them to resolveEventParticipant.
 */
export async function lockKnownParticipants(
  trx: Database,
  organizationId: string,
  programId: string,
  references: ParticipantReference[],
): Promise<{ rows: Map<string, ParticipantRow>; enrolled: Set<string> }> {
  const ids = unique(references.map((reference) => reference.participantId));
  const externalIds = unique(references.map((reference) => reference.externalId));
  const found = await store.lockParticipants(trx, organizationId, ids, externalIds);
  const enrolled = await store.listEnrolled(
    trx,
    organizationId,
    programId,
    found.map((row) => row.id),
  );
  const rows = new Map<string, ParticipantRow>();
  for (const row of found) {
    rows.set(`id:${row.id}`, row);
    rows.set(`external:${row.external_id}`, row);
  }
  return { rows, enrolled: new Set(enrolled) };
}

function unique(values: (string | null)[]): string[] {
  return [...new Set(values.filter((value): value is string => value !== null))];
}

/**
 * Stores participants built by newEventParticipant and enrolls each in its program; answers how
 * many were stored: fewer than given when another transaction created some of those external_ids
 * meanwhile (the caller resolves their events again).
 */
export async function createEventParticipants(
  trx: Database,
  inserts: store.ParticipantInsert[],
  now: Date,
): Promise<number> {
  return (await insertParticipants(trx, inserts, now)).length;
}

/**
 * Inserts a participant unless its external_id exists (then undefined), and writes
 * `participant.created` with it. With `enrolledAt`, the new participant is enrolled in programId
 * by the same statement.
 */
export async function insertParticipant(
  trx: Database,
  row: ParticipantRow,
  programId: string | null,
  enrolledAt?: Date,
): Promise<ParticipantRow | undefined> {
  const [inserted] = await insertParticipants(trx, [{ row, programId }], enrolledAt);
  return inserted;
}

/**
 * Inserts the participants whose external_id is free and writes `participant.created` for each.
 * Every creation goes through here, so the notification is never missed.
 */
async function insertParticipants(
  trx: Database,
  inserts: store.ParticipantInsert[],
  enrolledAt?: Date,
): Promise<ParticipantRow[]> {
  const inserted = await store.insertParticipantsIfAbsent(trx, inserts, enrolledAt);
  const programs = new Map(inserts.map(({ row, programId }) => [row.id, programId]));
  await enqueueNotifications(
    trx,
    inserted.map((row) => ({
      organizationId: row.organization_id,
      topic: 'participant.created',
      now: row.created_at,
      payload: {
        participant_id: row.id,
        external_id: row.external_id,
        status: row.status,
        program_id: programs.get(row.id) ?? null,
        created_at: row.created_at.toISOString(),
      },
    })),
  );
  return inserted;
}

/** Enrolls a participant the caller holds locked. */
export async function enrollParticipant(
  trx: Database,
  participant: Pick<ParticipantRow, 'organization_id' | 'id'>,
  programId: string,
  now: Date,
): Promise<void> {
  await store.enroll(trx, participant.organization_id, participant.id, programId, now);
}

/** A participant an event is about to create, not yet stored. */
export function newEventParticipant(organizationId: string, externalId: string, now: Date): ParticipantRow {
  return {
    organization_id: organizationId,
    id: newId(),
    external_id: externalId,
    status: 'ACTIVE',
    email: null,
    phone: null,
    first_name: null,
    last_name: null,
    display_name: null,
    attributes: {},
    tags: [],
    created_at: now,
    updated_at: now,
  };
}
