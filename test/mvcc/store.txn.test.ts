import { describe, expect, it } from 'vitest';
import { CompareResult as R, CompareTarget as T, type Compare, type RangeResponse, type RequestOp, type TxnResponse } from '../../src/mvcc/index.js';
import { ALL, b, fresh, keys, show } from './helpers.js';

const put = (k: string, v: string): RequestOp => ({ requestPut: { key: b(k), value: b(v) } });
const get = (k: string, end?: string): RequestOp => ({ requestRange: end === undefined ? { key: b(k) } : { key: b(k), rangeEnd: b(end) } });
const del = (k: string, end?: string): RequestOp => ({ requestDeleteRange: end === undefined ? { key: b(k) } : { key: b(k), rangeEnd: b(end) } });

function seeded() {
  const s = fresh();
  s.put({ key: b('x'), value: b('1') }); // 2
  s.put({ key: b('y'), value: b('5'), lease: 9n }); // 3
  s.put({ key: b('x'), value: b('2') }); // 4
  return s;
}

function cmp(c: Omit<Partial<Compare>, 'key'> & { key: string; target: Compare['target']; result: Compare['result'] }): Compare {
  return { ...c, key: b(c.key) } as Compare;
}

describe('Txn compares', () => {
  const cases: [string, Compare, boolean][] = [
    ['value equal', cmp({ key: 'x', target: T.VALUE, result: R.EQUAL, value: b('2') }), true],
    ['value greater', cmp({ key: 'x', target: T.VALUE, result: R.GREATER, value: b('1') }), true],
    ['value less', cmp({ key: 'x', target: T.VALUE, result: R.LESS, value: b('1') }), false],
    ['value not equal', cmp({ key: 'x', target: T.VALUE, result: R.NOT_EQUAL, value: b('2') }), false],
    ['version', cmp({ key: 'x', target: T.VERSION, result: R.EQUAL, version: 2 }), true],
    ['create', cmp({ key: 'x', target: T.CREATE, result: R.EQUAL, createRevision: 2 }), true],
    ['mod', cmp({ key: 'x', target: T.MOD, result: R.GREATER, modRevision: 3 }), true],
    ['lease', cmp({ key: 'y', target: T.LEASE, result: R.EQUAL, lease: 9n }), true],
    ['missing key: version 0', cmp({ key: 'nope', target: T.VERSION, result: R.EQUAL, version: 0 }), true],
    ['missing key: create 0', cmp({ key: 'nope', target: T.CREATE, result: R.EQUAL }), true],
    ['missing key: value always fails', cmp({ key: 'nope', target: T.VALUE, result: R.EQUAL, value: b('') }), false],
    ['range: all keys must match', cmp({ key: 'x', rangeEnd: b('z'), target: T.VALUE, result: R.GREATER, value: b('1') }), true],
    ['range: every key less', cmp({ key: 'x', rangeEnd: b('z'), target: T.VALUE, result: R.LESS, value: b('6') }), true],
    ['range: one key not less', cmp({ key: 'x', rangeEnd: b('z'), target: T.VALUE, result: R.LESS, value: b('3') }), false],
    ['range: from key', cmp({ key: 'a', rangeEnd: b('\0'), target: T.VERSION, result: R.GREATER, version: 0 }), true],
  ];
  for (const [name, c, want] of cases) {
    it(name, () => {
      const s = seeded();
      const r = s.txn({ compare: [c], success: [get('x')], failure: [] });
      expect(r.succeeded).toBe(want);
      expect(r.responses).toHaveLength(want ? 1 : 0);
    });
  }
});

describe('Txn execution', () => {
  it('runs all ops of a branch at one revision and lets later ops read earlier writes', () => {
    const s = seeded();
    const r = s.txn({ success: [put('a', '1'), put('b', '2'), get('a', 'c'), del('x'), get('x')] });
    expect(r.header.revision).toBe(5);
    const resp = r.responses as TxnResponse['responses'];
    expect(resp.map((o) => Object.keys(o)[0])).toEqual(['responsePut', 'responsePut', 'responseRange', 'responseDeleteRange', 'responseRange']);
    const range = resp[2] as { responseRange: RangeResponse };
    expect(range.responseRange.header.revision).toBe(5);
    expect(range.responseRange.kvs.map(show)).toEqual(['a=1@5/5/1', 'b=2@5/5/1']);
    expect(s.eventsBetween(5, 5).map((e) => `${e.type}:${String.fromCharCode(...e.kv.key)}`)).toEqual(['0:a', '0:b', '1:x']);
    expect(s.rev()).toBe(5);
  });

  it('a txn without writes, or whose writes change nothing, keeps the revision', () => {
    const s = seeded();
    expect(s.txn({ success: [get('x')] }).header.revision).toBe(4);
    expect(s.txn({ success: [del('nothing')] }).header.revision).toBe(4);
    expect(s.txn({}).header.revision).toBe(4);
    expect(s.rev()).toBe(4);
  });

  it('takes the else branch when a compare fails', () => {
    const s = seeded();
    const r = s.txn({ compare: [cmp({ key: 'x', target: T.VALUE, result: R.EQUAL, value: b('nope') })], success: [put('s', '1')], failure: [put('f', '1')] });
    expect(r.succeeded).toBe(false);
    expect(keys(s.range(ALL).kvs)).toEqual(['f', 'x', 'y']);
  });

  it('nested txns decide every branch before any write, with empty nested headers', () => {
    const s = seeded();
    const r = s.txn({
      success: [
        put('n1', 'a'),
        { requestTxn: { compare: [cmp({ key: 'n1', target: T.VERSION, result: R.EQUAL, version: 0 })], success: [put('n2', 'b')], failure: [put('n3', 'c')] } },
      ],
    });
    expect(r.header.revision).toBe(5);
    const nested = (r.responses[1] as { responseTxn: TxnResponse }).responseTxn;
    expect(nested.succeeded).toBe(true);
    expect(nested.header.revision).toBe(0);
    expect(keys(s.range(ALL).kvs)).toEqual(['n1', 'n2', 'x', 'y']);
  });

  it('checks ignore_value, leases and range revisions on the taken path before writing', () => {
    const s = fresh({ leaseExists: () => false });
    s.put({ key: b('p'), value: b('1') });
    s.compact({ revision: 2 });
    expect(() => s.txn({ success: [put('a', '1'), { requestPut: { key: b('nokey'), ignoreValue: true } }] })).toThrow('etcdserver: key not found');
    expect(() => s.txn({ success: [{ requestPut: { key: b('a'), lease: 3n } }] })).toThrow('etcdserver: requested lease not found');
    expect(() => s.txn({ success: [put('a', '1'), { requestRange: { key: b('p'), revision: 3 } }] })).toThrow('etcdserver: mvcc: required revision is a future revision');
    expect(() => s.txn({ success: [{ requestRange: { key: b('p'), revision: 1 } }] })).toThrow('etcdserver: mvcc: required revision has been compacted');
    // The failing check is on the untaken branch: no error.
    expect(s.txn({ compare: [cmp({ key: 'p', target: T.VERSION, result: R.EQUAL, version: 1 })], failure: [{ requestPut: { key: b('nokey'), ignoreValue: true } }] }).succeeded).toBe(true);
    expect(s.rev()).toBe(2);
  });
});

describe('Txn request rules', () => {
  it('allows 128 ops per branch by default, counting compare/success/failure separately', () => {
    const s = fresh();
    const ops = (n: number, p = 'k'): RequestOp[] => Array.from({ length: n }, (_, i) => put(`${p}${i}`, 'v'));
    expect(s.txn({ success: ops(128), failure: ops(128) }).header.revision).toBe(2);
    expect(() => s.txn({ success: ops(129) })).toThrow('etcdserver: too many operations in txn request');
    const small = fresh({ maxTxnOps: 4 });
    expect(() => small.txn({ success: ops(5) })).toThrow('etcdserver: too many operations in txn request');
    // A nested txn gets what the outer level leaves: 4 - 2 = 2.
    expect(() => small.txn({ success: [put('a', '1'), { requestTxn: { success: ops(3, 'n') } }] })).toThrow('too many operations');
    expect(small.txn({ success: [put('a', '1'), { requestTxn: { success: ops(2, 'n') } }] }).header.revision).toBe(2);
  });

  it("applies etcd's duplicate-key rules", () => {
    const s = fresh();
    const dup = 'etcdserver: duplicate key given in txn request';
    expect(() => s.txn({ success: [put('d', '1'), put('d', '2')] })).toThrow(dup);
    expect(() => s.txn({ success: [put('d', '1'), del('d')] })).toThrow(dup);
    expect(() => s.txn({ success: [put('da', '1'), del('d', 'e')] })).toThrow(dup);
    expect(() => s.txn({ success: [put('t', '1'), { requestTxn: { success: [put('t', '2')] } }] })).toThrow(dup);
    expect(() => s.txn({ success: [del('t'), { requestTxn: { success: [put('t', '2')] } }] })).toThrow(dup);
    expect(() => s.txn({ success: [{ requestTxn: { success: [del('s', 'u')] } }, put('t', '1')] })).toThrow(dup);
    // Allowed: overlapping deletes, the same key in the other branch, then/else of one nested txn,
    // and a put next to a from-key delete (etcd's interval check sees [key, "\0") as empty).
    s.txn({ success: [del('d'), del('d')] });
    s.txn({ success: [put('d', '1')], failure: [put('d', '2')] });
    s.txn({ success: [{ requestTxn: { success: [put('t', '1')], failure: [put('t', '2')] } }] });
    s.txn({ success: [put('da', '1'), del('d', '\0')] });
    expect(() => s.txn({ success: [{} as RequestOp] })).toThrow('etcdserver: key not found');
    expect(() => s.txn({ compare: [cmp({ key: '', target: T.VERSION, result: R.EQUAL })] })).toThrow('etcdserver: key is not provided');
    expect(() => s.txn({ success: [get('')] })).toThrow('etcdserver: key is not provided');
  });
});
