// When a participant_state subscription fires next, from the automation's schedule_type and
// schedule_config and the participant's state. Pure.
// - ATTRIBUTE_DATE: the attribute holds "MM-DD" or a date ("YYYY-MM-DD", or a timestamp that starts
//   with one; only month and day count). It fires every year on that day at schedule_config.time
//   ("HH:MM", default "00:00") in the automation's time zone. 29 February fires on 28 February in
//   years without a 29 February.
// - INTERVAL: every schedule_config.interval (Go duration) counted from the subscription's start.
// - CRON: schedule_config.cron_expression in the automation's time zone.
// - THRESHOLD: due as soon as counter schedule_config.counter is at or above schedule_config.value;
//   it fires once, and the subscription is then completed.
// Times are strictly after `from`, so that a tick that was due while nothing ran is fired once and
// the next one follows it, however many were missed.
import { parseDuration } from '../rules/index.js';
import type { ScheduleType } from './automations.schemas.js';
import type { FanOutParticipant } from './automations.store.js';
import { nextCronRun } from './cron-schedule.js';

export interface SubscriptionSchedule {
  schedule_type: ScheduleType | null;
  schedule_config: Record<string, unknown> | null;
  timezone: string;
}

const datePattern = /^(?:(\d{4})-)?(\d{2})-(\d{2})(?:$|[T ])/;
const timePattern = /^([01]\d|2[0-3]):([0-5]\d)$/;
const daysInMonth = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The month (1-12) and day an attribute names, or undefined when it is not such a date. */
export function readMonthDay(value: string | undefined): { month: number; day: number } | undefined {
  const match = value === undefined ? null : datePattern.exec(value);
  if (match === null) return undefined;
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12 || day < 1 || day > (daysInMonth[month - 1] ?? 0)) return undefined;
  if (match[1] !== undefined && month === 2 && day === 29 && !isLeapYear(Number(match[1]))) return undefined;
  return { month, day };
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** "HH:MM" as its hour and minute; the schema checked it when the automation was saved. */
export function readTimeOfDay(value: unknown): { hour: number; minute: number } {
  const match = typeof value === 'string' ? timePattern.exec(value) : null;
  return { hour: Number(match?.[1] ?? 0), minute: Number(match?.[2] ?? 0) };
}

/**
 * The subscription's next trigger time strictly after `from`; null when none (no date in the
 * attribute, a counter below its threshold). `startedAt` anchors INTERVAL.
 */
export function nextTriggerAt(
  schedule: SubscriptionSchedule,
  participant: FanOutParticipant,
  startedAt: Date,
  from: Date,
): Date | null {
  const config = schedule.schedule_config ?? {};
  switch (schedule.schedule_type) {
    case 'ATTRIBUTE_DATE': {
      const date = readMonthDay(participant.attributes[String(config.attribute)]);
      if (date === undefined) return null;
      return nextYearlyDate(date, readTimeOfDay(config.time), schedule.timezone, from);
    }
    case 'INTERVAL':
      return nextInterval(String(config.interval), startedAt, from);
    case 'CRON':
      return nextCronRun(String(config.cron_expression), schedule.timezone, from);
    case 'THRESHOLD':
      return thresholdReached(config, participant) ? new Date(from.getTime() + 1) : null;
    default:
      return null;
  }
}

export function thresholdReached(config: Record<string, unknown>, participant: FanOutParticipant): boolean {
  const value = participant.counters[String(config.counter)];
  return value !== undefined && Number(value) >= Number(config.value);
}

/** The next `month`-`day` at `time` in `timezone` after `from`; 29 February on 28 February in common years. */
function nextYearlyDate(
  date: { month: number; day: number },
  time: { hour: number; minute: number },
  timezone: string,
  from: Date,
): Date | null {
  const cron = (day: number) => `${time.minute} ${time.hour} ${day} ${date.month} *`;
  const exact = nextCronRun(cron(date.day), timezone, from);
  if (date.month !== 2 || date.day !== 29) return exact;
  let stand = nextCronRun(cron(28), timezone, from);
  while (stand !== null && isLeapYear(stand.getUTCFullYear())) stand = nextCronRun(cron(28), timezone, stand);
  if (exact === null || stand === null) return exact ?? stand;
  return exact.getTime() < stand.getTime() ? exact : stand;
}

/** startedAt + k × interval, the first one after `from` (k ≥ 1). */
function nextInterval(interval: string, startedAt: Date, from: Date): Date | null {
  const ms = parseDuration(interval);
  if (ms === undefined || ms <= 0) return null;
  const elapsed = from.getTime() - startedAt.getTime();
  const k = elapsed < 0 ? 1 : Math.floor(elapsed / ms) + 1;
  return new Date(startedAt.getTime() + k * ms);
}
