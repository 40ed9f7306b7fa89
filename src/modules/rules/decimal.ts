// Exact decimal arithmetic for what rules compute and compare (amounts, budget limits and
// consumption). Values are decimal strings on the wire, as in the API; here they become a bigint of
// units at a scale. Rounding to an asset's scale is not done here: an amount with more decimals than
// the asset allows fails the event where the ledger applies it.

export interface Decimal {
  units: bigint;
  scale: number;
}

const decimalPattern = /^(-)?(\d+)(?:\.(\d+))?$/;

export function isDecimalString(text: string): boolean {
  return decimalPattern.test(text);
}

export function parseDecimal(text: string): Decimal {
  const match = decimalPattern.exec(text);
  if (match === null) throw new Error(`not a decimal: ${text}`);
  const fraction = match[3] ?? '';
  const units = BigInt(`${match[2]}${fraction}`);
  return { units: match[1] === '-' ? -units : units, scale: fraction.length };
}

function rescale(value: Decimal, scale: number): bigint {
  return value.units * 10n ** BigInt(scale - value.scale);
}

export function compareDecimals(a: string, b: string): number {
  const left = parseDecimal(a);
  const right = parseDecimal(b);
  const scale = Math.max(left.scale, right.scale);
  const difference = rescale(left, scale) - rescale(right, scale);
  return difference === 0n ? 0 : difference > 0n ? 1 : -1;
}

export function formatDecimal(value: Decimal): string {
  const negative = value.units < 0n;
  const digits = (negative ? -value.units : value.units).toString().padStart(value.scale + 1, '0');
  const whole = digits.slice(0, digits.length - value.scale);
  const fraction = digits.slice(digits.length - value.scale);
  return `${negative ? '-' : ''}${whole}${value.scale > 0 ? `.${fraction}` : ''}`;
}

export function addDecimals(a: string, b: string): string {
  const left = parseDecimal(a);
  const right = parseDecimal(b);
  const scale = Math.max(left.scale, right.scale);
  return formatDecimal({ units: rescale(left, scale) + rescale(right, scale), scale });
}

export function subtractDecimals(a: string, b: string): string {
  return addDecimals(a, negateDecimal(b));
}

function negateDecimal(text: string): string {
  return text.startsWith('-') ? text.slice(1) : `-${text}`;
}

/**
 * A CEL number as a plain decimal string: integers exactly, doubles by their shortest round-trip
 * form, never in exponent notation. `0.1 * 3` stays "0.30000000000000004", so a rule that needs
 * cents must round.
 */
export function numberToDecimalString(value: number | bigint): string {
  if (typeof value === 'bigint') return value.toString();
  if (!Number.isFinite(value)) throw new Error(`${value} is not a finite number`);
  const text = String(value);
  const exponent = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (exponent === null) return text === '-0' ? '0' : text;
  const digits = `${exponent[2]}${exponent[3] ?? ''}`;
  const power = Number(exponent[4]) - (exponent[3]?.length ?? 0);
  const units = BigInt(digits) * (power > 0 ? 10n ** BigInt(power) : 1n);
  const formatted = formatDecimal({ units, scale: power < 0 ? -power : 0 });
  return `${exponent[1]}${formatted}`;
}
