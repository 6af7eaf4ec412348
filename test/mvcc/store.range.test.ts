import { describe, expect, it } from 'vitest';
import { SortOrder, SortTarget } from '../../src/mvcc/index.js';
import { ALL, b, fresh, keys, show } from './helpers.js';

function seeded() {
  const s = fresh();
  s.put({ key: b('a1'), value: b('zz') }); // 2
  s.put({ key: b('a2'), value: b('yy') }); // 3
  s.put({ key: b('a3'), value: b('xx') }); // 4
  s.put({ key: b('a2'), value: b('ww') }); // 5
  s.put({ key: b('b1'), value: b('vv') }); // 6
  s.put({ key: b('c'), value: b('uu') }); // 7
  s.put({ key: b('a1'), value: b('tt') }); // 8
  return s;
}

describe('Range', () => {
  it('starts at revision 1 and the first put makes revision 2', () => {
    const s = fresh();
    expect(s.rev()).toBe(1);
    expect(s.range({ key: b('x') })).toEqual({ header: expect.objectContaining({ revision: 1 }), kvs: [], more: false, count: 0 });
    expect(s.put({ key: b('x'), value: b('1') }).header.revision).toBe(2);
  });

  it('reads one key, a [key, end) range, a prefix and from-key', () => {
    const s = seeded();
    expect(s.range({ key: b('a2') }).kvs.map(show)).toEqual(['a2=ww@3/5/2']);
    expect(keys(s.range({ key: b('a2'), rangeEnd: b('c') }).kvs)).toEqual(['a2', 'a3', 'b1']);
    expect(keys(s.range({ key: b('a'), rangeEnd: b('b') }).kvs)).toEqual(['a1', 'a2', 'a3']);
    expect(keys(s.range({ key: b('a3'), rangeEnd: b('\0') }).kvs)).toEqual(['a3', 'b1', 'c']);
    expect(keys(s.range(ALL).kvs)).toEqual(['a1', 'a2', 'a3', 'b1', 'c']);
    expect(s.range({ key: b('c'), rangeEnd: b('a') }).kvs).toEqual([]);
    expect(s.range({ key: b('a'), rangeEnd: b('a') }).count).toBe(0);
  });

  it('limits with `more` and counts every key in range', () => {
    const s = seeded();
    const r = s.range({ key: b('a'), rangeEnd: b('b'), limit: 2 });
    expect(keys(r.kvs)).toEqual(['a1', 'a2']);
    expect(r.more).toBe(true);
    expect(r.count).toBe(3);
    const exact = s.range({ key: b('a'), rangeEnd: b('b'), limit: 3 });
    expect(exact.more).toBe(false);
    expect(exact.kvs).toHaveLength(3);
  });

  it('reads history at a revision, with create/mod/version as of then', () => {
    const s = seeded();
    const r = s.range({ key: b('a'), rangeEnd: b('b'), revision: 4 });
    expect(r.kvs.map(show)).toEqual(['a1=zz@2/2/1', 'a2=yy@3/3/1', 'a3=xx@4/4/1']);
    expect(r.header.revision).toBe(8);
    expect(s.range({ key: b('c'), revision: 6 }).kvs).toEqual([]);
  });

  it('rejects a future revision and an empty key', () => {
    const s = seeded();
    expect(() => s.range({ key: b('a'), revision: 9 })).toThrow('etcdserver: mvcc: required revision is a future revision');
    expect(() => s.range({ key: b('') })).toThrow('etcdserver: key is not provided');
  });

  it('rejects invalid sort options (etcd 3.5+)', () => {
    const s = seeded();
    expect(() => s.range({ key: b('a'), sortOrder: 7 as SortOrder })).toThrow('etcdserver: invalid sort option');
    expect(() => s.range({ key: b('a'), sortTarget: 9 as SortTarget })).toThrow('etcdserver: invalid sort option');
  });

  it('sorts by every target in both orders, ties in key order', () => {
    const s = seeded();
    const q = (sortTarget: SortTarget, sortOrder: SortOrder) => keys(s.range({ ...ALL, sortTarget, sortOrder }).kvs);
    expect(q(SortTarget.KEY, SortOrder.DESCEND)).toEqual(['c', 'b1', 'a3', 'a2', 'a1']);
    expect(q(SortTarget.VALUE, SortOrder.ASCEND)).toEqual(['a1', 'c', 'b1', 'a2', 'a3']);
    expect(q(SortTarget.MOD, SortOrder.DESCEND)).toEqual(['a1', 'c', 'b1', 'a2', 'a3']);
    expect(q(SortTarget.CREATE, SortOrder.DESCEND)).toEqual(['c', 'b1', 'a3', 'a2', 'a1']);
    expect(q(SortTarget.VERSION, SortOrder.ASCEND)).toEqual(['a3', 'b1', 'c', 'a1', 'a2']);
    expect(q(SortTarget.VERSION, SortOrder.DESCEND)).toEqual(['a1', 'a2', 'a3', 'b1', 'c']);
  });

  it("sorts ascending when the order is NONE but the target is not KEY (etcd's quirk)", () => {
    const s = seeded();
    expect(keys(s.range({ ...ALL, sortTarget: SortTarget.MOD, sortOrder: SortOrder.NONE }).kvs)).toEqual(['a3', 'a2', 'b1', 'c', 'a1']);
    expect(keys(s.range({ ...ALL, sortTarget: SortTarget.KEY, sortOrder: SortOrder.NONE }).kvs)).toEqual(['a1', 'a2', 'a3', 'b1', 'c']);
  });

  it('applies the limit after sorting', () => {
    const s = seeded();
    const r = s.range({ ...ALL, sortTarget: SortTarget.MOD, sortOrder: SortOrder.DESCEND, limit: 2 });
    expect(keys(r.kvs)).toEqual(['a1', 'c']);
    expect(r.more).toBe(true);
  });

  it('keysOnly drops values, countOnly returns only the count', () => {
    const s = seeded();
    const k = s.range({ ...ALL, keysOnly: true });
    expect(k.kvs.every((kv) => kv.value.length === 0)).toBe(true);
    expect(k.kvs[0]?.version).toBe(2);
    const c = s.range({ ...ALL, countOnly: true, limit: 1 });
    expect(c.kvs).toEqual([]);
    expect(c.count).toBe(5);
    expect(c.more).toBe(false);
    expect(s.range({ ...ALL, serializable: true }).count).toBe(5);
  });

  it('filters by min/max mod and create revision without changing count', () => {
    const s = seeded();
    expect(keys(s.range({ ...ALL, minModRevision: 6 }).kvs)).toEqual(['a1', 'b1', 'c']);
    expect(keys(s.range({ ...ALL, maxModRevision: 5 }).kvs)).toEqual(['a2', 'a3']);
    expect(keys(s.range({ ...ALL, minCreateRevision: 3, maxCreateRevision: 6 }).kvs)).toEqual(['a2', 'a3', 'b1']);
    const r = s.range({ ...ALL, minModRevision: 5, limit: 1 });
    expect(keys(r.kvs)).toEqual(['a1']);
    expect(r.more).toBe(true);
    expect(r.count).toBe(5);
  });
});
