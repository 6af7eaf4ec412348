import { describe, expect, it } from 'vitest';
import { EventType, type LeaseEvent, type MvccEvent } from '../../src/mvcc/index.js';
import { fromUtf8 } from '../../src/util/index.js';
import { ALL, b, fresh, show } from './helpers.js';

describe('Put', () => {
  it('keeps create revision, bumps version and mod revision, returns prevKv', () => {
    const s = fresh();
    expect(s.put({ key: b('k'), value: b('1'), prevKv: true }).prevKv).toBeUndefined();
    const r = s.put({ key: b('k'), value: b('2'), prevKv: true });
    expect(r.header.revision).toBe(3);
    expect(r.prevKv && show(r.prevKv)).toBe('k=1@2/2/1');
    expect(s.range({ key: b('k') }).kvs.map(show)).toEqual(['k=2@2/3/2']);
  });

  it('a put after a delete starts a new generation at version 1', () => {
    const s = fresh();
    s.put({ key: b('k'), value: b('1') });
    s.put({ key: b('k'), value: b('2') });
    s.deleteRange({ key: b('k') });
    s.put({ key: b('k'), value: b('3') });
    expect(s.range({ key: b('k') }).kvs.map(show)).toEqual(['k=3@5/5/1']);
    expect(s.range({ key: b('k'), revision: 3 }).kvs.map(show)).toEqual(['k=2@2/3/2']);
    expect(s.range({ key: b('k'), revision: 4 }).kvs).toEqual([]);
  });

  it('ignoreValue and ignoreLease keep the previous value and lease', () => {
    const s = fresh();
    s.put({ key: b('k'), value: b('v'), lease: 5n });
    s.put({ key: b('k'), ignoreValue: true });
    // Without ignoreLease the put sets lease 0, dropping the old lease, as etcd does.
    expect(s.range({ key: b('k') }).kvs.map(show)).toEqual(['k=v@2/3/2']);
    s.put({ key: b('k'), value: b('w'), lease: 6n });
    s.put({ key: b('k'), value: b('x'), ignoreLease: true });
    expect(s.range({ key: b('k') }).kvs.map(show)).toEqual(['k=x@2/5/4L6']);
  });

  it("rejects ignore_* misuse and missing keys with etcd's errors", () => {
    const s = fresh({ leaseExists: (id) => id === 5n });
    expect(() => s.put({ key: b(''), value: b('v') })).toThrow('etcdserver: key is not provided');
    expect(() => s.put({ key: b('k'), ignoreValue: true })).toThrow('etcdserver: key not found');
    expect(() => s.put({ key: b('k'), ignoreLease: true })).toThrow('etcdserver: key not found');
    expect(() => s.put({ key: b('k'), value: b('v'), ignoreValue: true })).toThrow('etcdserver: value is provided');
    expect(() => s.put({ key: b('k'), lease: 5n, ignoreLease: true })).toThrow('etcdserver: lease is provided');
    expect(() => s.put({ key: b('k'), value: b('v'), lease: 6n })).toThrow('etcdserver: requested lease not found');
    expect(s.rev()).toBe(1);
    s.put({ key: b('k'), value: b('v'), lease: 5n });
    expect(s.rev()).toBe(2);
  });

  it('reports lease attach and detach to the listener', () => {
    const s = fresh();
    const events: string[] = [];
    s.onLeaseEvent((e: LeaseEvent) => events.push(`${e.kind}:${e.lease}:${fromUtf8(e.key)}`));
    s.put({ key: b('k'), value: b('1'), lease: 5n });
    s.put({ key: b('k'), value: b('2'), lease: 6n });
    s.put({ key: b('k'), value: b('3') });
    s.put({ key: b('j'), value: b('1'), lease: 6n });
    s.deleteRange({ key: b('a'), rangeEnd: b('z') });
    expect(events).toEqual(['attach:5:k', 'detach:5:k', 'attach:6:k', 'detach:6:k', 'attach:6:j', 'detach:6:j']);
  });
});

describe('DeleteRange', () => {
  it('deletes a range in one revision with increasing sub revisions, prevKvs and count', () => {
    const s = fresh();
    const batches: { rev: number; events: MvccEvent[] }[] = [];
    s.onChanges((rev, events) => batches.push({ rev, events: [...events] }));
    for (const k of ['a', 'b', 'c', 'd']) s.put({ key: b(k), value: b(k) });
    const r = s.deleteRange({ key: b('b'), rangeEnd: b('d'), prevKv: true });
    expect(r.deleted).toBe(2);
    expect(r.header.revision).toBe(6);
    expect(r.prevKvs.map(show)).toEqual(['b=b@3/3/1', 'c=c@4/4/1']);
    const last = batches[batches.length - 1];
    expect(last?.rev).toBe(6);
    expect(last?.events.map((e) => `${e.type === EventType.DELETE ? 'D' : 'P'}${fromUtf8(e.kv.key)}@${e.kv.modRevision}`)).toEqual(['Db@6', 'Dc@6']);
    expect(s.eventsBetween(6, 6).map((e) => fromUtf8(e.kv.key))).toEqual(['b', 'c']);
  });

  it('deleting nothing does not bump the revision', () => {
    const s = fresh();
    s.put({ key: b('a'), value: b('1') });
    const r = s.deleteRange({ key: b('zz'), prevKv: true });
    expect(r).toEqual({ header: expect.objectContaining({ revision: 2 }), deleted: 0, prevKvs: [] });
    expect(s.rev()).toBe(2);
    expect(() => s.deleteRange({ key: b('') })).toThrow('etcdserver: key is not provided');
  });

  it('deletes everything from a key with range_end "\\0"', () => {
    const s = fresh();
    for (const k of ['a', 'b', 'c']) s.put({ key: b(k), value: b(k) });
    expect(s.deleteRange({ key: b('b'), rangeEnd: b('\0') }).deleted).toBe(2);
    expect(s.range(ALL).kvs.map(show)).toEqual(['a=a@2/2/1']);
  });
});

describe('deleteKeys (lease revoke)', () => {
  it('deletes many keys in one revision without the txn op limit, reporting detaches', () => {
    const s = fresh();
    const detached: string[] = [];
    s.onLeaseEvent((e) => {
      if (e.kind === 'detach') detached.push(fromUtf8(e.key));
    });
    const ks = Array.from({ length: 200 }, (_, i) => b(`k${String(i).padStart(3, '0')}`));
    for (const k of ks) s.put({ key: k, value: b('v'), lease: 7n });
    const rev = s.deleteKeys([...ks, b('missing')]);
    expect(rev).toBe(202);
    expect(s.range(ALL).count).toBe(0);
    expect(detached).toHaveLength(200);
    expect(s.eventsBetween(202, 202)).toHaveLength(200);
    expect(s.deleteKeys([b('missing')])).toBe(202);
  });
});
