import { describe, expect, it } from 'vitest';
import { isResetDue } from './counter-reset.js';

describe('counter auto-reset', () => {
  it('resets once reset_after has passed since last_reset_at, at the boundary included', () => {
    const last = new Date('2025-01-01T00:00:00Z');
    const day = 86_400_000;
    expect(isResetDue(day, last, new Date('2025-01-01T23:59:59.999Z'))).toBe(false);
    expect(isResetDue(day, last, new Date('2025-01-02T00:00:00Z'))).toBe(true);
    expect(isResetDue(null, last, new Date('2099-01-01T00:00:00Z'))).toBe(false);
  });
});
