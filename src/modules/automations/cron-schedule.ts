// When a cron automation fires: five-field cron expressions stepped by croner in an IANA time zone,
// which keeps wall-clock times across DST changes (a 02:30 run on a day that skips 02:00-03:00 fires
// once, at 03:00; one in an hour that repeats fires once, the first time). Pure.
import { Cron } from 'croner';
import { invalidField } from '../../platform/errors.js';

const timezonePrefix = /^\s*(CRON_TZ|TZ)=/i;

/** The IANA name, or a 400 naming `field`. Offsets and POSIX rules ("EST5EDT", "+02:00") are refused. */
export function checkTimezone(timezone: string, field: string): void {
  if (!/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(timezone) || !isKnownTimezone(timezone)) {
    throw invalidField(field, `"${timezone}" is not an IANA time zone (e.g. Europe/Paris, UTC)`);
  }
}

function isKnownTimezone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** Parses the expression as the scheduler will, or answers a 400 naming `field`. */
export function checkCronExpression(expression: string, field: string): void {
  if (timezonePrefix.test(expression)) {
    throw invalidField(field, 'CRON_TZ= and TZ= prefixes are not accepted; set timezone instead');
  }
  if (expression.trim().split(/\s+/).length !== 5) {
    throw invalidField(field, 'needs five fields: minute hour day-of-month month day-of-week');
  }
  try {
    new Cron(expression, { paused: true, timezone: 'UTC' });
  } catch (error) {
    throw invalidField(field, `is not a valid cron expression (${(error as Error).message})`);
  }
}

/** The first time strictly after `after` that the expression names in `timezone`; null if never. */
export function nextCronRun(expression: string, timezone: string, after: Date): Date | null {
  return new Cron(expression, { paused: true, timezone }).nextRun(after);
}
