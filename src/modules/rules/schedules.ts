// Time arithmetic for rules: Go-style durations ("720h", "1h30m", "90s") and the next reset of a
// budget on an INTERVAL or a five-field CRON schedule (UTC). Pure.

import { cronSearchDaysMax } from '../../platform/limits.js';
import { parseTimestamp } from '../../platform/timestamp.js';

const durationPartPattern = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
const durationPattern = /^(?:\d+(?:\.\d+)?(?:ms|h|m|s))+$/;
const msPerUnit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a Go-style duration, or undefined when the text is not one. */
export function parseDuration(text: string): number | undefined {
  if (!durationPattern.test(text)) return undefined;
  let total = 0;
  for (const match of text.matchAll(durationPartPattern)) {
    total += Number(match[1]) * (msPerUnit[match[2] ?? 'ms'] ?? 0);
  }
  return Math.round(total);
}

/** A relative duration added to `from`, or an absolute RFC 3339 timestamp. */
export function resolveTimeReference(text: string, from: Date): Date | undefined {
  const duration = parseDuration(text);
  if (duration !== undefined) return new Date(from.getTime() + duration);
  return parseTimestamp(text);
}

interface CronField {
  min: number;
  max: number;
}

const cronFields: CronField[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12 },
  { min: 0, max: 6 },
];

export interface CronSchedule {
  minutes: Set<number>;
  hours: Set<number>;
  days: Set<number>;
  months: Set<number>;
  weekdays: Set<number>;
  /** Standard cron: when both day fields are restricted, either one matching is enough. */
  dayOrWeekday: boolean;
}

/** Parses "m h dom mon dow" with `*`, lists, ranges and steps; throws with a readable message. */
export function parseCron(expression: string): CronSchedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) throw new Error('cron_expression needs five fields: minute hour day month weekday');
  const sets = parts.map((part, index) => parseCronField(part, cronFields[index] as CronField));
  const [minutes, hours, days, months, weekdays] = sets as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  return { minutes, hours, days, months, weekdays, dayOrWeekday: parts[2] !== '*' && parts[4] !== '*' };
}

function parseCronField(text: string, field: CronField): Set<number> {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (match === null) throw new Error(`cron field '${text}' is not valid`);
    const start = match[1] === '*' ? field.min : Number(match[2]);
    const end = match[1] === '*' ? field.max : match[3] !== undefined ? Number(match[3]) : start;
    const step = match[4] !== undefined ? Number(match[4]) : 1;
    const openEnd = match[1] !== '*' && match[3] === undefined && match[4] !== undefined ? field.max : end;
    if (start < field.min || openEnd > field.max || start > openEnd || step < 1) {
      throw new Error(`cron field '${text}' is out of range ${field.min}-${field.max}`);
    }
    for (let value = start; value <= openEnd; value += step) values.add(value);
  }
  return values;
}

/** The first minute strictly after `after` that the schedule matches, in UTC. */
export function nextCronTime(schedule: CronSchedule, after: Date): Date | undefined {
  const time = new Date(after.getTime());
  time.setUTCSeconds(0, 0);
  time.setUTCMinutes(time.getUTCMinutes() + 1);
  const limit = after.getTime() + cronSearchDaysMax * 86_400_000;
  while (time.getTime() <= limit) {
    if (!schedule.months.has(time.getUTCMonth() + 1) || !dayMatches(schedule, time)) {
      time.setUTCDate(time.getUTCDate() + 1);
      time.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!schedule.hours.has(time.getUTCHours())) {
      time.setUTCHours(time.getUTCHours() + 1, 0, 0, 0);
      continue;
    }
    if (schedule.minutes.has(time.getUTCMinutes())) return time;
    time.setUTCMinutes(time.getUTCMinutes() + 1);
  }
  return undefined;
}

function dayMatches(schedule: CronSchedule, time: Date): boolean {
  const day = schedule.days.has(time.getUTCDate());
  const weekday = schedule.weekdays.has(time.getUTCDay());
  return schedule.dayOrWeekday ? day || weekday : day && weekday;
}

export interface BudgetSchedule {
  schedule_type: 'CRON' | 'INTERVAL' | null;
  cron_expression: string | null;
  interval: string | null;
}

/** When a budget next returns to zero: null for a lifetime budget. */
export function nextBudgetReset(budget: BudgetSchedule, after: Date): Date | null {
  if (budget.schedule_type === 'INTERVAL' && budget.interval !== null) {
    const ms = parseDuration(budget.interval);
    return ms === undefined ? null : new Date(after.getTime() + ms);
  }
  if (budget.schedule_type === 'CRON' && budget.cron_expression !== null) {
    return nextCronTime(parseCron(budget.cron_expression), after) ?? null;
  }
  return null;
}
