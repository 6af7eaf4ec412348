/**
 * Property: over random sequences of put / delete / txn / compact, every Range (any key range, any
 * revision still readable, limit) answers what a naive model holding a full copy of the keyspace
 * per revision answers; compacted revisions fail; a reopened store agrees. A failure prints the
 * seed and the shrunk sequence.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CompareResult, CompareTarget, MemoryBackend, MvccStore, type RequestOp } from '../../src/mvcc/index.js';
import { fromUtf8, utf8 } from '../../src/util/index.js';

const KEYS = ['a', 'aa', 'ab', 'b', 'c'];

interface MKv {
  value: string;
  create: number;
  mod: number;
  version: number;
}
type State = Map<string, MKv>;

type TxnWrite = { put: string; value: string } | { del: string };
type Op =
  | { t: 'put'; key: string; value: string }
  | { t: 'del'; key: string; end?: string }
  | { t: 'txn'; cmpKey: string; cmpVersion: number; then: TxnWrite[]; else: TxnWrite[] }
  | { t: 'compact'; back: number };

class Model {
  readonly history: State[] = [new Map(), new Map()]; // index = revision; rev 1 is empty
  compactRev = -1;

  rev(): number {
    return this.history.length - 1;
  }

  current(): State {
    return this.history[this.rev()] as State;
  }

  /** Applies writes as one revision; returns whether the revision moved. */
  write(writes: TxnWrite[]): void {
    const next = new Map(this.current());
    const rev = this.rev() + 1;
    let changed = false;
    for (const w of writes) {
      if ('put' in w) {
        const old = next.get(w.put);
        next.set(w.put, { value: w.value, create: old?.create ?? rev, mod: rev, version: (old?.version ?? 0) + 1 });
        changed = true;
      } else if (next.delete(w.del)) changed = true;
    }
    if (changed) this.history.push(next);
  }

  range(key: string, end: string | undefined, rev: number): [string, MKv][] {
    const st = this.history[rev] as State;
    return [...st.entries()]
      .filter(([k]) => (end === undefined ? k === key : k >= key && (end === '\0' || k < end)))
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  }
}

const key = fc.constantFrom(...KEYS);
const value = fc.constantFrom('0', '1', '2', 'x');
const txnWrites = fc
  .uniqueArray(key, { maxLength: 3 })
  .chain((ks) => fc.tuple(...ks.map((k) => fc.oneof(value.map((v): TxnWrite => ({ put: k, value: v })), fc.constant<TxnWrite>({ del: k })))));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('put' as const), key, value }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('del' as const), key }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('del' as const), key, end: fc.constantFrom('ab', 'b', 'c', 'd', '\0') }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('txn' as const), cmpKey: key, cmpVersion: fc.integer({ min: 0, max: 2 }), then: txnWrites, else: txnWrites }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('compact' as const), back: fc.integer({ min: 0, max: 4 }) }) },
);

const toOp = (w: TxnWrite): RequestOp => ('put' in w ? { requestPut: { key: utf8(w.put), value: utf8(w.value) } } : { requestDeleteRange: { key: utf8(w.del) } });

function applyBoth(s: MvccStore, m: Model, o: Op): void {
  switch (o.t) {
    case 'put':
      s.put({ key: utf8(o.key), value: utf8(o.value) });
      m.write([{ put: o.key, value: o.value }]);
      return;
    case 'del': {
      const gone = m.range(o.key, o.end, m.rev()).map(([k]) => ({ del: k }));
      const r = s.deleteRange(o.end === undefined ? { key: utf8(o.key) } : { key: utf8(o.key), rangeEnd: utf8(o.end) });
      expect(r.deleted).toBe(gone.length);
      m.write(gone);
      return;
    }
    case 'txn': {
      const ok = (m.current().get(o.cmpKey)?.version ?? 0) === o.cmpVersion;
      const r = s.txn({
        compare: [{ key: utf8(o.cmpKey), target: CompareTarget.VERSION, result: CompareResult.EQUAL, version: o.cmpVersion }],
        success: o.then.map(toOp),
        failure: o.else.map(toOp),
      });
      expect(r.succeeded).toBe(ok);
      m.write(ok ? o.then : o.else);
      expect(r.header.revision).toBe(m.rev());
      return;
    }
    case 'compact': {
      const rev = m.rev() - o.back;
      if (rev <= m.compactRev) expect(() => s.compact({ revision: rev })).toThrow('compacted');
      else if (rev > m.rev()) expect(() => s.compact({ revision: rev })).toThrow('future');
      else {
        s.compact({ revision: rev });
        m.compactRev = rev;
      }
    }
  }
}

function checkRanges(s: MvccStore, m: Model): void {
  const ranges: [string, string | undefined][] = [['a', undefined], ['aa', undefined], ['a', 'b'], ['ab', 'c'], ['\0', '\0'], ['b', '\0'], ['c', 'a']];
  for (let rev = 1; rev <= m.rev(); rev++) {
    for (const [k, end] of ranges) {
      const req = end === undefined ? { key: utf8(k), revision: rev } : { key: utf8(k), rangeEnd: utf8(end), revision: rev };
      if (rev < m.compactRev) {
        expect(() => s.range(req)).toThrow('compacted');
        continue;
      }
      const want = m.range(k, end, rev);
      const got = s.range({ ...req, limit: 2 });
      expect(got.count).toBe(want.length);
      expect(got.more).toBe(want.length > 2);
      const full = s.range(req);
      expect(full.kvs.map((kv) => [fromUtf8(kv.key), { value: fromUtf8(kv.value), create: kv.createRevision, mod: kv.modRevision, version: kv.version }])).toEqual(want);
      expect(full.header.revision).toBe(m.rev());
    }
  }
}

describe('MvccStore against a naive model', () => {
  it('answers every Range like the model, before and after reopening', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 30 }), (ops) => {
        const backend = new MemoryBackend();
        const s = MvccStore.open(backend);
        const m = new Model();
        for (const o of ops) {
          applyBoth(s, m, o);
          expect(s.rev()).toBe(m.rev());
        }
        checkRanges(s, m);
        const reopened = MvccStore.open(backend);
        expect(reopened.rev()).toBe(m.rev());
        expect(reopened.hashKV().hash).toBe(s.hashKV().hash);
        checkRanges(reopened, m);
      }),
      { numRuns: Number(process.env['MVCC_PROPERTY_RUNS'] ?? 150) },
    );
  });
});
