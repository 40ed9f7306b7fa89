import { describe, expect, it } from 'vitest';
import {
  addMonthsUtc,
  downgradeEffectiveAt,
  downgradeTarget,
  highestQualifying,
  type LevelRule,
  nextPeriodEnd,
  qualifyingCounters,
  rolledOverValue,
} from './lifecycle.js';
import type { Lifecycle } from './tiers.schemas.js';

const at = (text: string) => new Date(text);
const criterion = (counter: string, threshold: number) => ({ counter, operator: '>=' as const, threshold });
const levels: LevelRule[] = [
  { key: 'member', rank: 0, qualification: null },
  { key: 'silver', rank: 1, qualification: { mode: 'ALL', criteria: [criterion('spend', 500)] } },
  {
    key: 'gold',
    rank: 2,
    qualification: { mode: 'ANY', criteria: [criterion('spend', 2000), criterion('nights', 10)] },
  },
  { key: 'platinum', rank: 3, qualification: { mode: 'ALL', criteria: [criterion('spend', 5000.25)] } },
];
const byKey = (key: string) => levels.find((level) => level.key === key) as LevelRule;
const periodBased = (extra: Partial<Lifecycle> = {}): Lifecycle => ({
  retention: { mode: 'PERIOD_BASED' },
  qualification_period: { type: 'CALENDAR_YEAR' },
  ...extra,
});

describe('qualification', () => {
  it('compares exact decimals, reads a missing counter as 0, and honours ALL and ANY', () => {
    expect(highestQualifying(levels, {})?.key).toBe('member');
    expect(highestQualifying(levels, { spend: '499.999999' })?.key).toBe('member');
    expect(highestQualifying(levels, { spend: '500' })?.key).toBe('silver');
    expect(highestQualifying(levels, { nights: '10' })?.key).toBe('gold');
    expect(highestQualifying(levels, { spend: '5000.24' })?.key).toBe('gold');
    expect(highestQualifying(levels, { spend: '5000.25' })?.key).toBe('platinum');
  });

  it('qualifies everyone for a rank-0 level without criteria, and nobody for a higher one without criteria', () => {
    const withoutBase = levels.slice(1);
    expect(highestQualifying(withoutBase, {})).toBeUndefined();
    const byHand: LevelRule = { key: 'vip', rank: 4, qualification: null };
    expect(highestQualifying([...levels, byHand], { spend: '99999' })?.key).toBe('platinum');
    const criteriaBase: LevelRule = {
      key: 'starter',
      rank: 0,
      qualification: { mode: 'ALL', criteria: [criterion('spend', 1)] },
    };
    expect(highestQualifying([criteriaBase, ...withoutBase], {})).toBeUndefined();
  });
});

describe('period boundaries (UTC)', () => {
  it('CALENDAR_YEAR ends at Jan 1 00:00 UTC, strictly after the given time', () => {
    expect(nextPeriodEnd(periodBased(), at('2026-06-15T12:00:00Z'))).toEqual(at('2027-01-01T00:00:00Z'));
    expect(nextPeriodEnd(periodBased(), at('2027-01-01T00:00:00Z'))).toEqual(at('2028-01-01T00:00:00Z'));
    expect(nextPeriodEnd(periodBased(), at('2026-12-31T23:59:59.999Z'))).toEqual(at('2027-01-01T00:00:00Z'));
  });

  it('FIXED_YEAR ends on its start month and day; NONE and ACTIVITY_REFRESH have no periods', () => {
    const fixed = periodBased({ qualification_period: { type: 'FIXED_YEAR', start_month: 2, start_day: 1 } });
    expect(nextPeriodEnd(fixed, at('2026-01-31T23:59:59Z'))).toEqual(at('2026-02-01T00:00:00Z'));
    expect(nextPeriodEnd(fixed, at('2026-02-01T00:00:00Z'))).toEqual(at('2027-02-01T00:00:00Z'));
    expect(
      nextPeriodEnd(periodBased({ qualification_period: { type: 'NONE' } }), at('2026-01-01')),
    ).toBeUndefined();
    expect(
      nextPeriodEnd({ retention: { mode: 'ACTIVITY_REFRESH', duration: '24h' } }, at('2026-01-01')),
    ).toBeUndefined();
    expect(nextPeriodEnd(null, at('2026-01-01'))).toBeUndefined();
  });

  it('adds months clamping the day, then grace days', () => {
    expect(addMonthsUtc(at('2026-01-31T00:00:00Z'), 1)).toEqual(at('2026-02-28T00:00:00Z'));
    expect(addMonthsUtc(at('2026-11-30T00:00:00Z'), 3)).toEqual(at('2027-02-28T00:00:00Z'));
    const lifecycle = periodBased({
      status_validity: { extend_months: 3 },
      downgrade_policy: { grace_days: 30 },
    });
    expect(downgradeEffectiveAt(lifecycle, at('2027-01-01T00:00:00Z'))).toEqual(at('2027-05-01T00:00:00Z'));
  });
});

describe('downgrade targets', () => {
  const policy = (mode: 'DROP_TO_QUALIFYING' | 'DROP_ONE' | 'HOLD', min_level?: string) =>
    periodBased({ downgrade_policy: { mode, ...(min_level === undefined ? {} : { min_level }) } });

  it('DROP_TO_QUALIFYING falls to the qualified level, else the base level', () => {
    expect(
      downgradeTarget(policy('DROP_TO_QUALIFYING'), levels, byKey('platinum'), byKey('silver'))?.key,
    ).toBe('silver');
    expect(downgradeTarget(policy('DROP_TO_QUALIFYING'), levels, byKey('platinum'), undefined)?.key).toBe(
      'member',
    );
    expect(downgradeTarget(periodBased(), levels, byKey('gold'), byKey('gold'))?.key).toBe('gold');
  });

  it('DROP_ONE falls one rank, HOLD keeps, min_level is a floor', () => {
    expect(downgradeTarget(policy('DROP_ONE'), levels, byKey('platinum'), undefined)?.key).toBe('gold');
    expect(downgradeTarget(policy('HOLD'), levels, byKey('platinum'), undefined)?.key).toBe('platinum');
    expect(
      downgradeTarget(policy('DROP_TO_QUALIFYING', 'gold'), levels, byKey('platinum'), undefined)?.key,
    ).toBe('gold');
    expect(downgradeTarget(policy('DROP_ONE', 'gold'), levels, byKey('silver'), undefined)?.key).toBe(
      'member',
    );
  });
});

describe('counter rollover', () => {
  it('NONE resets; EXCESS keeps what lies above the held level threshold, never below zero', () => {
    const none = periodBased({ counters: { rollover: 'NONE' } });
    const excess = periodBased({ counters: { rollover: 'EXCESS' } });
    expect(rolledOverValue(none, byKey('gold'), 'spend', '2500')).toBe('0');
    expect(rolledOverValue(excess, byKey('platinum'), 'spend', '5200.5')).toBe('200.25');
    expect(rolledOverValue(excess, byKey('silver'), 'spend', '100')).toBe('0');
    expect(rolledOverValue(excess, byKey('silver'), 'nights', '8')).toBe('0');
    expect(rolledOverValue(excess, undefined, 'spend', '300')).toBe('0');
  });

  it('rolls the listed counters, or every counter a criterion reads', () => {
    expect(qualifyingCounters(periodBased({ counters: { qualifying: ['x'] } }), levels)).toEqual(['x']);
    expect(qualifyingCounters(periodBased(), levels).sort()).toEqual(['nights', 'spend']);
  });
});
