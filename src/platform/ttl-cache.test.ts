import { describe, expect, it } from 'vitest';
import { readCacheEntriesMax, readCacheTtlMs } from './limits.js';
import { TtlCache } from './ttl-cache.js';

describe('TtlCache', () => {
  it('answers an entry until readCacheTtlMs after it was stored, and not at readCacheTtlMs', () => {
    const cache = new TtlCache<string>();
    cache.set('k', 'v', 1_000);
    expect(cache.get('k', 1_000 + readCacheTtlMs - 1)).toBe('v');
    expect(cache.get('k', 1_000 + readCacheTtlMs)).toBeUndefined();
    expect(cache.get('k', 1_000)).toBeUndefined();
  });

  it('treats an entry stored after the time asked about (a clock set back) as expired', () => {
    const cache = new TtlCache<string>();
    cache.set('k', 'v', 1_000);
    expect(cache.get('k', 999)).toBeUndefined();
  });

  it('keeps readCacheEntriesMax entries, and forgets the least recently stored at one more', () => {
    const cache = new TtlCache<number>();
    for (let i = 0; i < readCacheEntriesMax; i += 1) cache.set(`k${i}`, i, 0);
    expect(cache.get('k0', 1)).toBe(0);
    expect(cache.get(`k${readCacheEntriesMax - 1}`, 1)).toBe(readCacheEntriesMax - 1);
    cache.set('k0', 0, 0);
    cache.set('extra', -1, 0);
    expect(cache.get('k1', 1)).toBeUndefined();
    expect(cache.get('k0', 1)).toBe(0);
    expect(cache.get('k2', 1)).toBe(2);
    expect(cache.get('extra', 1)).toBe(-1);
  });

  it('forgets the entries whose value matches', () => {
    const cache = new TtlCache<{ id: string }>();
    cache.set('a', { id: 'x' }, 0);
    cache.set('b', { id: 'y' }, 0);
    cache.forget((value) => value.id === 'x');
    expect(cache.get('a', 1)).toBeUndefined();
    expect(cache.get('b', 1)).toEqual({ id: 'y' });
  });
});
