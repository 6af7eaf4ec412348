import { describe, expect, it } from 'vitest';
import { allocBytes, copyBytes } from '../../src/mvcc/index.js';

describe('slab byte arrays', () => {
  it('hands out zeroed, non-overlapping views, also across slab boundaries', () => {
    const arrays: Uint8Array[] = [];
    // 300 KiB in odd sizes crosses several 64 KiB slabs.
    for (let i = 0; i < 1500; i++) {
      const a = allocBytes(1 + ((i * 37) % 400));
      expect(a.every((b) => b === 0)).toBe(true);
      a.fill(i & 0xff);
      arrays.push(a);
    }
    arrays.forEach((a, i) => expect(a.every((b) => b === (i & 0xff))).toBe(true));
    for (let i = 1; i < arrays.length; i++) {
      const prev = arrays[i - 1] as Uint8Array;
      const cur = arrays[i] as Uint8Array;
      if (prev.buffer === cur.buffer) expect(cur.byteOffset).toBeGreaterThanOrEqual(prev.byteOffset + prev.length);
    }
  });

  it('copies share no memory with the source; large arrays get their own buffer', () => {
    const src = Uint8Array.from([1, 2, 3, 4]);
    const copy = copyBytes(src);
    src.fill(9);
    expect([...copy]).toEqual([1, 2, 3, 4]);
    const big = allocBytes(100_000);
    expect(big.byteOffset).toBe(0);
    expect(big.buffer.byteLength).toBe(100_000);
    expect(allocBytes(0).length).toBe(0);
    expect(() => allocBytes(-1)).toThrow(/bad byte length/);
  });
});
