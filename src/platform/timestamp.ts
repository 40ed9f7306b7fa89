// The one reader of timestamps that enter through the API. RFC 3339 with a time zone, read field by
// field rather than by Date.parse, so that what is accepted is exactly what PostgreSQL can store and
// what comes back out reads the same: the instant lies in years 0001-9999 (UTC), leap seconds (":60")
// are refused (JavaScript and PostgreSQL cannot hold them), and fractions finer than a millisecond are
// truncated to the millisecond, the resolution of every stored time.
import { invalidField } from './errors.js';

const timestampPattern =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

const earliestMs = Date.parse('0001-01-01T00:00:00.000Z');
const latestMs = Date.parse('9999-12-31T23:59:59.999Z');

export const timestampDescription =
  'RFC 3339 timestamp with a time zone (Z or +hh:mm), in years 0001-9999 UTC, without leap seconds';

/** The instant `text` names, or undefined when it is not an RFC 3339 timestamp that can be stored. */
export function parseTimestamp(text: string): Date | undefined {
  const match = timestampPattern.exec(text);
  if (match === null) return undefined;
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, offsetHours = 0, offsetMinutes = 0] =
    [1, 2, 3, 4, 5, 6, 10, 11].map((index) => Number(match[index] ?? 0));
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const milliseconds = Number((match[7] ?? '').padEnd(3, '0').slice(0, 3));
  const local = new Date(0);
  local.setUTCFullYear(year, month - 1, day);
  local.setUTCHours(hour, minute, second, milliseconds);
  const offsetMs = (match[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  const instantMs = local.getTime() - offsetMs;
  if (instantMs < earliestMs || instantMs > latestMs) return undefined;
  return new Date(instantMs);
}

/** The instant `text` names; anything else is a bad_request on `field`. */
export function readTimestamp(text: string, field: string): Date {
  const time = parseTimestamp(text);
  if (time === undefined) throw invalidField(field, `must be an ${timestampDescription}`, 'invalid');
  return time;
}

/** readTimestamp for an optional field: absent stays absent. */
export function readOptionalTimestamp(text: string | undefined, field: string): Date | undefined {
  return text === undefined ? undefined : readTimestamp(text, field);
}

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}
