// The participant tier endpoints: each write is one transaction around writeLevel, with the calling
// API key as its source.
import { assert } from '../../platform/assert.js';
import type { Clock } from '../../platform/clock.js';
import { toIso, toIsoOrNull } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction } from '../../platform/db/transaction.js';
import { DomainError, invalidField, notFound } from '../../platform/errors.js';
import { readTimestamp } from '../../platform/timestamp.js';
import { findParticipantRow, isEnrolled } from '../participants/index.js';
import { findProgramRow } from '../programs/index.js';
import { baseLevel } from './lifecycle.js';
import { writeLevel } from './tier-state.service.js';
import type { SetTierBody, TierState } from './tiers.schemas.js';
import { loadTier, type TierWithLevels } from './tiers.service.js';
import type { ParticipantTierRow } from './tiers.store.js';
import * as store from './tiers.store.js';

export interface TierCaller {
  db: Database;
  clock: Clock;
  organizationId: string;
  apiKeyId: string;
}

export interface TierTarget {
  participantId: string;
  programId: string;
  key: string;
}

function toTierState(tierKey: string, tierWithLevels: TierWithLevels, row: ParticipantTierRow): TierState {
  const level = tierWithLevels.levels.find((candidate) => candidate.key === row.level_key);
  assert(row.level_key !== null && row.rank !== null, 'tier state is shown only for a held level');
  return {
    key: tierKey,
    level: row.level_key,
    rank: row.rank,
    benefits: level?.benefits ?? {},
    acquired_at: toIso(row.acquired_at ?? row.updated_at),
    expires_at: toIsoOrNull(row.expires_at),
  };
}

/** The participant and program exist in the caller's organization, and the participant is enrolled. */
async function checkEnrolled(db: Database, organizationId: string, participantId: string, programId: string) {
  const participant = await findParticipantRow(db, organizationId, participantId);
  const program = await findProgramRow(db, organizationId, programId);
  if (!(await isEnrolled(db, organizationId, participantId, programId)))
    throw new DomainError('not_found', 'participant is not enrolled in the program', { field: 'program_id' });
  return { participant, program };
}

export async function listParticipantTiers(
  db: Database,
  organizationId: string,
  participantId: string,
  programId: string,
) {
  await checkEnrolled(db, organizationId, participantId, programId);
  const rows = await store.listParticipantTiers(db, organizationId, participantId, programId);
  const tiers = await store.listTiersByIds(
    db,
    organizationId,
    rows.map((row) => row.tier_id),
  );
  const levels = await store.listLevels(
    db,
    organizationId,
    tiers.map((tier) => tier.id),
  );
  const data: TierState[] = [];
  for (const row of rows) {
    const tier = tiers.find((candidate) => candidate.id === row.tier_id);
    if (tier === undefined) continue;
    data.push(
      toTierState(tier.key, { tier, levels: levels.filter((level) => level.tier_id === tier.id) }, row),
    );
  }
  data.sort((a, b) => a.key.localeCompare(b.key));
  return { data, pagination: { has_more: false, next_cursor: null } };
}

export async function getParticipantTier(db: Database, organizationId: string, target: TierTarget) {
  await checkEnrolled(db, organizationId, target.participantId, target.programId);
  const tierWithLevels = await loadTier(db, organizationId, target.programId, target.key);
  const row = await store.findParticipantTier(
    db,
    organizationId,
    target.participantId,
    tierWithLevels.tier.id,
  );
  if (row?.level_key == null) throw notFound('tier level of the participant');
  return toTierState(target.key, tierWithLevels, row);
}

/** PUT and DELETE: ACTIVE participant, ACTIVE program, ACTIVE tier. */
async function openForChange(trx: Database, caller: TierCaller, target: TierTarget) {
  const { participant, program } = await checkEnrolled(
    trx,
    caller.organizationId,
    target.participantId,
    target.programId,
  );
  const tierWithLevels = await loadTier(trx, caller.organizationId, target.programId, target.key, true);
  if (participant.status !== 'ACTIVE')
    throw new DomainError('participant_inactive', `participant is ${participant.status}`);
  if (program.status !== 'ACTIVE')
    throw new DomainError('conflict', `program is ${program.status}`, {
      field: 'program_id',
      reason: 'program_inactive',
    });
  if (tierWithLevels.tier.status === 'ARCHIVED')
    throw new DomainError('tier_archived', `tier ${target.key} is archived`);
  const current = await store.findParticipantTier(
    trx,
    caller.organizationId,
    target.participantId,
    tierWithLevels.tier.id,
    true,
  );
  return { tierWithLevels, current };
}

export async function putParticipantTier(caller: TierCaller, target: TierTarget, body: SetTierBody) {
  return withTransaction(caller.db, async (trx) => {
    const { tierWithLevels, current } = await openForChange(trx, caller, target);
    const level = tierWithLevels.levels.find((candidate) => candidate.key === body.level);
    if (level === undefined)
      throw invalidField('level', `${body.level} is not a level of tier ${target.key}`);
    const now = caller.clock();
    const expiresAt = body.expires_at == null ? null : readTimestamp(body.expires_at, 'expires_at');
    if (expiresAt !== null && expiresAt <= now) throw invalidField('expires_at', 'must be in the future');
    const holder = { organizationId: caller.organizationId, ...target };
    const row = await writeLevel(trx, holder, tierWithLevels, current, {
      kind: 'set',
      target: level,
      now,
      expiresAt,
      source: { apiKeyId: caller.apiKeyId },
    });
    return toTierState(target.key, tierWithLevels, row);
  });
}

/** Back to the base level (rank 0) when the tier has one, else to no level; cancels any expiry. */
export async function deleteParticipantTier(caller: TierCaller, target: TierTarget): Promise<void> {
  await withTransaction(caller.db, async (trx) => {
    const { tierWithLevels, current } = await openForChange(trx, caller, target);
    if (current?.level_key == null) return;
    const holder = { organizationId: caller.organizationId, ...target };
    await writeLevel(trx, holder, tierWithLevels, current, {
      kind: 'delete',
      target: baseLevel(tierWithLevels.levels),
      now: caller.clock(),
      source: { apiKeyId: caller.apiKeyId },
    });
  });
}
