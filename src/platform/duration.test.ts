import { describe, expect, it } from 'vitest';
import { parseDurationMs } from './duration.js';
import { durationMsMax } from './limits.js';

describe('parseDurationMs', () => {
  it('reads Go-style durations in h, m, s and ms, combined and with decimals', () => {
    expect(parseDurationMs('24h')).toBe(86_400_000);
    expect(parseDurationMs('720h')).toBe(2_592_000_000);
    expect(parseDurationMs('90m')).toBe(5_400_000);
    expect(parseDurationMs('1h30m')).toBe(5_400_000);
    expect(parseDurationMs('1.5h')).toBe(5_400_000);
    expect(parseDurationMs('2h45m30s500ms')).toBe(9_930_500);
    expect(parseDurationMs('0.1s')).toBe(100);
    expect(parseDurationMs('1ms')).toBe(1);
  });

  it('refuses what is not a positive whole number of milliseconds in those units', () => {
    for (const text of [
      '',
      '0',
      '0s',
      '24',
      'h',
      '7d',
      '-1h',
      '+1h',
      ' 1h',
      '1h ',
      '1H',
      '1.h',
      '.5h',
      '1us',
      '1ns',
      '0.5ms',
      '1h-30m',
      'PT1H',
    ]) {
      expect(parseDurationMs(text), text).toBeUndefined();
    }
  });

  it('accepts durationMsMax and refuses one millisecond more', () => {
    expect(parseDurationMs(`${durationMsMax}ms`)).toBe(durationMsMax);
    expect(parseDurationMs(`${durationMsMax + 1}ms`)).toBeUndefined();
  });
});
