// The tier lifecycle job: explicit expiries, pending downgrades, period ends (with counter rollover)
// and ACTIVITY_REFRESH lapses. Each due moment is applied at its own time, oldest first, so a run
// after downtime reaches the same state as runs on time would have, and a second run finds nothing
// due. Rows are claimed with FOR UPDATE SKIP LOCKED, so several processes can run it at once.
import { assert } from '../../platform/assert.js';
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { withTransaction } from '../../platform/db/transaction.js';
import {
  tierLifecycleBatchSize,
  tierLifecycleIntervalMs,
  tierLifecycleStepsPerRowMax,
} from '../../platform/limits.js';
import type { Logger } from '../../platform/logger.js';
import { timeJobRun } from '../../platform/metrics.js';
import { loadStateForRules, type StateSource, setCounter } from '../participants/index.js';
import {
  baseLevel,
  downgradeEffectiveAt,
  downgradeTarget,
  highestQualifying,
  nextPeriodEnd,
  qualifyingCounters,
  rolledOverValue,
} from './lifecycle.js';
import { lapseDeadline, type TierHolder, writeLevel } from './tier-state.service.js';
import type { TierWithLevels } from './tiers.service.js';
import type { ParticipantTierRow } from './tiers.store.js';
import * as store from './tiers.store.js';

type DueKind = 'expiry' | 'downgrade' | 'period' | 'lapse';

interface Due {
  kind: DueKind;
  at: Date;
}

/** The earliest lifecycle moment of the row; ties go in the order listed (expiry wins). */
function earliestDue(row: ParticipantTierRow): Due | undefined {
  const candidates: [DueKind, Date | null][] = [
    ['expiry', row.expires_at],
    ['downgrade', row.downgrade_at],
    ['period', row.period_end_at],
    ['lapse', row.lapses_at],
  ];
  let earliest: Due | undefined;
  for (const [kind, at] of candidates)
    if (at !== null && (earliest === undefined || at < earliest.at)) earliest = { kind, at };
  return earliest;
}

/** Runs the job until nothing is due at the clock's `now`; answers how many rows it processed. */
export async function runTierLifecycle(db: Database, clock: Clock): Promise<number> {
  const now = clock();
  let processed = 0;
  for (;;) {
    const claimed = await withTransaction(db, async (trx) => {
      const rows = await store.claimDueParticipantTiers(trx, now, tierLifecycleBatchSize);
      for (const row of rows) await processRow(trx, row, now);
      return rows.length;
    });
    processed += claimed;
    if (claimed < tierLifecycleBatchSize) return processed;
  }
}

async function processRow(trx: Database, row: ParticipantTierRow, now: Date): Promise<void> {
  const tier = await store.findTierById(trx, row.organization_id, row.tier_id);
  const levels = await store.listLevels(trx, row.organization_id, [tier.id]);
  if (tier.status === 'ARCHIVED') {
    // An archived tier is frozen: its holders keep their state as history and nothing runs on it.
    await store.saveParticipantTier(trx, {
      ...row,
      expires_at: null,
      period_end_at: null,
      downgrade_level_key: null,
      downgrade_at: null,
      lapses_at: null,
    });
    return;
  }
  let current = row;
  for (let step = 0; ; step += 1) {
    assert(
      step < tierLifecycleStepsPerRowMax,
      `tier lifecycle of participant ${row.participant_id} does not settle`,
    );
    const due = earliestDue(current);
    if (due === undefined || due.at > now) return;
    current = await applyDue(trx, { tier, levels }, current, due);
  }
}

function holderOf(row: ParticipantTierRow): TierHolder {
  return {
    organizationId: row.organization_id,
    programId: row.program_id,
    participantId: row.participant_id,
  };
}

function jobSource(row: ParticipantTierRow): StateSource {
  return { job: 'tier_lifecycle', programId: row.program_id };
}

async function applyDue(
  trx: Database,
  tierWithLevels: TierWithLevels,
  row: ParticipantTierRow,
  due: Due,
): Promise<ParticipantTierRow> {
  const write = { now: due.at, source: jobSource(row) };
  switch (due.kind) {
    case 'expiry':
      return writeLevel(trx, holderOf(row), tierWithLevels, row, {
        ...write,
        kind: 'expire',
        target: baseLevel(tierWithLevels.levels),
      });
    case 'downgrade':
      return writeLevel(trx, holderOf(row), tierWithLevels, row, {
        ...write,
        kind: 'downgrade',
        target: tierWithLevels.levels.find((level) => level.key === row.downgrade_level_key),
      });
    case 'period':
      return endPeriod(trx, tierWithLevels, row, due.at);
    case 'lapse':
      return lapse(trx, tierWithLevels, row, due.at);
  }
}

async function countersAt(trx: Database, row: ParticipantTierRow, at: Date): Promise<Record<string, string>> {
  const state = await loadStateForRules(trx, row.organization_id, row.participant_id, row.program_id, at);
  return state.participant.counterValues;
}

/**
 * A period boundary: decide the level for the next period from the counters of the one that ended
 * (a downgrade takes effect after extend_months and grace_days), then roll the counters over.
 */
async function endPeriod(
  trx: Database,
  { tier, levels }: TierWithLevels,
  row: ParticipantTierRow,
  boundary: Date,
): Promise<ParticipantTierRow> {
  const lifecycle = tier.lifecycle;
  const nextBoundary = nextPeriodEnd(lifecycle, boundary);
  if (lifecycle === null || nextBoundary === undefined) {
    const next = { ...row, period_end_at: null, updated_at: boundary };
    await store.saveParticipantTier(trx, next);
    return next;
  }
  const counters = await countersAt(trx, row, boundary);
  const held = levels.find((level) => level.key === row.level_key);
  const next: ParticipantTierRow = { ...row, period_end_at: nextBoundary, updated_at: boundary };
  if (held !== undefined) {
    const target = downgradeTarget(lifecycle, levels, held, highestQualifying(levels, counters));
    const dropping = target?.key !== held.key;
    next.downgrade_level_key = dropping ? (target?.key ?? null) : null;
    next.downgrade_at = dropping ? downgradeEffectiveAt(lifecycle, boundary) : null;
  }
  if (lifecycle.counters?.rollover !== undefined) {
    const owner = {
      organizationId: row.organization_id,
      type: 'PARTICIPANT' as const,
      id: row.participant_id,
    };
    for (const key of qualifyingCounters(lifecycle, levels)) {
      const value = counters[key];
      const rolled = rolledOverValue(lifecycle, held, key, value);
      if (value === undefined || value === rolled) continue;
      await setCounter(trx, { owner, key, value: rolled, source: jobSource(row), now: boundary });
    }
  }
  await store.saveParticipantTier(trx, next);
  return next;
}

/**
 * ACTIVITY_REFRESH: no event for `duration` (plus grace_days). The downgrade policy picks the new
 * level, whose own timer starts now; a level the policy keeps waits for the next event instead.
 */
async function lapse(
  trx: Database,
  tierWithLevels: TierWithLevels,
  row: ParticipantTierRow,
  at: Date,
): Promise<ParticipantTierRow> {
  const { tier, levels } = tierWithLevels;
  const held = levels.find((level) => level.key === row.level_key);
  const lifecycle = tier.lifecycle;
  if (held === undefined || lifecycle === null || lapseDeadline(lifecycle, at) === null) {
    const next = { ...row, lapses_at: null, updated_at: at };
    await store.saveParticipantTier(trx, next);
    return next;
  }
  const target = downgradeTarget(
    lifecycle,
    levels,
    held,
    highestQualifying(levels, await countersAt(trx, row, at)),
  );
  if (target?.key === held.key) {
    const next = { ...row, lapses_at: null, updated_at: at };
    await store.saveParticipantTier(trx, next);
    return next;
  }
  return writeLevel(trx, holderOf(row), tierWithLevels, row, {
    now: at,
    source: jobSource(row),
    kind: 'downgrade',
    target,
  });
}

/** Runs the job in the background until stop(); a failed run is logged and retried next time. */
export function startTierLifecycle(db: Database, clock: Clock, logger: Logger): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const tick = () => {
    // A run longer than the interval is not overlapped by another from this process.
    if (running !== undefined) return;
    running = timeJobRun('tier_lifecycle', () => runTierLifecycle(db, clock))
      .then(() => undefined)
      .catch((error: unknown) => logger.error({ err: error }, 'tier lifecycle run failed'))
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, tierLifecycleIntervalMs);
  timer.unref();
  tick();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
