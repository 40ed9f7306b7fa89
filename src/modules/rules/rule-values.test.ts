import { describe, expect, it } from 'vitest';
import { roundHalfAwayFromZero } from './cel-functions.js';
import {
  nextBudgetReset,
  nextCronTime,
  parseCron,
  parseDuration,
  resolveTimeReference,
} from './schedules.js';

describe('round', () => {
  it('rounds half away from zero on the decimal value', () => {
    expect(roundHalfAwayFromZero(1.005, 2)).toBe(1.01);
    expect(roundHalfAwayFromZero(2.5, 0)).toBe(3);
    expect(roundHalfAwayFromZero(-2.5, 0)).toBe(-3);
    expect(roundHalfAwayFromZero(12.3456, 3)).toBe(12.346);
    expect(() => roundHalfAwayFromZero(1, 16)).toThrow(/digits/);
  });
});

describe('schedules', () => {
  it('parses Go-style durations and time references', () => {
    expect(parseDuration('720h')).toBe(720 * 3_600_000);
    expect(parseDuration('1h30m')).toBe(90 * 60_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('3d')).toBeUndefined();
    const from = new Date('2026-01-01T00:00:00Z');
    expect(resolveTimeReference('24h', from)).toEqual(new Date('2026-01-02T00:00:00Z'));
    expect(resolveTimeReference('2026-06-01T00:00:00Z', from)).toEqual(new Date('2026-06-01T00:00:00Z'));
    expect(resolveTimeReference('next week', from)).toBeUndefined();
  });

  it('refuses time references PostgreSQL cannot store: leap seconds and instants outside years 0001-9999', () => {
    const from = new Date('2026-01-01T00:00:00Z');
    for (const text of ['2016-12-31T23:59:60Z', '0000-06-01T00:00:00Z', '9999-12-31T23:00:00-05:00'])
      expect(resolveTimeReference(text, from)).toBeUndefined();
  });

  it('finds the next cron time in UTC, with lists, ranges, steps and either-day matching', () => {
    const after = new Date('2026-03-15T10:20:30Z');
    expect(nextCronTime(parseCron('0 0 1 * *'), after)).toEqual(new Date('2026-04-01T00:00:00Z'));
    expect(nextCronTime(parseCron('*/15 * * * *'), after)).toEqual(new Date('2026-03-15T10:30:00Z'));
    expect(nextCronTime(parseCron('0 9 * * 1-5'), after)).toEqual(new Date('2026-03-16T09:00:00Z'));
    expect(nextCronTime(parseCron('0 0 13 * 5'), after)).toEqual(new Date('2026-03-20T00:00:00Z'));
    expect(nextCronTime(parseCron('0 0 30 2 *'), after)).toBeUndefined();
    expect(() => parseCron('0 0 * *')).toThrow(/five fields/);
    expect(() => parseCron('60 * * * *')).toThrow(/out of range/);
  });

  it('computes the next budget reset: none for lifetime budgets', () => {
    const after = new Date('2026-03-15T10:00:00Z');
    expect(nextBudgetReset({ schedule_type: null, cron_expression: null, interval: null }, after)).toBeNull();
    expect(
      nextBudgetReset({ schedule_type: 'INTERVAL', cron_expression: null, interval: '24h' }, after),
    ).toEqual(new Date('2026-03-16T10:00:00Z'));
  });
});
