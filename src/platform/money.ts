// Money: an amount is a bigint count of minor units at its asset's scale, never a JavaScript number.
// This is the only place that parses or formats decimal strings. Nothing is rounded silently: more
// decimals than the scale allows answer 400 invalid_scale, and non-canonical forms ("1e5", "0x10",
// " 1", "1.", ".5", "-0", "01") are refused.
import { DomainError, invalidField } from './errors.js';
import { amountDigitsMax } from './limits.js';

export const scaleMax = 18;

const canonicalDecimal = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

/**
 * Parses a positive decimal string at `scale` into minor units. Trailing zeros beyond the scale are
 * accepted ("1.500" at scale 2 is exactly 150); any other excess decimal is invalid_scale.
 */
export function parseAmount(text: string, scale: number, field = 'amount'): bigint {
  const minor = parseDecimal(text, scale, field);
  if (minor <= 0n) throw invalidField(field, 'must be positive');
  return minor;
}

/** Like parseAmount, but zero is allowed and a leading "-" gives a negative amount (filters). */
export function parseSignedAmount(text: string, scale: number, field: string): bigint {
  const negative = text.startsWith('-');
  const minor = parseDecimal(negative ? text.slice(1) : text, scale, field);
  if (negative && minor === 0n) throw invalidField(field, 'must not be negative zero');
  return negative ? -minor : minor;
}

function parseDecimal(text: string, scale: number, field: string): bigint {
  const match = canonicalDecimal.exec(text);
  if (match === null) throw invalidField(field, 'must be a decimal string such as "10" or "10.50"');
  const whole = match[1] ?? '0';
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > scale) {
    throw new DomainError('invalid_scale', `${field} has more than ${scale} decimal places`, {
      field,
      reason: 'invalid_scale',
      scale,
    });
  }
  const digits = `${whole}${fraction.padEnd(scale, '0')}`.replace(/^0+(?=.)/, '');
  if (digits.length > amountDigitsMax) {
    throw invalidField(field, `must have at most ${amountDigitsMax} significant digits at the asset's scale`);
  }
  return BigInt(digits);
}

/** Formats minor units at `scale` with exactly `scale` decimals: formatAmount(150n, 2) = "1.50". */
export function formatAmount(minor: bigint, scale: number): string {
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale);
  return `${negative ? '-' : ''}${whole}${scale > 0 ? `.${fraction}` : ''}`;
}

/** Reads a NUMERIC(38, 0) column, which node-postgres hands over as a string. */
export function fromNumeric(value: string | bigint | number): bigint {
  if (typeof value === 'bigint') return value;
  return BigInt(typeof value === 'number' ? Math.trunc(value) : (value.split('.')[0] ?? '0'));
}

export function minAmount(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
