import { describe, expect, it } from 'vitest';
import { DomainError } from './errors.js';
import { parseTimestamp, readTimestamp } from './timestamp.js';

describe('parseTimestamp', () => {
  it.each([
    ['2024-01-15T10:30:00Z', '2024-01-15T10:30:00.000Z'],
    ['2024-01-15t10:30:00z', '2024-01-15T10:30:00.000Z'],
    ['2024-01-15 10:30:00Z', '2024-01-15T10:30:00.000Z'],
    ['2024-01-15T10:30:00.5+02:00', '2024-01-15T08:30:00.500Z'],
    ['2024-01-15T10:30:00.123456789-01:30', '2024-01-15T12:00:00.123Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
    ['0001-01-01T00:30:00+00:30', '0001-01-01T00:00:00.000Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
    ['9999-12-31T23:00:00+05:00', '9999-12-31T18:00:00.000Z'],
  ])('reads %s as %s', (text, iso) => {
    expect(parseTimestamp(text)?.toISOString()).toBe(iso);
  });

  it.each([
    ['a leap second', '2016-12-31T23:59:60Z'],
    ['year 0000', '0000-01-01T00:00:00Z'],
    ['year 0000 carried into 0001 by its offset', '0000-12-31T23:00:00-02:00'],
    ['an offset that carries the instant before year 0001', '0001-01-01T00:00:00+01:00'],
    ['an offset that carries the instant past year 9999', '9999-12-31T23:00:00-05:00'],
    ['February 30', '2024-02-30T00:00:00Z'],
    ['February 29 of a common year', '2023-02-29T00:00:00Z'],
    ['hour 24', '2024-01-01T24:00:00Z'],
    ['month 13', '2024-13-01T00:00:00Z'],
    ['an offset of 24 hours', '2024-01-01T00:00:00+24:00'],
    ['no time zone', '2024-01-01T00:00:00'],
    ['a date alone', '2024-01-01'],
    ['a five-digit year', '+10000-01-01T00:00:00Z'],
    ['an empty string', ''],
  ])('refuses %s (%s)', (_label, text) => {
    expect(parseTimestamp(text)).toBeUndefined();
  });

  it('readTimestamp names the field of a timestamp it refuses', () => {
    let error: unknown;
    try {
      readTimestamp('2016-12-31T23:59:60Z', 'active_from');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('bad_request');
    expect((error as DomainError).details?.field).toBe('active_from');
  });
});
