import { describe, expect, it } from 'vitest';
import type { FanOutParticipant } from './automations.store.js';
import { nextTriggerAt, type SubscriptionSchedule } from './subscription-schedule.js';

const participant = (attributes: Record<string, string>, counters: Record<string, string> = {}) =>
  ({ id: 'p', tags: [], attributes, counters }) as FanOutParticipant;
const birthday = (time?: string): SubscriptionSchedule => ({
  schedule_type: 'ATTRIBUTE_DATE',
  schedule_config: time === undefined ? { attribute: 'birthday' } : { attribute: 'birthday', time },
  timezone: 'Europe/Paris',
});
const start = new Date('2020-01-01T00:00:00Z');
const next = (schedule: SubscriptionSchedule, p: FanOutParticipant, from: string) =>
  nextTriggerAt(schedule, p, start, new Date(from))?.toISOString() ?? null;

describe('next trigger of a subscription', () => {
  it('ATTRIBUTE_DATE fires yearly on the day at the time of day in the time zone, "MM-DD" or a date', () => {
    expect(next(birthday('09:00'), participant({ birthday: '06-15' }), '2026-06-01T00:00:00Z')).toBe(
      '2026-06-15T07:00:00.000Z',
    );
    expect(next(birthday('09:00'), participant({ birthday: '06-15' }), '2026-06-15T07:00:00Z')).toBe(
      '2027-06-15T07:00:00.000Z',
    );
    expect(next(birthday(), participant({ birthday: '1990-12-24' }), '2026-06-01T00:00:00Z')).toBe(
      '2026-12-23T23:00:00.000Z',
    );
  });

  it('ATTRIBUTE_DATE 29 February fires on 28 February in common years and on the 29th in leap years', () => {
    const leapling = participant({ birthday: '02-29' });
    expect(next(birthday('09:00'), leapling, '2027-01-01T00:00:00Z')).toBe('2027-02-28T08:00:00.000Z');
    expect(next(birthday('09:00'), leapling, '2027-02-28T08:00:00Z')).toBe('2028-02-29T08:00:00.000Z');
    expect(next(birthday('09:00'), leapling, '2028-02-29T08:00:00Z')).toBe('2029-02-28T08:00:00.000Z');
    expect(next(birthday(), participant({ birthday: '2000-02-29' }), '2100-01-01T00:00:00Z')).toBe(
      '2100-02-27T23:00:00.000Z',
    );
  });

  it('ATTRIBUTE_DATE without a date in the attribute never fires', () => {
    for (const value of ['', 'june', '13-01', '02-30', '2023-02-29', '6-15']) {
      expect(next(birthday(), participant({ birthday: value }), '2026-01-01T00:00:00Z')).toBeNull();
    }
    expect(next(birthday(), participant({}), '2026-01-01T00:00:00Z')).toBeNull();
  });

  it('INTERVAL counts whole intervals from the start: after missed ticks the next is the first after now', () => {
    const schedule: SubscriptionSchedule = {
      schedule_type: 'INTERVAL',
      schedule_config: { interval: '24h' },
      timezone: 'UTC',
    };
    expect(next(schedule, participant({}), '2020-01-01T00:00:00Z')).toBe('2020-01-02T00:00:00.000Z');
    expect(next(schedule, participant({}), '2020-01-04T00:00:01Z')).toBe('2020-01-05T00:00:00.000Z');
  });

  it('CRON follows the expression in the time zone; THRESHOLD is due once the counter reaches the value', () => {
    const cron: SubscriptionSchedule = {
      schedule_type: 'CRON',
      schedule_config: { cron_expression: '0 9 * * 1' },
      timezone: 'America/Chicago',
    };
    expect(next(cron, participant({}), '2026-03-04T12:00:00Z')).toBe('2026-03-09T14:00:00.000Z');
    const threshold: SubscriptionSchedule = {
      schedule_type: 'THRESHOLD',
      schedule_config: { counter: 'visits', value: 10 },
      timezone: 'UTC',
    };
    expect(next(threshold, participant({}, { visits: '9.5' }), '2026-01-01T00:00:00Z')).toBeNull();
    expect(next(threshold, participant({}, { visits: '10' }), '2026-01-01T00:00:00Z')).toBe(
      '2026-01-01T00:00:00.001Z',
    );
  });
});
