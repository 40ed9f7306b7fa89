// A small in-process cache for reads that every request makes: entries live at most `ttlMs` by the
// caller's clock and at most `entriesMax` are kept (the least recently stored go first). An entry
// stored at a later time than the one asked about (a clock set back) counts as expired.
import { readCacheEntriesMax, readCacheTtlMs } from './limits.js';

interface Entry<V> {
  value: V;
  storedAtMs: number;
}

export class TtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  constructor(
    private readonly ttlMs = readCacheTtlMs,
    private readonly entriesMax = readCacheEntriesMax,
  ) {}

  get(key: string, nowMs: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    const ageMs = nowMs - entry.storedAtMs;
    if (ageMs >= 0 && ageMs < this.ttlMs) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: V, nowMs: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, storedAtMs: nowMs });
    if (this.entries.size <= this.entriesMax) return;
    const oldest = this.entries.keys().next().value;
    if (oldest !== undefined) this.entries.delete(oldest);
  }

  /** Forgets every entry whose value matches: what the process itself has just changed. */
  forget(matches: (value: V) => boolean): void {
    for (const [key, entry] of this.entries) if (matches(entry.value)) this.entries.delete(key);
  }
}
