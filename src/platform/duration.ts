// Durations written Go style ("24h", "720h", "90m", "1h30m", "1.5h", "500ms"), as the Scrip API
// writes reset_after, delay and expiry windows. Pure: no clock of its own.
import { invalidField } from './errors.js';
import { durationMsMax } from './limits.js';
import { readTimestamp } from './timestamp.js';

const unitMs: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const wholePattern = /^(?:\d+(?:\.\d+)?(?:h|ms|m|s))+$/;
const partPattern = /(\d+(?:\.\d+)?)(h|ms|m|s)/g;

/**
 * Milliseconds in a Go-style duration, or undefined when the text is not one. Accepted units are
 * h, m, s and ms (Go's ns and us are refused: nothing in Accrue is finer than a millisecond), each
 * number may have decimals, and the total must be a whole number of milliseconds no larger than
 * durationMsMax. Go's "0" without a unit, signs and days ("7d") are refused: a zero or negative
 * window is meaningless wherever Accrue takes a duration.
 */
export function parseDurationMs(text: string): number | undefined {
  if (!wholePattern.test(text)) return undefined;
  let totalMs = 0;
  for (const [, amount, unit] of text.matchAll(partPattern)) {
    totalMs += Number(amount) * (unitMs[unit ?? ''] ?? Number.NaN);
  }
  // Decimal parts such as "0.1s" land on float noise; round to the millisecond they clearly mean.
  const roundedMs = Math.round(totalMs);
  if (Math.abs(totalMs - roundedMs) > 1e-6 || roundedMs <= 0 || roundedMs > durationMsMax) return undefined;
  return roundedMs;
}

/** A duration counted from `from`, or an RFC 3339 timestamp; anything else is a bad_request on `field`. */
export function resolveTimeOrDuration(text: string, from: Date, field: string): Date {
  if (/^[0-9]{4}-[0-9]{2}-[0-9]{2}T/i.test(text)) return readTimestamp(text, field);
  const ms = parseDurationMs(text);
  if (ms === undefined)
    throw invalidField(field, 'must be a duration such as "720h" or an RFC 3339 timestamp');
  return new Date(from.getTime() + ms);
}
