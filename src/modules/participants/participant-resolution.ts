// Resolves the participant an event names (spec 3.4), inside the caller's transaction: by
// participant_id, or by external_id creating it when the program allows. Every resolved participant
// is enrolled in the event's program. The participant row is locked until the transaction ends, so
// two events of one participant are never applied at the same time.

import type { Database } from '../../platform/db/database.js';
import { DomainError } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
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
  program: Pick<ProgramRow, 'organization_id' | 'on_unknown_participant'>,
  externalId: string | null,
  now: Date,
  role: string,
): Promise<ParticipantRow> {
  if (externalId === null)
    throw new DomainError('validation_error', `${role} has neither id nor external_id`);
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
  const created = await store.insertParticipantIfAbsent(trx, {
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
  });
  // Another transaction created it between the lookup and the insert: take the winner's row.
  return created ?? (await lockExisting(trx, organizationId, externalId));
}

async function lockExisting(trx: Database, organizationId: string, externalId: string) {
  const row = await store.findParticipantByExternalIdForUpdate(trx, organizationId, externalId);
  if (row === undefined) throw new DomainError('conflict', 'participant changed concurrently; retry');
  return row;
}
