import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveTimeOrDuration } from './duration.js';
import { DomainError } from './errors.js';
import {
  addDecimals,
  compareDecimals,
  counterUnitsFromNumber,
  formatAmount,
  formatCounterValue,
  isCounterValueInRange,
  numberToDecimalString,
  parseAmount,
  parseCounterValue,
  parseSignedAmount,
} from './money.js';

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
    return undefined;
  } catch (error) {
    return error instanceof DomainError ? error.code : 'other';
  }
}

describe('money', () => {
  it('parses at the scale, accepting trailing zeros beyond it', () => {
    expect(parseAmount('1.5', 2)).toBe(150n);
    expect(parseAmount('1.500', 2)).toBe(150n);
    expect(parseAmount('10', 0)).toBe(10n);
    expect(parseAmount('0.000000000000000001', 18)).toBe(1n);
  });

  it('refuses excess decimals with invalid_scale instead of rounding', () => {
    expect(codeOf(() => parseAmount('1.009', 2))).toBe('invalid_scale');
    expect(codeOf(() => parseAmount('1.5', 0))).toBe('invalid_scale');
  });

  it('refuses non-canonical forms, zero and negatives', () => {
    for (const text of [
      '1e5',
      '0x10',
      ' 1',
      '1 ',
      'NaN',
      '1.',
      '.5',
      '-0',
      '-1',
      '0',
      '0.00',
      '01',
      '+1',
      '',
    ]) {
      expect(
        codeOf(() => parseAmount(text, 2)),
        text,
      ).toBe('bad_request');
    }
  });

  it('takes 30 significant digits and refuses 31', () => {
    expect(parseAmount('9'.repeat(30), 0)).toBe(10n ** 30n - 1n);
    expect(codeOf(() => parseAmount('1'.repeat(31), 0))).toBe('bad_request');
    expect(codeOf(() => parseAmount(`${'1'.repeat(13)}`, 18))).toBe('bad_request');
    expect(codeOf(() => parseAmount('1'.repeat(40), 0))).toBe('bad_request');
  });

  it('formats with exactly scale decimals, negatives included', () => {
    expect(formatAmount(150n, 2)).toBe('1.50');
    expect(formatAmount(5n, 3)).toBe('0.005');
    expect(formatAmount(-5n, 2)).toBe('-0.05');
    expect(formatAmount(7n, 0)).toBe('7');
    expect(parseSignedAmount('-1.5', 2, 'min_amount')).toBe(-150n);
  });

  it('round-trips every amount at every scale', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 30n - 1n }),
        fc.integer({ min: 0, max: 18 }),
        (minor, scale) => {
          expect(parseAmount(formatAmount(minor, scale), scale)).toBe(minor);
        },
      ),
    );
  });

  it('resolves Go durations and timestamps', () => {
    const from = new Date('2026-01-01T00:00:00Z');
    expect(resolveTimeOrDuration('8760h', from, 'expires_at').toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(resolveTimeOrDuration('1h30m', from, 'x').toISOString()).toBe('2026-01-01T01:30:00.000Z');
    expect(resolveTimeOrDuration('2026-03-01T00:00:00Z', from, 'x').toISOString()).toBe(
      '2026-03-01T00:00:00.000Z',
    );
    expect(codeOf(() => resolveTimeOrDuration('30d', from, 'x'))).toBe('bad_request');
  });
});

describe('decimals', () => {
  it('formats CEL numbers as plain decimals and compares and adds exactly', () => {
    expect(numberToDecimalString(0.1 * 3)).toBe('0.30000000000000004');
    expect(numberToDecimalString(1e21)).toBe('1000000000000000000000');
    expect(numberToDecimalString(1.5e-7)).toBe('0.00000015');
    expect(numberToDecimalString(-0)).toBe('0');
    expect(numberToDecimalString(12n)).toBe('12');
    expect(() => numberToDecimalString(Number.NaN)).toThrow();
    expect(compareDecimals('10.00', '10')).toBe(0);
    expect(compareDecimals('9.999', '10')).toBe(-1);
    expect(addDecimals('4500.00', '0.5')).toBe('4500.50');
    expect(addDecimals('-1', '0.25')).toBe('-0.75');
  });
});

describe('counter values', () => {
  it('round-trips exact decimals in their shortest form', () => {
    const cases: [string, string][] = [
      ['0', '0'],
      ['7', '7'],
      ['-0', '0'],
      ['389.99', '389.99'],
      ['10.50', '10.5'],
      ['-0.000000000000000001', '-0.000000000000000001'],
      ['007', '7'],
      ['99999999999999999999.999999999999999999', '99999999999999999999.999999999999999999'],
    ];
    for (const [input, output] of cases) {
      const units = parseCounterValue(input);
      expect(units, input).toBeDefined();
      expect(formatCounterValue(units as bigint)).toBe(output);
    }
  });

  it('adds exactly where floating point would not', () => {
    const sum = (parseCounterValue('340.00') as bigint) + (parseCounterValue('49.99') as bigint);
    expect(formatCounterValue(sum)).toBe('389.99');
    const tenths = (parseCounterValue('0.1') as bigint) + (parseCounterValue('0.2') as bigint);
    expect(formatCounterValue(tenths)).toBe('0.3');
  });

  it('refuses exponents, NaN, spaces, signs other than a leading minus, and too many digits', () => {
    for (const text of [
      '1e5',
      'NaN',
      'Infinity',
      ' 1',
      '1 ',
      '+1',
      '1.',
      '.5',
      '',
      '-',
      '1,5',
      '0x10',
      '1'.repeat(21),
      `1.${'1'.repeat(19)}`,
    ]) {
      expect(parseCounterValue(text), text).toBeUndefined();
    }
    expect(parseCounterValue('1'.repeat(20))).toBeDefined();
    expect(parseCounterValue(`1.${'1'.repeat(18)}`)).toBeDefined();
  });

  it('knows the NUMERIC(38, 18) range, which a sum can leave', () => {
    const max = parseCounterValue('99999999999999999999.999999999999999999') as bigint;
    expect(isCounterValueInRange(max)).toBe(true);
    expect(isCounterValueInRange(-max)).toBe(true);
    expect(isCounterValueInRange(max + 1n)).toBe(false);
    expect(isCounterValueInRange(-max - 1n)).toBe(false);
  });
});

describe('counterUnitsFromNumber', () => {
  it('writes CEL numbers as plain decimals, exponents expanded, rounded to 18 decimals', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [-0, '0'],
      [7, '7'],
      [49.99, '49.99'],
      [-1.5, '-1.5'],
      [0.1 + 0.2, '0.30000000000000004'],
      [1e-7, '0.0000001'],
      [-2.5e-10, '-0.00000000025'],
      [1.5e-18, '0.000000000000000002'],
      [4e-19, '0'],
      [1e19, '10000000000000000000'],
      [123456789.123, '123456789.123'],
    ];
    for (const [input, output] of cases) {
      const units = counterUnitsFromNumber(input);
      expect(units === undefined ? undefined : formatCounterValue(units), String(input)).toBe(output);
    }
  });

  it('refuses NaN, infinities and values beyond 20 integer digits', () => {
    for (const input of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e20, -1e21]) {
      expect(counterUnitsFromNumber(input), String(input)).toBeUndefined();
    }
  });
});
