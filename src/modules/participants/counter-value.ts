// Counter values: exact decimals held as bigints of 10^-18 units (NUMERIC(38, 18) in the database),
// and the lazy auto-reset rule. Pure. A counter is not money (no asset, no scale), so it does not go
// through the ledger's amount type.
import { counterFractionDigitsMax, counterIntegerDigitsMax } from '../../platform/limits.js';

const unitsPerOne = 10n ** BigInt(counterFractionDigitsMax);
const unitsMax = 10n ** BigInt(counterIntegerDigitsMax + counterFractionDigitsMax) - 1n;

/** The decimal strings a counter accepts: an optional minus, digits, an optional fraction. */
export const counterValuePattern = `^-?[0-9]{1,${counterIntegerDigitsMax}}(\\.[0-9]{1,${counterFractionDigitsMax}})?$`;
const counterValueRegex = new RegExp(counterValuePattern);

/** Units of 10^-18, or undefined when the text is not a decimal a counter can hold. */
export function parseCounterValue(text: string): bigint | undefined {
  if (!counterValueRegex.test(text)) return undefined;
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  const units = BigInt(whole) * unitsPerOne + BigInt(fraction.padEnd(counterFractionDigitsMax, '0'));
  return negative ? -units : units;
}

/** Whether the units fit NUMERIC(38, 18); a sum can leave the range its operands were in. */
export function isCounterValueInRange(units: bigint): boolean {
  return units >= -unitsMax && units <= unitsMax;
}

/** The shortest exact decimal string: no trailing fractional zeros, no "-0". */
export function formatCounterValue(units: bigint): string {
  const negative = units < 0n;
  const magnitude = negative ? -units : units;
  const whole = magnitude / unitsPerOne;
  const fraction = (magnitude % unitsPerOne).toString().padStart(counterFractionDigitsMax, '0');
  const trimmed = fraction.replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${trimmed === '' ? '' : `.${trimmed}`}`;
}

/**
 * Whether the auto-reset window has passed: reset_after counted from last_reset_at (creation, the
 * last absolute set, or the last auto-reset). At exactly the boundary the counter has reset.
 */
export function isResetDue(resetAfterMs: number | null, lastResetAt: Date, now: Date): boolean {
  return resetAfterMs !== null && now.getTime() - lastResetAt.getTime() >= resetAfterMs;
}

/**
 * A CEL number as a counter value: the shortest decimal that reads back as the same double (what
 * String() gives), written without an exponent, rounded half away from zero to 18 decimals.
 * Undefined for NaN, infinities and values out of range. `String(1e-7)` is "1e-7", which the
 * decimal pattern refuses, so the event processor converts rule results with this.
 */
export function counterValueFromNumber(value: number): string | undefined {
  if (!Number.isFinite(value)) return undefined;
  const [mantissa = '', exponent = '0'] = String(value).split('e');
  const negative = mantissa.startsWith('-');
  const [whole = '', fraction = ''] = (negative ? mantissa.slice(1) : mantissa).split('.');
  const digits = BigInt(whole + fraction);
  const fractionDigits = fraction.length - Number(exponent);
  const shift = counterFractionDigitsMax - fractionDigits;
  let units: bigint;
  if (shift >= 0) {
    units = digits * 10n ** BigInt(shift);
  } else {
    const divisor = 10n ** BigInt(-shift);
    units = digits / divisor + ((digits % divisor) * 2n >= divisor ? 1n : 0n);
  }
  const signed = negative ? -units : units;
  return isCounterValueInRange(signed) ? formatCounterValue(signed) : undefined;
}
