import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ConfChange, Entry, HardState, Snapshot } from '../../src/raft/types.js';
import { nodeId, NO_NODE } from '../../src/util/index.js';
import {
  CodecError,
  decodeConfChange,
  decodeEntry,
  decodeHardState,
  decodeSnapFile,
  decodeSnapshot,
  encodeConfChange,
  encodeEntry,
  encodeHardState,
  encodeSnapFile,
  encodeSnapshot,
} from '../../src/wal/index.js';

const safeNat = fc.maxSafeNat();
const idArb = fc.string({ minLength: 1, maxLength: 20 }).map((s) => nodeId(s));
const bytesArb = fc.uint8Array({ maxLength: 200 });

const entryArb: fc.Arbitrary<Entry> = fc.record({
  term: safeNat,
  index: safeNat,
  type: fc.constantFrom('normal' as const, 'confChange' as const),
  data: bytesArb,
});

describe('wal codecs', () => {
  it('round-trips entries, including 2^53-1 terms and indexes', () => {
    fc.assert(
      fc.property(entryArb, (e) => {
        expect(decodeEntry(encodeEntry(e))).toEqual(e);
      }),
    );
    const big: Entry = { term: Number.MAX_SAFE_INTEGER, index: 2 ** 40, type: 'normal', data: new Uint8Array() };
    expect(decodeEntry(encodeEntry(big))).toEqual(big);
  });

  it('encodes a small entry compactly', () => {
    const e: Entry = { term: 3, index: 100, type: 'normal', data: new Uint8Array(10) };
    // type + 1-byte term + 1-byte index + data
    expect(encodeEntry(e).length).toBe(13);
  });

  it('round-trips hard states, with and without a vote', () => {
    fc.assert(
      fc.property(safeNat, safeNat, fc.option(idArb, { nil: undefined }), (term, commit, vote) => {
        const state: HardState = { term, commit, vote: vote ?? NO_NODE };
        expect(decodeHardState(encodeHardState(state))).toEqual(state);
      }),
    );
  });

  it('round-trips conf changes (Raft\'s codec, re-exported)', () => {
    const ccArb: fc.Arbitrary<ConfChange> = fc.record({
      type: fc.constantFrom(
        'addNode' as const,
        'addLearner' as const,
        'removeNode' as const,
        'promoteLearner' as const,
      ),
      nodeId: idArb,
      context: bytesArb,
    });
    fc.assert(
      fc.property(ccArb, (cc) => {
        expect(decodeConfChange(encodeConfChange(cc))).toEqual(cc);
      }),
    );
  });

  it('round-trips snapshots and snapshot files', () => {
    const snapArb: fc.Arbitrary<Snapshot> = fc.record({
      meta: fc.record({
        index: safeNat,
        term: safeNat,
        confState: fc.record({ voters: fc.array(idArb), learners: fc.array(idArb) }),
      }),
      data: bytesArb,
    });
    fc.assert(
      fc.property(snapArb, (s) => {
        expect(decodeSnapshot(encodeSnapshot(s))).toEqual(s);
        expect(decodeSnapFile(encodeSnapFile(s))).toEqual(s);
      }),
    );
  });

  it('rejects truncated and malformed input with CodecError', () => {
    const bytes = encodeHardState({ term: 300, commit: 70000, vote: nodeId('abc') });
    for (let cut = 0; cut < bytes.length; cut++) {
      expect(() => decodeHardState(bytes.subarray(0, cut))).toThrow(CodecError);
    }
    expect(() => decodeEntry(new Uint8Array([9, 1, 1]))).toThrow(CodecError);
    expect(() => decodeEntry(new Uint8Array([0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1]))).toThrow(
      CodecError,
    );
    expect(() => decodeConfChange(new Uint8Array([0, 0]))).toThrow();
  });

  it('detects any flipped byte in a snapshot file', () => {
    const file = encodeSnapFile({
      meta: { index: 5, term: 2, confState: { voters: [nodeId('1')], learners: [] } },
      data: new Uint8Array([1, 2, 3, 4]),
    });
    for (let i = 0; i < file.length; i++) {
      const bad = file.slice();
      bad[i] = (bad[i] as number) ^ 1;
      expect(() => decodeSnapFile(bad)).toThrow(CodecError);
    }
  });
});
