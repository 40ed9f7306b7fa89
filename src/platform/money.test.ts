import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveTimeOrDuration } from './duration.js';
import { DomainError } from './errors.js';
import { formatAmount, parseAmount, parseSignedAmount } from './money.js';

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
