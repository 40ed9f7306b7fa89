// The lazy auto-reset of counters. Pure.

/**
 * Whether the auto-reset window has passed: reset_after counted from last_reset_at (creation, the
 * last absolute set, or the last auto-reset). At exactly the boundary the counter has reset.
 */
export function isResetDue(resetAfterMs: number | null, lastResetAt: Date, now: Date): boolean {
  return resetAfterMs !== null && now.getTime() - lastResetAt.getTime() >= resetAfterMs;
}
