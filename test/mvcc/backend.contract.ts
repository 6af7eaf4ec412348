/**
 * The one contract every Backend implementation passes (memory for the simulator, LMDB for the
 * server), plus the store-level guarantees that depend on it: rebuild on reopen, the consistent
 * index written with the state, snapshots, compaction surviving a restart.
 */
import { describe, expect, it } from 'vitest';
import { utf8, fromUtf8 } from '../../src/util/index.js';
import { MvccStore, type Backend } from '../../src/mvcc/index.js';

export interface BackendHarness {
  /** A fresh, empty backend. */
  create(): Backend;
  /** Close `b` and open the same storage again, as a restart does (pending writes are lost). */
  reopen(b: Backend): Backend;
}

const b = (s: string): Uint8Array => utf8(s);
const keysOf = (be: Backend, bucket: 'key' | 'meta', start?: string, end?: string): string[] => {
  const out: string[] = [];
  be.forEach(bucket, (k) => out.push(fromUtf8(k)), start === undefined ? undefined : b(start), end === undefined ? undefined : b(end));
  return out;
};

export function backendContract(name: string, h: BackendHarness): void {
  describe(`Backend contract: ${name}`, () => {
    it('reads its own batch, commits atomically, aborts cleanly', () => {
      const be = h.create();
      be.beginBatch();
      be.put('key', b('a'), b('1'));
      expect(fromUtf8(be.get('key', b('a')) as Uint8Array)).toBe('1');
      expect(be.get('meta', b('a'))).toBeUndefined();
      be.commitBatch();
      expect(fromUtf8(be.get('key', b('a')) as Uint8Array)).toBe('1');
      be.beginBatch();
      be.put('key', b('b'), b('2'));
      be.delete('key', b('a'));
      expect(be.get('key', b('a'))).toBeUndefined();
      be.abortBatch();
      expect(fromUtf8(be.get('key', b('a')) as Uint8Array)).toBe('1');
      expect(be.get('key', b('b'))).toBeUndefined();
      be.close();
    });

    it('refuses writes outside a batch and nested batches', () => {
      const be = h.create();
      expect(() => be.put('key', b('a'), b('1'))).toThrow(/outside a batch/);
      be.beginBatch();
      expect(() => be.beginBatch()).toThrow(/already open/);
      be.abortBatch();
      be.close();
    });

    it('iterates in byte order within [start, end), merging the open batch', () => {
      const be = h.create();
      be.beginBatch();
      for (const k of ['b', 'a', 'c\xff', 'c', 'ab', 'd']) be.put('key', b(k), b('v'));
      be.commitBatch();
      expect(keysOf(be, 'key')).toEqual(['a', 'ab', 'b', 'c', 'c\xff', 'd']);
      expect(keysOf(be, 'key', 'ab', 'c\xff')).toEqual(['ab', 'b', 'c']);
      be.beginBatch();
      be.delete('key', b('b'));
      be.put('key', b('bb'), b('v'));
      expect(keysOf(be, 'key', 'ab', 'd')).toEqual(['ab', 'bb', 'c', 'c\xff']);
      be.commitBatch();
      expect(keysOf(be, 'key', 'ab', 'd')).toEqual(['ab', 'bb', 'c', 'c\xff']);
      be.close();
    });

    it('clearAll empties every bucket as part of the batch', () => {
      const be = h.create();
      be.beginBatch();
      be.put('key', b('a'), b('1'));
      be.put('meta', b('m'), b('1'));
      be.commitBatch();
      be.beginBatch();
      be.clearAll();
      be.put('key', b('z'), b('2'));
      expect(keysOf(be, 'key')).toEqual(['z']);
      expect(be.get('meta', b('m'))).toBeUndefined();
      be.commitBatch();
      expect(keysOf(be, 'key')).toEqual(['z']);
      expect(keysOf(be, 'meta')).toEqual([]);
      be.close();
    });

    it('keeps committed batches across a restart and loses the open one', () => {
      let be = h.create();
      be.beginBatch();
      be.put('key', b('kept'), b('1'));
      be.commitBatch();
      be.beginBatch();
      be.put('key', b('lost'), b('2'));
      be = h.reopen(be);
      expect(fromUtf8(be.get('key', b('kept')) as Uint8Array)).toBe('1');
      expect(be.get('key', b('lost'))).toBeUndefined();
      expect(be.sizeBytes()).toBeGreaterThan(0);
      be.close();
    });

    it('store: rebuilds index, revision, compaction and consistent index on reopen', () => {
      let be = h.create();
      let s = MvccStore.open(be);
      s.beginBatch();
      s.put({ key: b('a'), value: b('1') });
      s.put({ key: b('b'), value: b('1') });
      s.setConsistentIndex(1, 1);
      s.commitBatch();
      s.put({ key: b('a'), value: b('2') });
      s.deleteRange({ key: b('b') });
      s.put({ key: b('b'), value: b('3'), lease: 7n });
      s.compact({ revision: 4 });
      s.setConsistentIndex(5, 2);
      const before = { all: s.range({ key: b('\0'), rangeEnd: b('\0') }), hash: s.hashKV(), rev: s.rev() };
      be = h.reopen(be);
      s = MvccStore.open(be);
      expect(s.rev()).toBe(before.rev);
      expect(s.rev()).toBe(6);
      expect(s.compactRevision()).toBe(4);
      expect(s.consistentIndex()).toBe(5);
      expect(s.consistentTerm()).toBe(2);
      expect(s.range({ key: b('\0'), rangeEnd: b('\0') })).toEqual(before.all);
      expect(s.hashKV()).toEqual(before.hash);
      expect(s.leasedKeys()).toEqual([{ key: b('b'), lease: 7n }]);
      expect(() => s.range({ key: b('a'), revision: 3 })).toThrow(/compacted/);
      expect(s.range({ key: b('a'), revision: 4 }).kvs[0]?.version).toBe(2);
      expect(s.put({ key: b('a'), value: b('4') }).header.revision).toBe(7);
      be.close();
    });

    it('store: a batch that never committed is not applied after restart (exactly-once replay)', () => {
      let be = h.create();
      let s = MvccStore.open(be);
      s.beginBatch();
      s.put({ key: b('x'), value: b('1') });
      s.setConsistentIndex(10, 1);
      s.commitBatch();
      s.beginBatch();
      s.put({ key: b('x'), value: b('2') });
      s.setConsistentIndex(11, 1);
      be = h.reopen(be); // crash before commitBatch
      s = MvccStore.open(be);
      expect(s.consistentIndex()).toBe(10);
      expect(fromUtf8(s.range({ key: b('x') }).kvs[0]?.value as Uint8Array)).toBe('1');
      // The applier re-applies entry 11 only, because 10 <= consistentIndex.
      s.beginBatch();
      s.put({ key: b('x'), value: b('2') });
      s.setConsistentIndex(11, 1);
      s.commitBatch();
      expect(s.range({ key: b('x') }).kvs[0]?.version).toBe(2);
      be.close();
    });

    it('store: opening over a backend with a dangling batch drops that batch', () => {
      const be = h.create();
      const s = MvccStore.open(be);
      s.put({ key: b('a'), value: b('1') });
      s.beginBatch();
      s.put({ key: b('a'), value: b('2') });
      // The store object is dropped here without commitBatch (a crash in the simulator).
      const again = MvccStore.open(be);
      expect(again.rev()).toBe(2);
      expect(fromUtf8(again.range({ key: b('a') }).kvs[0]?.value as Uint8Array)).toBe('1');
      again.put({ key: b('a'), value: b('3') });
      expect(again.rev()).toBe(3);
      be.close();
    });

    it('store: extra meta (alarms) is durable, in snapshots, and cannot clobber the store\'s own', () => {
      let be = h.create();
      const s = MvccStore.open(be);
      s.beginBatch();
      s.putMeta(b('alarms'), b('[NOSPACE]'));
      expect(fromUtf8(s.getMeta(b('alarms')) as Uint8Array)).toBe('[NOSPACE]');
      s.commitBatch();
      expect(() => s.putMeta(b('consistent_index'), b('x'))).toThrow(/belongs to the store/);
      const snap = s.snapshotBytes();
      be = h.reopen(be);
      expect(fromUtf8(MvccStore.open(be).getMeta(b('alarms')) as Uint8Array)).toBe('[NOSPACE]');
      const other = MvccStore.open(h.create());
      other.restoreFrom(snap);
      expect(fromUtf8(other.getMeta(b('alarms')) as Uint8Array)).toBe('[NOSPACE]');
      be.close();
    });

    it('store: snapshot bytes restore an identical store, replacing what was there', () => {
      const src = MvccStore.open(h.create());
      for (let i = 0; i < 20; i++) src.put({ key: b(`k${i % 7}`), value: b(`v${i}`) });
      src.deleteRange({ key: b('k3') });
      src.compact({ revision: 10 });
      src.setConsistentIndex(42, 3);
      const snap = src.snapshotBytes();
      const dstBackend = h.create();
      const dst = MvccStore.open(dstBackend);
      dst.put({ key: b('junk'), value: b('x') });
      dst.restoreFrom(snap);
      expect(dst.rev()).toBe(src.rev());
      expect(dst.compactRevision()).toBe(10);
      expect(dst.consistentIndex()).toBe(42);
      expect(dst.range({ key: b('\0'), rangeEnd: b('\0') })).toEqual(src.range({ key: b('\0'), rangeEnd: b('\0') }));
      expect(dst.hashKV().hash).toBe(src.hashKV().hash);
      expect(dst.hash().hash).toBe(src.hash().hash);
      const again = MvccStore.open(h.reopen(dstBackend));
      expect(again.hashKV().hash).toBe(src.hashKV().hash);
      const bad = snap.slice();
      bad[bad.length - 9] = (bad[bad.length - 9] as number) ^ 1;
      expect(() => dst.restoreFrom(bad)).toThrow(/checksum/);
    });
  });
}
