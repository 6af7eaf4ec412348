/**
 * The payload codec's fast form (walk, then plain JSON) writes exactly the bytes of the replacer
 * form it replaced, so WAL entries written before and after read the same, and decodes both
 * back to the same value: bytes as Uint8Array, 64-bit ids as bigint.
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
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 5 }), tie('node'), { maxKeys: 4 })),
})).node;

describe('payload codec', () => {
  it('encodes byte for byte as the replacer form and decodes like the reviver form', () => {
    fc.assert(
      fc.property(value, (v) => {
        const bytes = encodePayload(v);
        expect(Buffer.from(bytes).equals(Buffer.from(referenceEncode(v)))).toBe(true);
        if (bytes.length > 0) expect(decodePayload(bytes)).toEqual(referenceDecode(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips a request with bytes and 64-bit ids', () => {
    const req = { put: { key: utf8('k'), value: new Uint8Array([0, 255, 7]), lease: 2n ** 63n - 1n }, header: { username: 'u', authRevision: 3 } };
    expect(decodePayload(encodePayload(req))).toEqual(req);
  });
});
