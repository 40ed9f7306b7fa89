// Participant tier state: the one place a level changes (writeLevel), and the commands built on it
// for the event processor (qualifyTiers, setTierFromRule, recordActivity). All run inside the
// caller's transaction.
import type { Database } from '../../platform/db/database.js';
import { parseDurationMs } from '../../platform/duration.js';
import { DomainError } from '../../platform/errors.js';
import { enqueueNotification, enqueueNotifications, type Notification } from '../../platform/outbox.js';
import {
  historyRows,
  recordHistoryRows,
  type StateHistoryChange,
  type StateSource,
} from '../participants/index.js';
import { addDaysUtc, highestQualifying, type LevelRule, nextPeriodEnd } from './lifecycle.js';
import type { Lifecycle } from './tiers.schemas.js';
import { loadProgramTiers, type TierWithLevels } from './tiers.service.js';
import type { ParticipantTierRow } from './tiers.store.js';
import * as store from './tiers.store.js';

/** How a level changed, as the state history names it (a manual set is 'set', a removal 'delete'). */
export type TierChangeKind = 'upgrade' | 'downgrade' | 'expire' | 'set' | 'delete';

export interface TierHolder {
  organizationId: string;
  programId: string;
  participantId: string;
}

export interface LevelWrite {
  kind: TierChangeKind;
  /** undefined: no level. */
  target: LevelRule | undefined;
  /** When the change takes effect: the processor's clock, or the due time the lifecycle job caught up. */
  now: Date;
  source: StateSource;
  /** Only for 'set': the explicit expiry, replacing any pending one. */
  expiresAt?: Date | null | undefined;
}

/** The ACTIVITY_REFRESH deadline of a level taken or refreshed at `from`: duration plus grace. */
export function lapseDeadline(lifecycle: Lifecycle | null, from: Date): Date | null {
  if (lifecycle?.retention.mode !== 'ACTIVITY_REFRESH') return null;
  const durationMs = parseDurationMs(lifecycle.retention.duration ?? '') ?? 0;
  return addDaysUtc(new Date(from.getTime() + durationMs), lifecycle.downgrade_policy?.grace_days ?? 0);
}

function nextRow(
  holder: TierHolder,
  { tier }: TierWithLevels,
  current: ParticipantTierRow | undefined,
  write: LevelWrite,
): ParticipantTierRow {
  const { target, now, kind } = write;
  const levelChanged = target?.key !== (current?.level_key ?? undefined);
  let expiresAt = current?.expires_at ?? null;
  if (kind === 'set') expiresAt = write.expiresAt ?? null;
  else if (kind !== 'downgrade') expiresAt = null;
  return {
    organization_id: holder.organizationId,
    participant_id: holder.participantId,
    tier_id: tier.id,
    program_id: holder.programId,
    level_key: target?.key ?? null,
    rank: target?.rank ?? null,
    acquired_at: target === undefined ? null : levelChanged ? now : (current?.acquired_at ?? now),
    expires_at: target === undefined ? null : expiresAt,
    // The qualification period runs on whatever the level does; it starts with the first row.
    period_end_at: current?.period_end_at ?? nextPeriodEnd(tier.lifecycle, now) ?? null,
    downgrade_level_key: null,
    downgrade_at: null,
    lapses_at: target === undefined ? null : lapseDeadline(tier.lifecycle, now),
    updated_at: now,
  };
}

/** A level change as stored: the row, and when the level moved its history row and notification. */
interface LevelChange {
  row: ParticipantTierRow;
  history: StateHistoryChange[];
  notification: Notification | undefined;
}

/**
 * Level writes a caller queues and stores later with its other writes (the event engine's claim):
 * rows by participant and tier, the last write of each winning; history rows (which the caller writes
 * with its other state history) and notifications in the order they were made.
 */
export interface TierWrites {
  rows: Map<string, ParticipantTierRow>;
  history: StateHistoryChange[];
  notifications: Notification[];
}

/** The level change a write makes. A write that leaves the level as it was records nothing. */
function levelChange(
  holder: TierHolder,
  tierWithLevels: TierWithLevels,
  current: ParticipantTierRow | undefined,
  write: LevelWrite,
): LevelChange {
  const row = nextRow(holder, tierWithLevels, current, write);
  const previous = current?.level_key ?? null;
  if (row.level_key === previous) return { row, history: [], notification: undefined };
  const tierKey = tierWithLevels.tier.key;
  const owner = {
    organizationId: holder.organizationId,
    type: 'PARTICIPANT' as const,
    id: holder.participantId,
  };
  const history = historyRows(owner, { ...write.source, programId: holder.programId }, write.now, [
    { stateType: 'tier', key: tierKey, operation: write.kind, oldValue: previous, newValue: row.level_key },
  ]);
  const notification = {
    organizationId: holder.organizationId,
    topic: 'participant.tier_changed',
    now: write.now,
    payload: {
      participant_id: holder.participantId,
      program_id: holder.programId,
      tier: tierKey,
      change: write.kind,
      previous_level: previous,
      previous_rank: current?.rank ?? null,
      level: row.level_key,
      rank: row.rank,
      changed_at: write.now.toISOString(),
    },
  };
  return { row, history, notification };
}

/**
 * Writes a level change, records it in the state history and raises participant.tier_changed. A
 * write that leaves the level as it was records nothing (a PUT may still replace the expiry).
 */
export async function writeLevel(
  trx: Database,
  holder: TierHolder,
  tierWithLevels: TierWithLevels,
  current: ParticipantTierRow | undefined,
  write: LevelWrite,
): Promise<ParticipantTierRow> {
  const change = levelChange(holder, tierWithLevels, current, write);
  await storeLevelChange(trx, change);
  return change.row;
}

async function storeLevelChange(trx: Database, change: LevelChange): Promise<void> {
  await store.saveParticipantTier(trx, change.row);
  await recordHistoryRows(trx, change.history);
  if (change.notification !== undefined) await enqueueNotification(trx, change.notification);
}

function queueLevelChange(queue: TierWrites, change: LevelChange): void {
  queue.rows.set(`${change.row.participant_id}:${change.row.tier_id}`, change.row);
  queue.history.push(...change.history);
  if (change.notification !== undefined) queue.notifications.push(change.notification);
}

/**
 * Stores queued level writes: the rows in one statement, in the order of their keys, then the
 * notifications; empties them. The queued history is the caller's to write with its other state
 * history (the claim puts it in the same statement).
 */
export async function saveTierWrites(trx: Database, queue: TierWrites): Promise<void> {
  const rows = [...queue.rows.values()].sort(
    (a, b) => compareText(a.participant_id, b.participant_id) || compareText(a.tier_id, b.tier_id),
  );
  await store.saveParticipantTiers(trx, rows);
  await enqueueNotifications(trx, queue.notifications);
  queue.rows.clear();
  queue.notifications.length = 0;
}

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface QualifyInput extends TierHolder {
  /** The participant's counters after the event's rules, as exact decimal strings. */
  counters: Record<string, string>;
  /** Tiers a SET_TIER action changed in this event: the rules took explicit control of them. */
  skipTierKeys: Set<string>;
  now: Date;
  source: StateSource;
  /** The program's ACTIVE tiers and the holder's tier rows, locked, when the caller has them. */
  known?: { tiers: TierWithLevels[]; rows: ParticipantTierRow[] } | undefined;
  /** Where to queue the writes instead of writing them, when the caller stores them later. */
  queue?: TierWrites | undefined;
}

export interface Qualification {
  /** The keys of the tiers upgraded. */
  upgraded: string[];
  /** The holder's tier rows written, as stored. */
  written: ParticipantTierRow[];
}

/**
 * Auto-qualification after the rules of an event: for every ACTIVE tier, upgrade to the highest
 * level whose criteria hold. It never downgrades; meeting the held level's criteria again cancels
 * a pending period-end downgrade.
 */
export async function qualifyTiers(trx: Database, input: QualifyInput): Promise<Qualification> {
  const upgraded: string[] = [];
  const written: ParticipantTierRow[] = [];
  const tiers =
    input.known?.tiers ?? (await loadProgramTiers(trx, input.organizationId, input.programId, true));
  const write = async (change: LevelChange) => {
    if (input.queue === undefined) await storeLevelChange(trx, change);
    else queueLevelChange(input.queue, change);
    written.push(change.row);
  };
  for (const tierWithLevels of tiers) {
    const { tier, levels } = tierWithLevels;
    if (input.skipTierKeys.has(tier.key)) continue;
    const tracksPeriods = nextPeriodEnd(tier.lifecycle, input.now) !== undefined;
    if (highestQualifying(levels, input.counters) === undefined && !tracksPeriods) continue;
    const current =
      input.known === undefined
        ? await store.findParticipantTier(trx, input.organizationId, input.participantId, tier.id, true)
        : input.known.rows.find((row) => row.tier_id === tier.id);
    const change = qualificationChange(tierWithLevels, current, input.counters, input.now);
    if (change?.kind === 'upgrade') {
      await write(
        levelChange(input, tierWithLevels, current, { ...input, kind: 'upgrade', target: change.target }),
      );
      upgraded.push(tier.key);
    } else if (change?.kind === 'track') {
      // A period-based tier tracks every active participant, so rollover reaches them at period end.
      await write(
        levelChange(input, tierWithLevels, undefined, { ...input, kind: 'set', target: undefined }),
      );
    } else if (change?.kind === 'refresh') {
      await write({ row: change.row, history: [], notification: undefined });
    }
  }
  return { upgraded, written };
}

export type QualificationChange =
  | { kind: 'upgrade'; target: LevelRule }
  | { kind: 'track' }
  | { kind: 'refresh'; row: ParticipantTierRow }
  | undefined;

/** What auto-qualification does to one tier of a holder whose counters read `counters`. Pure. */
export function qualificationChange(
  { tier, levels }: TierWithLevels,
  current: ParticipantTierRow | undefined,
  counters: Record<string, string>,
  now: Date,
): QualificationChange {
  const best = highestQualifying(levels, counters);
  if (best !== undefined && best.rank > (current?.rank ?? -1)) return { kind: 'upgrade', target: best };
  if (current === undefined)
    return nextPeriodEnd(tier.lifecycle, now) === undefined ? undefined : { kind: 'track' };
  const row = refreshedClocks(tier, current, best, now);
  return row === undefined ? undefined : { kind: 'refresh', row };
}

/**
 * An event that changes no level may still move the lifecycle clocks: meeting the held level's
 * criteria again cancels a pending downgrade, and a tier that became period-based (PATCH) starts
 * its periods for holders who had none.
 */
function refreshedClocks(
  tier: TierWithLevels['tier'],
  current: ParticipantTierRow,
  best: LevelRule | undefined,
  now: Date,
): ParticipantTierRow | undefined {
  const requalified =
    current.downgrade_at !== null && best !== undefined && best.rank >= (current.rank ?? -1);
  const periodEndAt = current.period_end_at ?? nextPeriodEnd(tier.lifecycle, now) ?? null;
  if (!requalified && periodEndAt === current.period_end_at) return undefined;
  return {
    ...current,
    period_end_at: periodEndAt,
    downgrade_level_key: requalified ? null : current.downgrade_level_key,
    downgrade_at: requalified ? null : current.downgrade_at,
    updated_at: now,
  };
}

export interface SetTierFromRuleInput extends TierHolder {
  tier: string;
  level: string;
  expiresAt?: Date | null | undefined;
  now: Date;
  source: StateSource;
}

/**
 * The SET_TIER action. Allowed for inactive participants. An ARCHIVED tier is skipped and the event
 * still completes; an unknown tier or level fails the event with a readable message.
 */
export async function setTierFromRule(
  trx: Database,
  input: SetTierFromRuleInput,
): Promise<'applied' | 'skipped_archived'> {
  const tiers = await loadProgramTiers(trx, input.organizationId, input.programId, false);
  const tierWithLevels = tiers.find(({ tier }) => tier.key === input.tier);
  if (tierWithLevels === undefined)
    throw new DomainError('not_found', `SET_TIER: tier ${input.tier} is not defined in the program`);
  if (tierWithLevels.tier.status === 'ARCHIVED') return 'skipped_archived';
  const target = tierWithLevels.levels.find((level) => level.key === input.level);
  if (target === undefined)
    throw new DomainError('not_found', `SET_TIER: level ${input.level} is not a level of tier ${input.tier}`);
  const current = await store.findParticipantTier(
    trx,
    input.organizationId,
    input.participantId,
    tierWithLevels.tier.id,
    true,
  );
  await writeLevel(trx, input, tierWithLevels, current, { ...input, kind: 'set', target });
  return 'applied';
}

export interface ActivityInput extends TierHolder {
  now: Date;
}

/**
 * Every processed event of the participant restarts the ACTIVITY_REFRESH timers of its levels.
 * Answers the new deadlines by tier id (each applies to a row holding a level).
 */
export async function recordActivity(trx: Database, input: ActivityInput): Promise<Map<string, Date>> {
  const restarted = new Map<string, Date>();
  for (const { tier } of await loadProgramTiers(trx, input.organizationId, input.programId, true)) {
    const deadline = lapseDeadline(tier.lifecycle, input.now);
    if (deadline === null) continue;
    await store.restartLapseTimer(trx, input.organizationId, input.participantId, tier.id, deadline);
    restarted.set(tier.id, deadline);
  }
  return restarted;
}

/** The participant's levels in one program, as CEL reads them: `{tier_key: {level, rank}}`. */
export async function loadTiersForRules(
  db: Database,
  organizationId: string,
  participantId: string,
  programId: string,
): Promise<Record<string, { level: string; rank: number }>> {
  return tierLevelsOf(db, organizationId, participantId, programId);
}

async function tierLevelsOf(db: Database, organizationId: string, participantId: string, programId?: string) {
  const rows = await store.listParticipantTiers(db, organizationId, participantId, programId);
  const tiers = await store.listTiersByIds(
    db,
    organizationId,
    rows.map((row) => row.tier_id),
  );
  const levels: Record<string, { level: string; rank: number }> = {};
  for (const row of rows) {
    const tier = tiers.find((candidate) => candidate.id === row.tier_id);
    if (tier !== undefined && row.level_key !== null && row.rank !== null)
      levels[tier.key] = { level: row.level_key, rank: row.rank };
  }
  return levels;
}

/** The participant view's tiers across programs (a ParticipantStateReader). */
export async function readParticipantTiers(db: Database, organizationId: string, participantId: string) {
  return { tiers: await tierLevelsOf(db, organizationId, participantId) };
}
