// Tier definitions: create, read, update (levels matched by key) and archive.
import type { Clock } from '../../platform/clock.js';
import { toIso } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { isUniqueViolation, withTransaction } from '../../platform/db/transaction.js';
import { parseDurationMs } from '../../platform/duration.js';
import { DomainError, invalidField, notFound } from '../../platform/errors.js';
import { decodeCursor, type PageResult, toPage } from '../../platform/http/pagination.js';
import { newId } from '../../platform/ids.js';
import { levelsPerTierMax, pageSizeDefault, pageSizeMax, tiersPerProgramMax } from '../../platform/limits.js';
import { findProgramRow } from '../programs/index.js';
import type {
  CreateTierBody,
  Level,
  LevelInput,
  LevelPatch,
  Lifecycle,
  Qualification,
  Tier,
  UpdateTierBody,
} from './tiers.schemas.js';
import type { LevelRow, TierRow } from './tiers.store.js';
import * as store from './tiers.store.js';

/** A tier with its levels, sorted by rank ascending. */
export interface TierWithLevels {
  tier: TierRow;
  levels: LevelRow[];
}

function toLevel(row: LevelRow): Level {
  return {
    id: row.id,
    key: row.key,
    rank: row.rank,
    display_name: row.display_name,
    color: row.color,
    icon_url: row.icon_url,
    benefits: row.benefits,
    qualification: row.qualification,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  };
}

export function toTier({ tier, levels }: TierWithLevels): Tier {
  return {
    id: tier.id,
    program_id: tier.program_id,
    key: tier.key,
    display_name: tier.display_name,
    levels: levels.map(toLevel),
    lifecycle: tier.lifecycle,
    status: tier.status,
    ...(tier.archived_at === null ? {} : { archived_at: toIso(tier.archived_at) }),
    created_at: toIso(tier.created_at),
    updated_at: toIso(tier.updated_at),
  };
}

/** `{}` clears a qualification or a lifecycle: both are stored as null. */
function emptyToNull<T extends object>(value: T | object | undefined): T | null {
  return value === undefined || Object.keys(value).length === 0 ? null : (value as T);
}

function conflict(message: string, field: string): DomainError {
  return new DomainError('conflict', message, { field, reason: 'conflict' });
}

/** Level keys and ranks are unique within a tier (also enforced by the database). */
function checkLevels(levels: Pick<LevelRow, 'key' | 'rank'>[]): void {
  if (levels.length > levelsPerTierMax)
    throw invalidField('levels', `a tier has at most ${levelsPerTierMax} levels`, 'too_many');
  const keys = new Set<string>();
  const ranks = new Set<number>();
  for (const level of levels) {
    if (keys.has(level.key)) throw conflict(`level key ${level.key} is used twice`, 'levels');
    if (ranks.has(level.rank)) throw conflict(`rank ${level.rank} is used by two levels`, 'levels');
    keys.add(level.key);
    ranks.add(level.rank);
  }
}

/** What the schema cannot say about a lifecycle: required companions and valid references. */
function checkLifecycle(lifecycle: Lifecycle | null, levels: Pick<LevelRow, 'key'>[]): void {
  if (lifecycle === null) return;
  const { retention, qualification_period: period, downgrade_policy: policy } = lifecycle;
  if (retention.duration !== undefined && parseDurationMs(retention.duration) === undefined)
    throw invalidField('lifecycle.retention.duration', 'must be a Go duration such as "2160h"');
  if (retention.mode === 'ACTIVITY_REFRESH' && retention.duration === undefined)
    throw invalidField('lifecycle.retention.duration', 'ACTIVITY_REFRESH needs a duration', 'required');
  if (period?.type === 'FIXED_YEAR') {
    if (period.start_month === undefined || period.start_day === undefined)
      throw invalidField('lifecycle.qualification_period', 'FIXED_YEAR needs start_month and start_day');
    // Day 29 of February would not exist in most years, so a boundary must exist in every year.
    const daysInMonth = new Date(Date.UTC(2023, period.start_month, 0)).getUTCDate();
    if (period.start_day > daysInMonth)
      throw invalidField('lifecycle.qualification_period.start_day', 'must exist in every year');
  }
  if (policy?.min_level !== undefined && !levels.some((level) => level.key === policy.min_level))
    throw invalidField(
      'lifecycle.downgrade_policy.min_level',
      `${policy.min_level} is not a level of the tier`,
    );
}

function newLevelRow(tier: TierRow, input: LevelInput, now: Date): LevelRow {
  return {
    organization_id: tier.organization_id,
    id: newId(),
    tier_id: tier.id,
    key: input.key,
    rank: input.rank,
    display_name: input.display_name ?? null,
    color: input.color ?? null,
    icon_url: input.icon_url ?? null,
    benefits: input.benefits ?? {},
    qualification: emptyToNull<Qualification>(input.qualification),
    created_at: now,
    updated_at: now,
  };
}

/** Tier changes need an ACTIVE or SUSPENDED program; an ARCHIVED one is frozen. */
async function checkProgramOpen(db: Database, organizationId: string, programId: string): Promise<void> {
  const program = await findProgramRow(db, organizationId, programId);
  if (program.status === 'ARCHIVED')
    throw new DomainError('conflict', 'the program is archived; its tiers cannot change', {
      field: 'program_id',
      reason: 'program_archived',
    });
}

export async function createTier(
  db: Database,
  clock: Clock,
  organizationId: string,
  programId: string,
  body: CreateTierBody,
): Promise<Tier> {
  const lifecycle = emptyToNull<Lifecycle>(body.lifecycle);
  checkLevels(body.levels);
  checkLifecycle(lifecycle, body.levels);
  return withTransaction(db, async (trx) => {
    await checkProgramOpen(trx, organizationId, programId);
    if ((await store.countTiers(trx, organizationId, programId)) >= tiersPerProgramMax)
      throw invalidField('key', `a program has at most ${tiersPerProgramMax} tiers`, 'too_many');
    const now = clock();
    const tier: TierRow = {
      organization_id: organizationId,
      id: newId(),
      program_id: programId,
      key: body.key,
      display_name: body.display_name ?? null,
      lifecycle,
      status: 'ACTIVE',
      archived_at: null,
      created_at: now,
      updated_at: now,
    };
    try {
      await store.insertTier(trx, tier);
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict(`tier ${body.key} already exists in the program`, 'key');
      throw error;
    }
    const levels = body.levels.map((input) => newLevelRow(tier, input, now));
    for (const level of levels) await store.saveLevel(trx, level);
    return toTier({ tier, levels: [...levels].sort((a, b) => a.rank - b.rank) });
  });
}

/** A tier and its levels; another organization's program or an unknown key is not found. */
export async function loadTier(
  db: Database,
  organizationId: string,
  programId: string,
  key: string,
  forUpdate = false,
): Promise<TierWithLevels> {
  await findProgramRow(db, organizationId, programId);
  const tier = await store.findTier(db, organizationId, programId, key, forUpdate);
  if (tier === undefined) throw notFound('tier');
  return { tier, levels: await store.listLevels(db, organizationId, [tier.id]) };
}

/** Every tier of a program with its levels (bounded by tiersPerProgramMax). */
export async function loadProgramTiers(
  db: Database,
  organizationId: string,
  programId: string,
  activeOnly: boolean,
): Promise<TierWithLevels[]> {
  const tiers = await store.listTiers(db, organizationId, programId, {
    limit: tiersPerProgramMax,
    activeOnly,
  });
  const levels = await store.listLevels(
    db,
    organizationId,
    tiers.map((tier) => tier.id),
  );
  return tiers.map((tier) => ({ tier, levels: levels.filter((level) => level.tier_id === tier.id) }));
}

export async function getTier(db: Database, organizationId: string, programId: string, key: string) {
  return toTier(await loadTier(db, organizationId, programId, key));
}

export async function listTiers(
  db: Database,
  organizationId: string,
  programId: string,
  query: { limit?: number | undefined; cursor?: string | undefined },
): Promise<PageResult<Tier>> {
  await findProgramRow(db, organizationId, programId);
  const limit = Math.min(query.limit ?? pageSizeDefault, pageSizeMax);
  const after = decodeCursor(query.cursor, 'tiers:key:asc');
  const rows = await store.listTiers(db, organizationId, programId, {
    after: after === undefined ? undefined : String(after[0]),
    limit,
  });
  const levels = await store.listLevels(
    db,
    organizationId,
    rows.map((tier) => tier.id),
  );
  return toPage(
    rows,
    limit,
    'tiers:key:asc',
    (tier) => [tier.key],
    (tier) => toTier({ tier, levels: levels.filter((level) => level.tier_id === tier.id) }),
  );
}

function patchLevel(current: LevelRow, patch: LevelPatch, now: Date): LevelRow {
  const next: LevelRow = { ...current, updated_at: now };
  if (patch.rank != null) next.rank = patch.rank;
  if (patch.display_name != null) next.display_name = patch.display_name;
  if (patch.color != null) next.color = patch.color === '' ? null : patch.color;
  if (patch.icon_url != null) next.icon_url = patch.icon_url === '' ? null : patch.icon_url;
  if (patch.benefits != null) next.benefits = patch.benefits;
  if (patch.qualification != null) next.qualification = emptyToNull<Qualification>(patch.qualification);
  return next;
}

function mergeLevels(tier: TierRow, current: LevelRow[], patches: LevelPatch[], now: Date): LevelRow[] {
  const merged = new Map(current.map((level) => [level.key, level]));
  const patchedKeys = new Set<string>();
  for (const patch of patches) {
    if (patchedKeys.has(patch.key)) throw conflict(`level key ${patch.key} is used twice`, 'levels');
    patchedKeys.add(patch.key);
    const existing = merged.get(patch.key);
    if (existing !== undefined) {
      merged.set(patch.key, patchLevel(existing, patch, now));
      continue;
    }
    if (patch.rank == null)
      throw invalidField('levels.rank', `new level ${patch.key} needs a rank`, 'required');
    const input: LevelInput = { key: patch.key, rank: patch.rank };
    merged.set(patch.key, patchLevel(newLevelRow(tier, input, now), { ...patch, rank: null }, now));
  }
  return [...merged.values()].sort((a, b) => a.rank - b.rank);
}

export async function updateTier(
  db: Database,
  clock: Clock,
  organizationId: string,
  programId: string,
  key: string,
  body: UpdateTierBody,
): Promise<Tier> {
  return withTransaction(db, async (trx) => {
    await checkProgramOpen(trx, organizationId, programId);
    const { tier, levels } = await loadTier(trx, organizationId, programId, key, true);
    if (tier.status === 'ARCHIVED') throw new DomainError('tier_archived', `tier ${key} is archived`);
    const now = clock();
    const nextLevels = body.levels == null ? levels : mergeLevels(tier, levels, body.levels, now);
    checkLevels(nextLevels);
    const next: TierRow = { ...tier, updated_at: now };
    if (body.display_name != null) next.display_name = body.display_name;
    if (body.lifecycle != null) next.lifecycle = emptyToNull<Lifecycle>(body.lifecycle);
    checkLifecycle(next.lifecycle, nextLevels);
    await store.updateTier(trx, next);
    if (body.levels != null) {
      // Ranks may be swapped in one PATCH: park the old ranks first so no unique check trips midway.
      await store.parkLevelRanks(trx, organizationId, tier.id);
      for (const level of nextLevels) {
        await store.saveLevel(trx, level);
        await store.updateHolderRanks(trx, organizationId, tier.id, level.key, level.rank);
      }
    }
    return toTier({ tier: next, levels: nextLevels });
  });
}

export async function archiveTier(
  db: Database,
  clock: Clock,
  organizationId: string,
  programId: string,
  key: string,
): Promise<Tier> {
  return withTransaction(db, async (trx) => {
    const { tier, levels } = await loadTier(trx, organizationId, programId, key, true);
    if (tier.status === 'ARCHIVED') throw new DomainError('tier_archived', `tier ${key} is already archived`);
    const now = clock();
    const next: TierRow = { ...tier, status: 'ARCHIVED', archived_at: now, updated_at: now };
    await store.updateTier(trx, next);
    return toTier({ tier: next, levels });
  });
}
