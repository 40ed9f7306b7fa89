// The one decimal codec: the only place that parses or formats decimal strings.
// - Money: an amount is a bigint count of minor units at its asset's scale, never a JavaScript
//   number. Nothing is rounded silently: more decimals than the scale allows answer 400
//   invalid_scale, and non-canonical forms ("1e5", "0x10", " 1", "1.", ".5", "-0", "01") are refused.
// - Exact decimals of any scale, for what rules compute and compare (amounts before they meet an
//   asset, budget limits and consumption); rounding to an asset's scale is not done there: an
//   amount with more decimals than the asset allows fails the event where the ledger applies it.
// - Counter values: units of 10^-18 (NUMERIC(38, 18) in the database). A counter is not money (no
//   asset), but its decimals are written and read the same way.
import { assert } from './assert.js';
import { DomainError, invalidField } from './errors.js';
import { amountDigitsMax, counterFractionDigitsMax, counterIntegerDigitsMax } from './limits.js';

const canonicalDecimal = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

/**
 * Parses a positive decimal string at `scale` into minor units. Trailing zeros beyond the scale are
 * accepted ("1.500" at scale 2 is exactly 150); any other excess decimal is invalid_scale.
 */
export function parseAmount(text: string, scale: number, field = 'amount'): bigint {
  const minor = parseMinorUnits(text, scale, field);
  if (minor <= 0n) throw invalidField(field, 'must be positive');
  return minor;
}

/** Like parseAmount, but zero is allowed and a leading "-" gives a negative amount (filters). */
export function parseSignedAmount(text: string, scale: number, field: string): bigint {
  const negative = text.startsWith('-');
  const minor = parseMinorUnits(negative ? text.slice(1) : text, scale, field);
  if (negative && minor === 0n) throw invalidField(field, 'must not be negative zero');
  return negative ? -minor : minor;
}

function parseMinorUnits(text: string, scale: number, field: string): bigint {
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

/** An exact decimal: `units` of 10^-scale. */
export interface Decimal {
  units: bigint;
  scale: number;
}

const decimalPattern = /^(-)?(\d+)(?:\.(\d+))?$/;

export function isDecimalString(text: string): boolean {
  return decimalPattern.test(text);
}

/** A decimal string (callers check it with isDecimalString or a schema first) at its own scale. */
export function parseDecimal(text: string): Decimal {
  const match = decimalPattern.exec(text);
  assert(match !== null, `not a decimal: ${text}`);
  const fraction = match[3] ?? '';
  const units = BigInt(`${match[2]}${fraction}`);
  return { units: match[1] === '-' ? -units : units, scale: fraction.length };
}

export function formatDecimal(value: Decimal): string {
  return formatAmount(value.units, value.scale);
}

function rescale(value: Decimal, scale: number): bigint {
  return value.units * 10n ** BigInt(scale - value.scale);
}

/** To fewer decimals, rounding half away from zero; to more, exactly. */
function rescaleRounded(value: Decimal, scale: number): bigint {
  if (scale >= value.scale) return rescale(value, scale);
  const divisor = 10n ** BigInt(value.scale - scale);
  const magnitude = value.units < 0n ? -value.units : value.units;
  const rounded = magnitude / divisor + ((magnitude % divisor) * 2n >= divisor ? 1n : 0n);
  return value.units < 0n ? -rounded : rounded;
}

export function compareDecimals(a: string, b: string): number {
  const left = parseDecimal(a);
  const right = parseDecimal(b);
  const scale = Math.max(left.scale, right.scale);
  const difference = rescale(left, scale) - rescale(right, scale);
  return difference === 0n ? 0 : difference > 0n ? 1 : -1;
}

export function addDecimals(a: string, b: string): string {
  const left = parseDecimal(a);
  const right = parseDecimal(b);
  const scale = Math.max(left.scale, right.scale);
  return formatDecimal({ units: rescale(left, scale) + rescale(right, scale), scale });
}

export function subtractDecimals(a: string, b: string): string {
  return addDecimals(a, b.startsWith('-') ? b.slice(1) : `-${b}`);
}

/**
 * A finite CEL number as a plain decimal string: integers exactly, doubles by their shortest
 * round-trip form (what String() gives), never in exponent notation. `0.1 * 3` stays
 * "0.30000000000000004", so a rule that needs cents must round.
 */
export function numberToDecimalString(value: number | bigint): string {
  if (typeof value === 'bigint') return value.toString();
  assert(Number.isFinite(value), `${value} is not a finite number`);
  const text = String(value);
  const exponent = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (exponent === null) return text === '-0' ? '0' : text;
  const digits = `${exponent[2]}${exponent[3] ?? ''}`;
  const power = Number(exponent[4]) - (exponent[3]?.length ?? 0);
  const units = BigInt(digits) * (power > 0 ? 10n ** BigInt(power) : 1n);
  return `${exponent[1]}${formatDecimal({ units, scale: power < 0 ? -power : 0 })}`;
}

const counterUnitsMax = 10n ** BigInt(counterIntegerDigitsMax + counterFractionDigitsMax) - 1n;

/** The decimal strings a counter accepts: an optional minus, digits, an optional fraction. */
export const counterValuePattern = `^-?[0-9]{1,${counterIntegerDigitsMax}}(\\.[0-9]{1,${counterFractionDigitsMax}})?$`;
const counterValueRegex = new RegExp(counterValuePattern);

/** Units of 10^-18, or undefined when the text is not a decimal a counter can hold. */
export function parseCounterValue(text: string): bigint | undefined {
  if (!counterValueRegex.test(text)) return undefined;
  return rescale(parseDecimal(text), counterFractionDigitsMax);
}

/** Whether the units fit NUMERIC(38, 18); a sum can leave the range its operands were in. */
export function isCounterValueInRange(units: bigint): boolean {
  return units >= -counterUnitsMax && units <= counterUnitsMax;
}

/** The shortest exact decimal string: no trailing fractional zeros, no "-0". */
export function formatCounterValue(units: bigint): string {
  return formatAmount(units, counterFractionDigitsMax).replace(/\.?0+$/, '');
}

/**
 * A CEL number as counter units: its shortest round-trip decimal, rounded half away from zero to
 * 18 decimals. Undefined for NaN, infinities and values out of range.
 */
export function counterUnitsFromNumber(value: number): bigint | undefined {
  if (!Number.isFinite(value)) return undefined;
  const units = rescaleRounded(parseDecimal(numberToDecimalString(value)), counterFractionDigitsMax);
  return isCounterValueInRange(units) ? units : undefined;
}
