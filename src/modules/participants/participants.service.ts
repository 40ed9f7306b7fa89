import type { Clock } from '../../platform/clock.js';
import { toIso } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { isUniqueViolation, withTransaction } from '../../platform/db/transaction.js';
import { DomainError, notFound } from '../../platform/errors.js';
import { decodeKeyset, type PageResult, toPage } from '../../platform/http/pagination.js';
import { newId } from '../../platform/ids.js';
import { pageSizeDefault } from '../../platform/limits.js';
import { readOptionalTimestamp } from '../../platform/timestamp.js';
import { findProgramRow } from '../programs/index.js';
import { insertParticipant } from './participant-resolution.js';
import {
  type CreateParticipantBody,
  type ListParticipantsQuery,
  type Participant,
  type ParticipantSummary,
  profileFieldNames,
  type UpdateParticipantBody,
} from './participants.schemas.js';
import type { ParticipantChanges, ParticipantRow, ParticipantStatus } from './participants.store.js';
import * as store from './participants.store.js';
import { listCounterValues, mergeAttributes, replaceTags } from './state.service.js';
import { queueStateChanges } from './state-changes.store.js';

/** State other modules own that the participant view shows: balances and tiers (counters are ours). */
export type ParticipantStateReader = (
  db: Database,
  organizationId: string,
  participantId: string,
) => Promise<Partial<Pick<Participant, 'balances' | 'tiers'>>>;

export function toParticipantSummary(row: ParticipantRow): ParticipantSummary {
  return {
    id: row.id,
    external_id: row.external_id,
    status: row.status,
    email: row.email,
    phone: row.phone,
    first_name: row.first_name,
    last_name: row.last_name,
    display_name: row.display_name,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  };
}

/** Profile fields present in the body; an empty string clears the field. */
function profileChanges(
  body: Partial<Record<(typeof profileFieldNames)[number], string>>,
): ParticipantChanges {
  const changes: ParticipantChanges = {};
  for (const field of profileFieldNames) {
    const value = body[field];
    if (value !== undefined) changes[field] = value === '' ? null : value;
  }
  return changes;
}

export interface UpsertResult {
  participant: Participant;
  created: boolean;
}

/** Who is calling: the organization and the API key, recorded as the source of state changes. */
export interface ApiCaller {
  organizationId: string;
  apiKeyId: string;
}

/**
 * Tags and attributes given with a profile write go through the state functions, so that they are
 * bounded and recorded in the state history like any other change: tags replace, attributes merge.
 */
async function applyProfileState(
  trx: Database,
  caller: ApiCaller,
  participantId: string,
  body: { tags?: string[] | undefined; attributes?: Record<string, string> | undefined },
  now: Date,
): Promise<ParticipantRow> {
  const owner = { organizationId: caller.organizationId, type: 'PARTICIPANT' as const, id: participantId };
  const source = { apiKeyId: caller.apiKeyId };
  if (body.tags !== undefined) await replaceTags(trx, { owner, tags: body.tags, source, now });
  if (body.attributes !== undefined)
    await mergeAttributes(trx, { owner, attributes: body.attributes, source, now });
  return findParticipantRow(trx, caller.organizationId, participantId);
}

export async function upsertParticipant(
  db: Database,
  clock: Clock,
  caller: ApiCaller,
  body: CreateParticipantBody,
  readers: ParticipantStateReader[],
): Promise<UpsertResult> {
  const { organizationId } = caller;
  const { row, created } = await withTransaction(db, async (trx) => {
    if (body.program_id !== undefined) await findProgramRow(trx, organizationId, body.program_id);
    const now = clock();
    const inserted = await insertParticipant(
      trx,
      {
        organization_id: organizationId,
        id: newId(),
        external_id: body.external_id,
        status: body.status ?? 'ACTIVE',
        email: null,
        phone: null,
        first_name: null,
        last_name: null,
        display_name: null,
        ...profileChanges(body),
        attributes: {},
        tags: [],
        created_at: now,
        updated_at: now,
      },
      body.program_id ?? null,
    );
    const upserted = inserted ?? (await updateExisting(trx, now, organizationId, body));
    if (body.program_id !== undefined)
      await store.enroll(trx, organizationId, upserted.id, body.program_id, now);
    const withState = await applyProfileState(trx, caller, upserted.id, body, now);
    return { row: withState, created: inserted !== undefined };
  });
  return { participant: await toParticipant(db, row, readers, clock()), created };
}

async function updateExisting(db: Database, now: Date, organizationId: string, body: CreateParticipantBody) {
  const existing = await store.findParticipantByExternalIdForUpdate(db, organizationId, body.external_id);
  if (existing === undefined) throw new DomainError('conflict', 'participant changed concurrently; retry');
  const changes: ParticipantChanges = { ...profileChanges(body), updated_at: now };
  if (body.status !== undefined) changes.status = body.status;
  const updated = await store.updateParticipant(db, organizationId, existing.id, changes);
  if (updated === undefined) throw notFound('participant');
  return updated;
}

/** Rules target participants by external id (a referrer, say); undefined when there is none. */
export async function findParticipantByExternalId(db: Database, organizationId: string, externalId: string) {
  return store.findParticipantByExternalId(db, organizationId, externalId);
}

/** Who a BROADCAST reaches: every participant enrolled in the program. */
/** The participant with this id in the organization, if any (transfers name who is missing). */
export async function findParticipantById(db: Database, organizationId: string, id: string) {
  return store.findParticipant(db, organizationId, id);
}

export async function findParticipantRow(
  db: Database,
  organizationId: string,
  id: string,
): Promise<ParticipantRow> {
  const row = await store.findParticipant(db, organizationId, id);
  if (row === undefined) throw notFound('participant');
  return row;
}

/** Whether the participant is enrolled in the program (tier state requires it). */
export async function isEnrolled(
  db: Database,
  organizationId: string,
  participantId: string,
  programId: string,
): Promise<boolean> {
  return (await store.listProgramIds(db, organizationId, participantId)).includes(programId);
}

export async function toParticipant(
  db: Database,
  row: ParticipantRow,
  readers: ParticipantStateReader[],
  now: Date,
) {
  const [programIds, counters, ...parts] = await Promise.all([
    store.listProgramIds(db, row.organization_id, row.id),
    listCounterValues(db, { organizationId: row.organization_id, type: 'PARTICIPANT', id: row.id }, now),
    ...readers.map((read) => read(db, row.organization_id, row.id)),
  ]);
  const participant: Participant = {
    ...toParticipantSummary(row),
    attributes: row.attributes,
    tags: row.tags,
    counters,
    balances: [],
    tiers: {},
    program_ids: programIds,
  };
  return Object.assign(participant, ...parts) as Participant;
}

export async function getParticipant(
  db: Database,
  clock: Clock,
  organizationId: string,
  id: string,
  readers: ParticipantStateReader[],
) {
  return toParticipant(db, await findParticipantRow(db, organizationId, id), readers, clock());
}

export async function updateParticipant(
  db: Database,
  clock: Clock,
  caller: ApiCaller,
  id: string,
  body: UpdateParticipantBody,
  readers: ParticipantStateReader[],
): Promise<Participant> {
  const now = clock();
  // status is accepted by the schema for compatibility but only the status endpoint changes it.
  const changes: ParticipantChanges = { ...profileChanges(body), updated_at: now };
  if (body.external_id !== undefined) changes.external_id = body.external_id;
  const row = await withTransaction(db, async (trx) => {
    let updated: ParticipantRow | undefined;
    try {
      updated = await store.updateParticipant(trx, caller.organizationId, id, changes);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw new DomainError('conflict', `external_id ${body.external_id} belongs to another participant`, {
        field: 'external_id',
        reason: 'conflict',
      });
    }
    if (updated === undefined) throw notFound('participant');
    return applyProfileState(trx, caller, id, body, now);
  });
  return toParticipant(db, row, readers, now);
}

export async function updateParticipantStatus(
  db: Database,
  clock: Clock,
  organizationId: string,
  id: string,
  status: ParticipantStatus,
  readers: ParticipantStateReader[],
): Promise<Participant> {
  const row = await withTransaction(db, async (trx) => {
    const updated = await store.updateParticipant(trx, organizationId, id, { status, updated_at: clock() });
    if (updated !== undefined) await queueStateChanges(trx, organizationId, [id]);
    return updated;
  });
  if (row === undefined) throw notFound('participant');
  return toParticipant(db, row, readers, clock());
}

export async function listParticipants(
  db: Database,
  organizationId: string,
  query: ListParticipantsQuery,
): Promise<PageResult<ParticipantSummary>> {
  const sortBy = query.sort_by ?? 'created_at';
  const sortDir = query.sort_dir ?? 'desc';
  const limit = query.limit ?? pageSizeDefault;
  const scope = `participants:${sortBy}:${sortDir}`;
  const after = decodeKeyset(query.cursor, scope);
  const rows = await store.listParticipants(db, organizationId, {
    externalId: query.external_id,
    search: query.search,
    status: query.status,
    programId: query.program_id,
    from: readOptionalTimestamp(query.from, 'from'),
    to: readOptionalTimestamp(query.to, 'to'),
    sortBy,
    sortDir,
    after,
    limit,
  });
  return toPage(rows, limit, scope, (row) => [row[sortBy], row.id], toParticipantSummary);
}
