// Durations in Go's notation, as the Scrip API writes them: "8760h", "30m", "1h30m", "90s".
// Days are not a Go unit and are refused, so "30d" is an error rather than a guess.
import { invalidField } from './errors.js';

const unitMs: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const whole = /^(?:[0-9]+(?:\.[0-9]+)?(?:h|ms|m|s))+$/;
const part = /([0-9]+(?:\.[0-9]+)?)(h|ms|m|s)/g;

/** Milliseconds in a Go duration; throws validation_error naming `field` when it is not one. */
export function parseDurationMs(text: string, field: string): number {
  if (!whole.test(text))
    throw invalidField(field, 'must be a duration such as "720h" or an RFC 3339 timestamp');
  let total = 0;
  for (const [, value, unit] of text.matchAll(part)) total += Number(value) * (unitMs[unit ?? 'ms'] ?? 1);
  return Math.round(total);
}

/** A duration counted from `from`, or an RFC 3339 timestamp. */
export function resolveTimeOrDuration(text: string, from: Date, field: string): Date {
  if (/^[0-9]{4}-[0-9]{2}-[0-9]{2}T/.test(text)) {
    const time = new Date(text);
    if (Number.isNaN(time.getTime())) throw invalidField(field, 'is not a valid timestamp');
    return time;
  }
  return new Date(from.getTime() + parseDurationMs(text, field));
}
