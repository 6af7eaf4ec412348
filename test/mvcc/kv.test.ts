import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeKeyValue, encodeKeyValue, revToBytes, bytesToRev, isTombstoneKey, type KeyValue } from '../../src/mvcc/index.js';
import { toHex, utf8 } from '../../src/util/index.js';

describe('KeyValue wire encoding', () => {
  it('matches the protobuf bytes etcd stores (golden hashKV relies on it)', () => {
    const kv: KeyValue = { key: utf8('foo'), createRevision: 2, modRevision: 300, version: 1, value: utf8('bar'), lease: 0n };
    // 0a 03 "foo" | 10 02 | 18 ac 02 | 20 01 | 2a 03 "bar"
    expect(toHex(encodeKeyValue(kv))).toBe('0a03666f6f100218ac022001' + '2a03626172');
    expect(toHex(encodeKeyValue({ ...kv, createRevision: 0, modRevision: 0, version: 0, value: new Uint8Array(0) }))).toBe('0a03666f6f');
  });

  it('round-trips any key value, lease ids across the whole int64 range', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        fc.nat({ max: 1 << 30 }),
        fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
        (key, value, createRevision, modRevision, version, lease) => {
          const kv: KeyValue = { key, value, createRevision, modRevision, version, lease };
          expect(decodeKeyValue(encodeKeyValue(kv))).toEqual(kv);
        },
      ),
    );
  });

  it('revision keys sort like revisions and mark tombstones', () => {
    const a = revToBytes({ main: 5, sub: 2 });
    const b = revToBytes({ main: 256, sub: 0 }, true);
    expect(toHex(a)).toBe('0000000000000005' + '5f' + '0000000000000002');
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(-1);
    expect(bytesToRev(b)).toEqual({ main: 256, sub: 0 });
    expect(isTombstoneKey(b)).toBe(true);
    expect(isTombstoneKey(a)).toBe(false);
  });
});
