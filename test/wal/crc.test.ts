import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc32c, utf8 } from '../../src/util/index.js';

/** The plain bitwise definition, to check the sliced table implementation the WAL relies on. */
function crc32cBitwise(data: Uint8Array, previous = 0): number {
  let crc = (previous ^ 0xffffffff) >>> 0;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0x82f63b78 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe('crc32c (as the WAL uses it)', () => {
  it('matches the standard check values', () => {
    expect(crc32c(utf8('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(new Uint8Array())).toBe(0);
  });

  it('equals the bitwise definition for any bytes, offsets and chaining', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(20), fc.nat(), (bytes, cut, seed) => {
        const view = bytes.subarray(Math.min(cut, bytes.length));
        expect(crc32c(view, seed >>> 0)).toBe(crc32cBitwise(view, seed >>> 0));
        const mid = Math.floor(bytes.length / 2);
        expect(crc32c(bytes.subarray(mid), crc32c(bytes.subarray(0, mid)))).toBe(crc32c(bytes));
      }),
    );
  });
});
