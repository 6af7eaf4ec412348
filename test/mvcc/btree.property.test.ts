/**
 * Property: the B+ tree under the key index answers exactly what a sorted array of distinct keys
 * answers (size, point lookups, ordered scans from any key with early stops), stays well formed
 * after every batch of inserts, and a bulk-built tree equals one built by inserts. Small node
 * sizes make trees several levels deep out of a few hundred keys. A failure prints the seed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BTree } from '../../src/mvcc/btree.js';
import { TreeIndex } from '../../src/mvcc/tree_index.js';
import { utf8 } from '../../src/util/index.js';

const latin1Key = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), minLength: 0, maxLength: 4 });

function scan(t: BTree<number>, from: string | undefined, stopAfter = Infinity): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  t.forEachFrom(from, (k, v) => {
    out.push([k, v]);
    return out.length < stopAfter;
  });
  return out;
}

function modelScan(model: Map<string, number>, from: string | undefined, stopAfter = Infinity): Array<[string, number]> {
  const sorted = [...model.keys()].sort();
  return sorted.filter((k) => from === undefined || k >= from).slice(0, stopAfter).map((k) => [k, model.get(k) as number]);
}

describe('BTree', () => {
  it('matches a sorted-array model under random inserts and scans', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(4, 5, 8, 64),
        fc.array(fc.tuple(latin1Key, fc.integer()), { maxLength: 600 }),
        fc.array(fc.tuple(fc.option(latin1Key, { nil: undefined }), fc.integer({ min: 1, max: 50 })), { maxLength: 20 }),
        (nodeMax, inserts, scans) => {
          const t = new BTree<number>(nodeMax);
          const model = new Map<string, number>();
          inserts.forEach(([k, v], i) => {
            expect(t.set(k, v)).toBe(!model.has(k));
            model.set(k, v);
            if (i % 97 === 0) t.checkWellFormed();
          });
          t.checkWellFormed();
          expect(t.size()).toBe(model.size);
          for (const [k, v] of model) expect(t.get(k)).toBe(v);
          expect(t.get('\u0100 absent')).toBeUndefined();
          expect(scan(t, undefined)).toEqual(modelScan(model, undefined));
          for (const [from, stop] of scans) expect(scan(t, from, stop)).toEqual(modelScan(model, from, stop));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a bulk-built tree equals the model and keeps accepting inserts', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(4, 7, 64),
        fc.uniqueArray(latin1Key, { maxLength: 500 }),
        fc.array(latin1Key, { maxLength: 200 }),
        (nodeMax, initial, later) => {
          const keys = [...initial].sort();
          const t = BTree.fromSorted(keys, keys.map((_, i) => i), nodeMax);
          const model = new Map(keys.map((k, i) => [k, i]));
          t.checkWellFormed();
          later.forEach((k, i) => {
            t.set(k, -i);
            model.set(k, -i);
          });
          t.checkWellFormed();
          expect(scan(t, undefined)).toEqual(modelScan(model, undefined));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('refuses a bulk build out of order', () => {
    expect(() => BTree.fromSorted(['b', 'a'], [1, 2], 4)).toThrow(/not increasing/);
  });

  it('inserts before existing keys stay fast (no O(n) shifting): 200k front inserts', () => {
    const t = new BTree<number>();
    const n = 200_000;
    // Descending keys: every insert lands in front of everything, the case that made the old
    // sorted array quadratic. Correctness is asserted; the loop finishing at all is the point.
    for (let i = n; i > 0; i--) t.set(String(i).padStart(7, '0'), i);
    expect(t.size()).toBe(n);
    t.checkWellFormed();
    expect(scan(t, '0100000', 3).map(([k]) => k)).toEqual(['0100000', '0100001', '0100002']);
  });
});

describe('TreeIndex over the B+ tree', () => {
  it('ranges agree with a model of live keys after puts, deletes and compaction', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('put', 'put', 'del', 'compact'), latin1Key), { maxLength: 300 }),
        fc.tuple(latin1Key, latin1Key),
        (ops, [a, b]) => {
          const idx = new TreeIndex();
          const live = new Set<string>();
          let rev = 1;
          for (const [op, k] of ops) {
            const key = Uint8Array.from(k, (c) => c.charCodeAt(0));
            if (op === 'put') {
              idx.put(key, { main: ++rev, sub: 0 });
              live.add(k);
            } else if (op === 'del' && live.has(k)) {
              (idx.find(key) as NonNullable<ReturnType<TreeIndex['find']>>).tombstone({ main: ++rev, sub: 0 });
              live.delete(k);
            } else if (op === 'compact') {
              idx.compact(rev);
            }
          }
          idx.checkWellFormed();
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          const loKey = Uint8Array.from(lo, (c) => c.charCodeAt(0));
          const hiKey = Uint8Array.from(hi, (c) => c.charCodeAt(0));
          const got = idx.revisions(loKey, hiKey, rev).hits.map((h) => Buffer.from(h.key).toString('latin1'));
          // An empty end means no upper bound (etcd's range_end "\0").
          expect(got).toEqual([...live].filter((k) => k >= lo && (hi === '' || k < hi)).sort());
          const all = idx.revisions(utf8(''), new Uint8Array(0), rev);
          expect(all.total).toBe(live.size);
        },
      ),
      { numRuns: 200 },
    );
  });
});
