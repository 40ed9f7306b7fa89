// The tier rules as pure functions: qualification, period boundaries (UTC), downgrade targets and
// counter rollover. No I/O and no clock: callers pass `now`.
import { counterUnitsFromNumber, formatCounterValue, parseCounterValue } from '../../platform/money.js';
import type { Criterion, Lifecycle, Qualification } from './tiers.schemas.js';

/** A level as the rules need it. */
export interface LevelRule {
  key: string;
  rank: number;
  qualification: Qualification | null;
}

const dayMs = 86_400_000;

/** A counter value or threshold as exact units (18 decimals); a missing counter reads as 0. */
function unitsOf(value: string | number | undefined): bigint {
  if (value === undefined) return 0n;
  return (typeof value === 'number' ? counterUnitsFromNumber(value) : parseCounterValue(value)) ?? 0n;
}

function holds(criterion: Criterion, counters: Record<string, string>): boolean {
  const value = unitsOf(counters[criterion.counter]);
  const threshold = unitsOf(criterion.threshold);
  switch (criterion.operator) {
    case '>=':
      return value >= threshold;
    case '>':
      return value > threshold;
    case '==':
      return value === threshold;
    case '<=':
      return value <= threshold;
    case '<':
      return value < threshold;
  }
}

export function qualifies(qualification: Qualification, counters: Record<string, string>): boolean {
  const results = qualification.criteria.map((criterion) => holds(criterion, counters));
  return qualification.mode === 'ALL' ? results.every(Boolean) : results.some(Boolean);
}

/** The highest level whose criteria hold, or undefined; levels without criteria never qualify. */
export function highestQualifying(levels: LevelRule[], counters: Record<string, string>) {
  let best: LevelRule | undefined;
  for (const level of levels) {
    if (level.qualification === null || !qualifies(level.qualification, counters)) continue;
    if (best === undefined || level.rank > best.rank) best = level;
  }
  return best;
}

export function addMonthsUtc(time: Date, months: number): Date {
  const year = time.getUTCFullYear();
  const month = time.getUTCMonth() + months;
  // Clamp the day: Jan 31 plus one month is Feb 28 (or 29), not Mar 3.
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const result = new Date(time);
  result.setUTCFullYear(year, month, Math.min(time.getUTCDate(), lastDay));
  return result;
}

export function addDaysUtc(time: Date, days: number): Date {
  return new Date(time.getTime() + days * dayMs);
}

/**
 * The first period boundary strictly after `after`, at 00:00 UTC on Jan 1 (CALENDAR_YEAR) or on
 * start_month/start_day (FIXED_YEAR); undefined when periods do not apply.
 */
export function nextPeriodEnd(lifecycle: Lifecycle | null, after: Date): Date | undefined {
  if (lifecycle?.retention.mode !== 'PERIOD_BASED') return undefined;
  const period = lifecycle.qualification_period;
  if (period === undefined || period.type === 'NONE') return undefined;
  const month = period.type === 'FIXED_YEAR' ? (period.start_month ?? 1) - 1 : 0;
  const day = period.type === 'FIXED_YEAR' ? (period.start_day ?? 1) : 1;
  const candidate = new Date(Date.UTC(after.getUTCFullYear(), month, day));
  return candidate > after ? candidate : new Date(Date.UTC(after.getUTCFullYear() + 1, month, day));
}

/** When a downgrade decided at the period boundary takes effect: after extend_months, then grace_days. */
export function downgradeEffectiveAt(lifecycle: Lifecycle, boundary: Date): Date {
  const extended = addMonthsUtc(boundary, lifecycle.status_validity?.extend_months ?? 0);
  return addDaysUtc(extended, lifecycle.downgrade_policy?.grace_days ?? 0);
}

/**
 * The level a holder of `current` falls to under the downgrade policy, given the highest level
 * still qualified for. HOLD keeps the level; min_level is a floor below which nobody drops (it
 * never lifts a holder who is already below it). Undefined means no level.
 */
export function downgradeTarget(
  lifecycle: Lifecycle,
  levels: LevelRule[],
  current: LevelRule,
  qualified: LevelRule | undefined,
): LevelRule | undefined {
  const mode = lifecycle.downgrade_policy?.mode ?? 'DROP_TO_QUALIFYING';
  if (mode === 'HOLD') return current;
  if (qualified !== undefined && qualified.rank >= current.rank) return current;
  let target: LevelRule | undefined;
  if (mode === 'DROP_ONE') {
    for (const level of levels)
      if (level.rank < current.rank && (target === undefined || level.rank > target.rank)) target = level;
  } else {
    target = qualified ?? baseLevel(levels);
  }
  const floor = levels.find((level) => level.key === lifecycle.downgrade_policy?.min_level);
  if (floor !== undefined && floor.rank <= current.rank && (target === undefined || target.rank < floor.rank))
    return floor;
  return target;
}

/** The rank-0 level, which DELETE and removals fall back to, if the tier defines one. */
export function baseLevel(levels: LevelRule[]): LevelRule | undefined {
  return levels.find((level) => level.rank === 0);
}

/** Counters that roll over at period end: the listed ones, else every counter a criterion reads. */
export function qualifyingCounters(lifecycle: Lifecycle, levels: LevelRule[]): string[] {
  const listed = lifecycle.counters?.qualifying;
  if (listed !== undefined && listed.length > 0) return listed;
  const keys = new Set<string>();
  for (const level of levels)
    for (const criterion of level.qualification?.criteria ?? []) keys.add(criterion.counter);
  return [...keys];
}

/**
 * A counter's value after the period ends: NONE resets it to zero; EXCESS keeps what lies above the
 * threshold the held level has on that counter (zero when below, or when that level has no
 * criterion on it, so unqualified progress never carries into the next period).
 */
export function rolledOverValue(
  lifecycle: Lifecycle,
  held: LevelRule | undefined,
  counter: string,
  value: string | undefined,
): string {
  if (lifecycle.counters?.rollover !== 'EXCESS') return '0';
  const criterion = held?.qualification?.criteria.find((candidate) => candidate.counter === counter);
  if (criterion === undefined) return '0';
  const excess = unitsOf(value) - unitsOf(criterion.threshold);
  return formatCounterValue(excess > 0n ? excess : 0n);
}
