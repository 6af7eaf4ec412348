/**
 * The payload codec writes a binary form (first byte 0x00) and still reads the JSON form every
 * earlier WAL entry holds. Both must decode to exactly what the original JSON codec (replacer and
 * reviver, kept here as the reference) gave: bytes as Uint8Array, 64-bit ids as bigint,
 * undefined properties dropped, non-finite numbers as null.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePayload, encodePayload } from '../../src/apply/index.js';
import { fromBase64, fromUtf8, toBase64, utf8 } from '../../src/util/index.js';

/** The original codec, kept here as the reference. */
function referenceEncode(value: unknown): Uint8Array {
  return utf8(JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Uint8Array) return { $b: toBase64(v) };
    if (typeof v === 'bigint') return { $n: v.toString() };
    return v;
  }));
}

function referenceDecode(bytes: Uint8Array): unknown {
  return JSON.parse(fromUtf8(bytes), (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o['$b'] === 'string' && Object.keys(o).length === 1) return fromBase64(o['$b']);
      if (typeof o['$n'] === 'string' && Object.keys(o).length === 1) return BigInt(o['$n']);
    }
    return v;
  });
}

const leaf = fc.oneof(
  fc.uint8Array({ maxLength: 30 }),
  fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }),
  fc.string({ maxLength: 8 }),
  fc.string({ maxLength: 8, unit: 'binary' }), // any code unit, lone surrogates included
  fc.string({ minLength: 120, maxLength: 200 }),
  fc.integer(),
  fc.integer({ min: -(2 ** 33), max: 2 ** 33 }),
  fc.double(),
  fc.constantFrom(-0, NaN, Infinity, 2 ** 31, -(2 ** 31), 2 ** 31 - 1),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);
const key = fc.oneof(fc.string({ maxLength: 5 }), fc.constantFrom('__proto__', '$b', '$n', '0', '10', 'put', 'é'));
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(key, tie('node'), { maxKeys: 4 })),
})).node;

/** The value the original codec gave back for `v`. */
const throughJson = (v: unknown): unknown => referenceDecode(referenceEncode(v));

/** `actual` gives what `expected` gives, or throws where it throws ({"$n": "x"} never decoded). */
function expectSameOutcome(actual: () => unknown, expected: () => unknown): void {
  let want: unknown;
  try {
    want = expected();
  } catch {
    expect(actual).toThrow();
    return;
  }
  expect(actual()).toStrictEqual(want);
}

describe('payload codec', () => {
  it('decodes what it encodes to exactly what the JSON codec gave back', () => {
    fc.assert(
      fc.property(value, (v) => {
        fc.pre(v !== undefined); // JSON has no text for a bare undefined
        expectSameOutcome(() => decodePayload(encodePayload(v)), () => throughJson(v));
      }),
      { numRuns: 1000 },
    );
  });

  it('still decodes payloads in the old JSON form', () => {
    fc.assert(
      fc.property(value, (v) => {
        fc.pre(v !== undefined);
        const old = referenceEncode(v);
        expectSameOutcome(() => decodePayload(old), () => referenceDecode(old));
      }),
      { numRuns: 500 },
    );
  });

  it('writes requests in the binary form, smaller than JSON', () => {
    const req = {
      put: { key: utf8('key-000000000001'), value: new Uint8Array(256).fill(7), lease: 2n ** 63n - 1n, prevKv: false },
      header: { username: 'ü-user', authRevision: 3 },
    };
    const bytes = encodePayload(req);
    expect(bytes[0]).toBe(0x00);
    expect(bytes.length).toBeLessThan(referenceEncode(req).length * 0.75);
    const back = decodePayload<typeof req>(bytes);
    expect(back).toStrictEqual(req);
    // Decoded bytes are copies: they outlive the entry buffer (index keys, watch events), so
    // they share no memory with it (small ones live in a slab of their own, see mvcc/slab.ts).
    const value = back.put.value.slice();
    const key = back.put.key.slice();
    bytes.fill(0xee);
    expect(back.put.value).toEqual(value);
    expect(back.put.key).toEqual(key);
  });

  it('falls back to JSON for what the binary form does not model', () => {
    for (const v of [{ s: 'a\ud800b' }, { x: { $b: 'AAEC' } }, { $n: '12' }, { d: new Date(0) }, { f: () => 1 }, [new Map()]]) {
      const bytes = encodePayload(v);
      expect(bytes[0]).toBe('{'.charCodeAt(0) === bytes[0] ? 0x7b : 0x5b);
      expect(decodePayload(bytes)).toStrictEqual(throughJson(v));
    }
  });

  it('rejects a truncated or unknown binary payload instead of guessing', () => {
    const bytes = encodePayload({ put: { key: utf8('k'), value: utf8('v') } });
    expect(() => decodePayload(bytes.subarray(0, bytes.length - 1))).toThrow(/truncated/);
    expect(() => decodePayload(new Uint8Array([0, 9, 1]))).toThrow(/version/);
    expect(() => decodePayload(new Uint8Array([0, 1, 1, 1]))).toThrow(/trailing/);
  });

  it('puts take the fixed put layout and decode to what the JSON codec gave, key order included', () => {
    const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined, freq: 3 });
    const odd = fc.oneof(fc.integer(), fc.string({ maxLength: 3 }), fc.constant(null)); // a wrongly typed field
    /** Mostly the right type, now and then a wrong one. */
    const typed = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ arbitrary: arb, weight: 15 }, { arbitrary: odd, weight: 1 });
    const bool = typed(fc.boolean());
    const putArb = fc.record(
      {
        key: typed(fc.uint8Array({ maxLength: 20 })),
        value: maybe(typed(fc.uint8Array({ maxLength: 300 }))),
        lease: maybe(typed(fc.oneof(fc.constant(0n), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n })))),
        prevKv: maybe(bool),
        ignoreValue: maybe(bool),
        ignoreLease: maybe(bool),
      },
      { requiredKeys: ['key'] },
    );
    const headerArb = fc.record({
      username: typed(fc.oneof(fc.string({ maxLength: 6 }), fc.string({ maxLength: 4, unit: 'binary' }))),
      authRevision: typed(fc.oneof(fc.nat(), fc.constantFrom(-0, -1, 2 ** 31, 2 ** 31 - 1, 0.5))),
    });
    const rarely = fc.integer({ min: 0, max: 9 }).map((n) => n === 0);
    const request = fc.tuple(putArb, maybe(headerArb), rarely, rarely).map(([put, header, shuffle, extra]) => {
      const p: Record<string, unknown> = shuffle ? Object.fromEntries(Object.entries(put).reverse()) : put;
      if (extra) p['other'] = 1;
      return header === undefined ? { put: p } : { put: p, header };
    });
    let fixed = 0;
    fc.assert(
      fc.property(request, (v) => {
        const bytes = encodePayload(v);
        if (bytes[0] === 0 && bytes[1] === 2) fixed++;
        const back = decodePayload<Record<string, unknown>>(bytes);
        const want = throughJson(v) as Record<string, unknown>;
        expect(back).toStrictEqual(want);
        expect(Object.keys(back)).toEqual(Object.keys(want));
        expect(Object.keys(back['put'] as object)).toEqual(Object.keys(want['put'] as object));
      }),
      { numRuns: 2000 },
    );
    expect(fixed).toBeGreaterThan(500); // the generator does reach the fixed layout
  });

  it('a put as the gRPC adapter and kv.propose build it takes the fixed layout', () => {
    const req = {
      put: { key: utf8('k'), value: utf8('v'), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: true },
      header: { username: 'root', authRevision: 7 },
    };
    const bytes = encodePayload(req);
    expect([bytes[0], bytes[1]]).toEqual([0, 2]);
    expect(bytes.length).toBeLessThan(20);
    expect(decodePayload(bytes)).toStrictEqual(req);
    expect(() => decodePayload(new Uint8Array([0, 2, 0x80, 0, 0]))).toThrow(/flags/);
    expect(() => decodePayload(new Uint8Array([0, 2, 0, 0, 1, 65, 9]))).toThrow(/trailing/);
  });
});
