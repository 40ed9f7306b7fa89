import { describe, expect, it } from 'vitest';
import { parameterSlices } from './parameter-slices.js';

describe('parameterSlices', () => {
  it('keeps every slice within 65,535 parameters and every row in order', () => {
    const rows = Array.from({ length: 10_000 }, (_, index) => index);
    const slices = parameterSlices(rows, 16);
    expect(slices.map((slice) => slice.length)).toEqual([4095, 4095, 1810]);
    expect(slices.flat()).toEqual(rows);
  });

  it('answers one slice at exactly the limit and two one row past it', () => {
    expect(parameterSlices(Array.from({ length: 4095 }), 16)).toHaveLength(1);
    expect(parameterSlices(Array.from({ length: 4096 }), 16)).toHaveLength(2);
    expect(parameterSlices([], 16)).toEqual([]);
  });
});
