// The rewards catalog of a program: create, read, list and update rewards. Stock (redeemed_count and
// the OUT_OF_STOCK status) is changed by redemptions and reversals, in redemptions.service.ts.
import type { Clock } from '../../platform/clock.js';
import { toIso, toIsoOrNull } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { isUniqueViolation, withTransaction } from '../../platform/db/transaction.js';
import { DomainError, invalidField, notFound } from '../../platform/errors.js';
import { decodeKeyset, type PageResult, toPage } from '../../platform/http/pagination.js';
import { newId } from '../../platform/ids.js';
import { pageSizeDefault, rewardMetadataBytesMax } from '../../platform/limits.js';
import { formatAmount, parseAmount } from '../../platform/money.js';
import { type AssetRow, findAssetRow, findAssetScales, requireLinkedAsset } from '../assets/index.js';
import { findProgramRow } from '../programs/index.js';
import { stockStatus } from './reward-rules.js';
import type { CreateRewardBody, ListRewardsQuery, Reward, UpdateRewardBody } from './rewards.schemas.js';
import type { RewardRow } from './rewards.store.js';
import * as store from './rewards.store.js';

export function toReward(row: RewardRow, scale: number): Reward {
  return {
    id: row.id,
    program_id: row.program_id,
    asset_id: row.asset_id,
    name: row.name,
    description: row.description,
    category: row.category,
    redemption_type: row.redemption_type,
    unit_cost: formatAmount(BigInt(row.unit_cost), scale),
    max_total: row.max_total,
    max_per_participant: row.max_per_participant,
    redeemed_count: row.redeemed_count,
    available_from: toIsoOrNull(row.available_from),
    available_until: toIsoOrNull(row.available_until),
    status: row.status,
    metadata: row.metadata,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  };
}

/** The catalog of an ARCHIVED program is frozen; another organization's program is not found. */
async function requireOpenProgram(db: Database, organizationId: string, programId: string) {
  const program = await findProgramRow(db, organizationId, programId);
  if (program.status === 'ARCHIVED') {
    throw new DomainError('conflict', 'the program is archived; its rewards cannot change', {
      field: 'program_id',
      reason: 'program_archived',
    });
  }
}

/** The rules a whole reward must satisfy, whether just created or after a change. */
function checkReward(row: RewardRow): void {
  if (row.redemption_type === 'AMOUNT_BASED') {
    for (const field of ['max_total', 'max_per_participant'] as const) {
      if (row[field] !== null) throw invalidField(field, 'is not supported for AMOUNT_BASED rewards');
    }
  }
  if (
    row.available_from !== null &&
    row.available_until !== null &&
    row.available_until < row.available_from
  ) {
    throw invalidField('available_until', 'must not be before available_from');
  }
  if (Buffer.byteLength(JSON.stringify(row.metadata)) > rewardMetadataBytesMax) {
    throw invalidField('metadata', `must be at most ${rewardMetadataBytesMax} bytes of JSON`);
  }
}

const dateOrNull = (text: string | null | undefined) => (text ? new Date(text) : null);

function conflictOnName(error: unknown, name: string): never {
  if (isUniqueViolation(error)) {
    throw new DomainError(
      'conflict',
      `a reward named ${JSON.stringify(name)} already exists in the program`,
      {
        field: 'name',
        reason: 'duplicate',
      },
    );
  }
  throw error;
}

export async function createReward(
  db: Database,
  clock: Clock,
  organizationId: string,
  programId: string,
  body: CreateRewardBody,
): Promise<Reward> {
  await requireOpenProgram(db, organizationId, programId);
  const { asset } = await requireLinkedAsset(db, organizationId, programId, body.asset_id);
  const now = clock();
  const row: RewardRow = {
    organization_id: organizationId,
    id: newId(),
    program_id: programId,
    asset_id: asset.id,
    name: body.name,
    description: body.description ?? null,
    category: body.category ?? null,
    redemption_type: body.redemption_type,
    unit_cost: parseAmount(body.unit_cost, asset.scale, 'unit_cost').toString(),
    max_total: body.max_total ?? null,
    max_per_participant: body.max_per_participant ?? null,
    redeemed_count: 0,
    available_from: dateOrNull(body.available_from),
    available_until: dateOrNull(body.available_until),
    status: body.status,
    metadata: body.metadata ?? {},
    created_at: now,
    updated_at: now,
  };
  checkReward(row);
  row.status = stockStatus(row);
  await store.insertReward(db, row).catch((error: unknown) => conflictOnName(error, row.name));
  return toReward(row, asset.scale);
}

/** A reward of the program; an unknown one, or one of another program or organization, is not found. */
export async function findRewardRow(
  db: Database,
  organizationId: string,
  programId: string | undefined,
  rewardId: string,
  forUpdate = false,
): Promise<RewardRow> {
  const row = await store.findReward(db, organizationId, programId, rewardId, forUpdate);
  if (row === undefined) throw notFound('reward');
  return row;
}

export async function getReward(db: Database, organizationId: string, programId: string, rewardId: string) {
  await findProgramRow(db, organizationId, programId);
  const row = await findRewardRow(db, organizationId, programId, rewardId);
  const asset = await findAssetRow(db, organizationId, row.asset_id);
  return toReward(row, asset.scale);
}

export async function updateReward(
  db: Database,
  clock: Clock,
  organizationId: string,
  target: { programId: string; rewardId: string },
  body: UpdateRewardBody,
): Promise<Reward> {
  return withTransaction(db, async (trx) => {
    await requireOpenProgram(trx, organizationId, target.programId);
    const current = await findRewardRow(trx, organizationId, target.programId, target.rewardId, true);
    for (const field of ['redemption_type', 'asset_id'] as const) {
      if (body[field] !== undefined && body[field] !== current[field]) {
        throw invalidField(field, 'cannot change after the reward is created', 'immutable');
      }
    }
    const asset = await findAssetRow(trx, organizationId, current.asset_id);
    const next = mergeChanges(current, body, asset, clock());
    checkReward(next);
    next.status = stockStatus(next);
    const { organization_id: _o, id: _i, program_id: _p, created_at: _c, ...changes } = next;
    const saved = await store
      .updateReward(trx, organizationId, current.id, changes)
      .catch((error: unknown) => conflictOnName(error, next.name));
    return toReward(saved, asset.scale);
  });
}

function mergeChanges(current: RewardRow, body: UpdateRewardBody, asset: AssetRow, now: Date): RewardRow {
  const next: RewardRow = { ...current, updated_at: now };
  if (body.name !== undefined) next.name = body.name;
  if (body.description !== undefined) next.description = body.description;
  if (body.category !== undefined) next.category = body.category;
  if (body.unit_cost !== undefined)
    next.unit_cost = parseAmount(body.unit_cost, asset.scale, 'unit_cost').toString();
  if (body.max_total !== undefined) next.max_total = body.max_total;
  if (body.max_per_participant !== undefined) next.max_per_participant = body.max_per_participant;
  if (body.status !== undefined) next.status = body.status;
  if (body.available_from !== undefined) next.available_from = dateOrNull(body.available_from);
  if (body.available_until !== undefined) next.available_until = dateOrNull(body.available_until);
  if (body.metadata !== undefined) next.metadata = body.metadata;
  return next;
}

export async function listRewards(
  db: Database,
  organizationId: string,
  programId: string,
  query: ListRewardsQuery,
): Promise<PageResult<Reward>> {
  await findProgramRow(db, organizationId, programId);
  const sortBy = query.sort_by ?? 'created_at';
  const sortDir = query.sort_dir ?? 'desc';
  const limit = query.limit ?? pageSizeDefault;
  const scope = `rewards:${programId}:${sortBy}:${sortDir}`;
  const notArchived: RewardRow['status'][] = ['DRAFT', 'ACTIVE', 'OUT_OF_STOCK'];
  const rows = await store.listRewards(db, organizationId, programId, {
    statuses: query.status ? [query.status] : query.include_archived ? undefined : notArchived,
    search: query.search,
    sortBy,
    sortDir,
    after: decodeKeyset(query.cursor, scope),
    limit,
  });
  const scales = await findAssetScales(
    db,
    organizationId,
    rows.map((row) => row.asset_id),
  );
  return toPage(
    rows,
    limit,
    scope,
    (row) => [row[sortBy], row.id],
    (row) => toReward(row, scales.get(row.asset_id) ?? 0),
  );
}
