import type { Clock } from '../../platform/clock.js';
import { toIso, toIsoOrNull } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction } from '../../platform/db/transaction.js';
import { notFound } from '../../platform/errors.js';
import { decodeKeyset, type PageResult, toPage } from '../../platform/http/pagination.js';
import { newId } from '../../platform/ids.js';
import { pageSizeDefault } from '../../platform/limits.js';
import type { CreateProgramBody, ListProgramsQuery, Program, UpdateProgramBody } from './programs.schemas.js';
import type { ProgramRow } from './programs.store.js';
import * as store from './programs.store.js';

export function toProgram(row: ProgramRow): Program {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    status: row.status,
    on_unknown_participant: row.on_unknown_participant,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
    deleted_at: toIsoOrNull(row.deleted_at),
  };
}

export async function createProgram(
  db: Database,
  clock: Clock,
  organizationId: string,
  body: CreateProgramBody,
) {
  const now = clock();
  const row: ProgramRow = {
    organization_id: organizationId,
    id: newId(),
    name: body.name,
    description: body.description ?? null,
    status: 'ACTIVE',
    on_unknown_participant: body.on_unknown_participant ?? 'CREATE',
    created_at: now,
    updated_at: now,
    deleted_at: null,
  };
  await store.insertProgram(db, row);
  return toProgram(row);
}

/** Any program of the organization, archived ones included; another organization's id is not found. */
export async function findProgramRow(db: Database, organizationId: string, id: string): Promise<ProgramRow> {
  const row = await store.findProgram(db, organizationId, id);
  if (row === undefined) throw notFound('program');
  return row;
}

export async function getProgram(db: Database, organizationId: string, id: string): Promise<Program> {
  return toProgram(await findProgramRow(db, organizationId, id));
}

export async function updateProgram(
  db: Database,
  clock: Clock,
  organizationId: string,
  id: string,
  body: UpdateProgramBody,
): Promise<Program> {
  return withTransaction(db, async (trx) => {
    const current = await store.findProgram(trx, organizationId, id, true);
    if (current === undefined) throw notFound('program');
    const now = clock();
    const changes: Parameters<typeof store.updateProgram>[3] = { updated_at: now };
    if (body.name !== undefined) changes.name = body.name;
    if (body.description !== undefined) changes.description = body.description;
    if (body.on_unknown_participant !== undefined)
      changes.on_unknown_participant = body.on_unknown_participant;
    if (body.status !== undefined && body.status !== current.status) {
      // Archiving hides the program and stamps deleted_at; it is reversible, unlike other archives.
      changes.status = body.status;
      changes.deleted_at = body.status === 'ARCHIVED' ? now : null;
    }
    return toProgram(await store.updateProgram(trx, organizationId, id, changes));
  });
}

export async function listPrograms(
  db: Database,
  organizationId: string,
  query: ListProgramsQuery,
): Promise<PageResult<Program>> {
  const sortBy = query.sort_by ?? 'created_at';
  const sortDir = query.sort_dir ?? 'desc';
  const limit = query.limit ?? pageSizeDefault;
  const scope = `programs:${sortBy}:${sortDir}`;
  const after = decodeKeyset(query.cursor, scope);
  const rows = await store.listPrograms(db, organizationId, {
    statuses: query.status ? [query.status] : query.include_archived ? undefined : ['ACTIVE', 'SUSPENDED'],
    search: query.search,
    sortBy,
    sortDir,
    after,
    limit,
  });
  return toPage(rows, limit, scope, (row) => [row[sortBy], row.id], toProgram);
}
