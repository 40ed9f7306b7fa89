import { describe, expect, it } from 'vitest';
import {
  counterValueFromNumber,
  formatCounterValue,
  isCounterValueInRange,
  isResetDue,
  parseCounterValue,
} from './counter-value.js';

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

  it('resets once reset_after has passed since last_reset_at, at the boundary included', () => {
    const last = new Date('2025-01-01T00:00:00Z');
    const day = 86_400_000;
    expect(isResetDue(day, last, new Date('2025-01-01T23:59:59.999Z'))).toBe(false);
    expect(isResetDue(day, last, new Date('2025-01-02T00:00:00Z'))).toBe(true);
    expect(isResetDue(null, last, new Date('2099-01-01T00:00:00Z'))).toBe(false);
  });
});

describe('counterValueFromNumber', () => {
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
    for (const [input, output] of cases) expect(counterValueFromNumber(input), String(input)).toBe(output);
  });

  it('refuses NaN, infinities and values beyond 20 integer digits', () => {
    for (const input of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e20, -1e21]) {
      expect(counterValueFromNumber(input), String(input)).toBeUndefined();
    }
  });
});
