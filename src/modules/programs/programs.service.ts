import type { Clock } from '../../platform/clock.js';
import { toIso, toIsoOrNull } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction } from '../../platform/db/transaction.js';
import { invalidField, notFound } from '../../platform/errors.js';
import { decodeKeyset, type PageResult, toPage } from '../../platform/http/pagination.js';
import { newId } from '../../platform/ids.js';
import { pageSizeDefault } from '../../platform/limits.js';
import { TtlCache } from '../../platform/ttl-cache.js';
import type { CreateProgramBody, ListProgramsQuery, Program, UpdateProgramBody } from './programs.schemas.js';
import type { LedgerEntityType, ProgramRow } from './programs.store.js';
import * as store from './programs.store.js';

export function toProgram(row: ProgramRow): Program {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    status: row.status,
    on_unknown_participant: row.on_unknown_participant,
    redemption_target_type: row.redemption_target_type,
    ...(row.redemption_target_entity_id === null
      ? {}
      : { redemption_target_entity_id: row.redemption_target_entity_id }),
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
    deleted_at: toIsoOrNull(row.deleted_at),
  };
}

/**
 * Finds a participant or group of the organization by id. Programs sit below the modules that own
 * those holders, so app.ts hands this down.
 */
export type LedgerEntityFinder = (
  db: Database,
  organizationId: string,
  id: string,
) => Promise<{ type: LedgerEntityType; status: string } | undefined>;

type RedemptionTarget = Pick<
  ProgramRow,
  'redemption_target_type' | 'redemption_target_entity_id' | 'redemption_target_entity_type'
>;

/**
 * The target a request sets, or undefined when it sets none. LEDGER_ENTITY needs its entity in the
 * same request, naming an ACTIVE holder; a SYSTEM_* type takes no entity and drops a stored one.
 */
async function redemptionTargetOf(
  db: Database,
  findEntity: LedgerEntityFinder,
  organizationId: string,
  body: Pick<CreateProgramBody, 'redemption_target_type' | 'redemption_target_entity_id'>,
): Promise<RedemptionTarget | undefined> {
  const type = body.redemption_target_type;
  const entityId = body.redemption_target_entity_id;
  if (type !== 'LEDGER_ENTITY') {
    if (entityId !== undefined) {
      throw invalidField(
        'redemption_target_entity_id',
        'is allowed only with redemption_target_type LEDGER_ENTITY in the same request',
      );
    }
    if (type === undefined) return undefined;
    return {
      redemption_target_type: type,
      redemption_target_entity_id: null,
      redemption_target_entity_type: null,
    };
  }
  if (entityId === undefined) {
    throw invalidField(
      'redemption_target_entity_id',
      'is required with redemption_target_type LEDGER_ENTITY',
      'required',
    );
  }
  const entity = await findEntity(db, organizationId, entityId);
  if (entity === undefined || entity.status !== 'ACTIVE') {
    throw invalidField(
      'redemption_target_entity_id',
      'must name an ACTIVE participant or group of the organization',
    );
  }
  return {
    redemption_target_type: type,
    redemption_target_entity_id: entityId,
    redemption_target_entity_type: entity.type,
  };
}

export async function createProgram(
  db: Database,
  clock: Clock,
  findEntity: LedgerEntityFinder,
  organizationId: string,
  body: CreateProgramBody,
) {
  const now = clock();
  const target = await redemptionTargetOf(db, findEntity, organizationId, body);
  const row: ProgramRow = {
    organization_id: organizationId,
    id: newId(),
    name: body.name,
    description: body.description ?? null,
    status: 'ACTIVE',
    on_unknown_participant: body.on_unknown_participant ?? 'CREATE',
    redemption_target_type: 'SYSTEM_REDEMPTION',
    redemption_target_entity_id: null,
    redemption_target_entity_type: null,
    ...target,
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

/** findProgramRow with the version of the program's rules and tiers (see findProgramWithConfigVersion). */
export async function findProgramRowAndConfigVersion(
  db: Database,
  organizationId: string,
  id: string,
): Promise<{ program: ProgramRow; configVersion: string }> {
  const found = await store.findProgramWithConfigVersion(db, organizationId, id);
  if (found === undefined) throw notFound('program');
  const { config_version: configVersion, ...program } = found;
  return { program, configVersion };
}

export type ProgramStatus = ProgramRow['status'];

/**
 * Each program's status as read at most readCacheTtlMs ago, for event ingest: a program suspended
 * or archived by another process stops accepting events within that bound; by this process, at
 * once. Programs not found are not cached, so a new program accepts events at once.
 */
const statuses = new TtlCache<{ programId: string; status: ProgramStatus }>();

/** The program's status, or undefined when the organization has no such program. */
export async function readProgramStatus(
  db: Database,
  organizationId: string,
  id: string,
  now: Date,
): Promise<ProgramStatus | undefined> {
  const key = `${organizationId}/${id}`;
  const cached = statuses.get(key, now.getTime());
  if (cached !== undefined) return cached.status;
  const row = await store.findProgram(db, organizationId, id);
  if (row === undefined) return undefined;
  statuses.set(key, { programId: row.id, status: row.status }, now.getTime());
  return row.status;
}

export async function getProgram(db: Database, organizationId: string, id: string): Promise<Program> {
  return toProgram(await findProgramRow(db, organizationId, id));
}

export async function updateProgram(
  db: Database,
  clock: Clock,
  findEntity: LedgerEntityFinder,
  organizationId: string,
  id: string,
  body: UpdateProgramBody,
): Promise<Program> {
  const updated = await withTransaction(db, async (trx) => {
    const current = await store.findProgram(trx, organizationId, id, true);
    if (current === undefined) throw notFound('program');
    const now = clock();
    const target = await redemptionTargetOf(trx, findEntity, organizationId, body);
    const changes: Parameters<typeof store.updateProgram>[3] = { updated_at: now, ...target };
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
  statuses.forget((cached) => cached.programId === updated.id);
  return updated;
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
