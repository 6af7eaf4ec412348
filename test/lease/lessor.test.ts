import { describe, expect, it } from 'vitest';
import { EtcdError, Errors, isEtcdError } from '../../src/api/index.js';
import { EventType, MemoryBackend, MvccStore } from '../../src/mvcc/index.js';
import { fromUtf8, utf8 } from '../../src/util/index.js';
import {
  Lessor,
  LessorNotPrimaryError,
  MAX_LEASE_TTL_SECONDS,
  createLeaseIdGenerator,
  decodeLeaseRecord,
  encodeLeaseRecord,
  leaseRecordKey,
  minLeaseTtlSeconds,
  type LeaseRecord,
} from '../../src/lease/index.js';

const k = (s: string): Uint8Array => utf8(s);
const names = (keys: Uint8Array[]): string[] => keys.map(fromUtf8);

function expectEtcdError(fn: () => unknown, spec: { code: number; message: string }): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(EtcdError);
  expect((thrown as EtcdError).message).toBe(spec.message);
  expect((thrown as EtcdError).code).toBe(spec.code);
}

describe('minimum TTL', () => {
  it('follows etcd: ceil((3 * electionTicks / 2) * heartbeat)', () => {
    expect(minLeaseTtlSeconds(10, 100)).toBe(2); // etcd defaults: 1.5 s -> 2 s
    expect(minLeaseTtlSeconds(10, 200)).toBe(3);
    expect(minLeaseTtlSeconds(5, 100)).toBe(1); // 7 ticks (integer division) * 100 ms -> 1 s
    expect(minLeaseTtlSeconds(50, 100)).toBe(8);
  });

  it('raises a too-small TTL to the minimum instead of failing', () => {
    const le = new Lessor();
    expect(le.grant(1n, 1, 0).ttlSeconds).toBe(2);
    expect(le.grant(2n, 0, 0).ttlSeconds).toBe(2);
    expect(le.grant(3n, 60, 0).ttlSeconds).toBe(60);
    const strict = new Lessor({ minTtlSeconds: 5 });
    expect(strict.grant(1n, 3, 0).ttlSeconds).toBe(5);
  });
});

describe('grant and revoke', () => {
  it('grants, lists, revokes with etcd errors', () => {
    const le = new Lessor();
    le.grant(7n, 10, 0);
    le.grant(3n, 10, 0);
    expect(le.leaseIds()).toEqual([3n, 7n]);
    expect(le.has(7n)).toBe(true);
    expectEtcdError(() => le.grant(7n, 10, 0), Errors.LeaseExist);
    expectEtcdError(() => le.grant(8n, MAX_LEASE_TTL_SECONDS + 1, 0), Errors.LeaseTTLTooLarge);
    expect(le.grant(8n, MAX_LEASE_TTL_SECONDS, 0).ttlSeconds).toBe(MAX_LEASE_TTL_SECONDS);
    expect(le.revoke(7n)).toEqual([]);
    expectEtcdError(() => le.revoke(7n), Errors.LeaseNotFound);
    expect(le.leaseIds()).toEqual([3n, 8n]);
  });

  it('exact messages and codes', () => {
    const le = new Lessor();
    le.grant(1n, 5, 0);
    try {
      le.grant(1n, 5, 0);
    } catch (e) {
      expect(isEtcdError(e, 'LeaseExist')).toBe(true);
      expect((e as Error).message).toBe('etcdserver: lease already exists');
    }
    expect(() => le.revoke(2n)).toThrow('etcdserver: requested lease not found');
    expect(() => le.grant(2n, 9_000_000_001, 0)).toThrow('etcdserver: too large lease TTL');
  });

  it('id 0 picks ids from the generator, skipping taken ones; without one it is rejected as etcd does', () => {
    const ids = [5n, 5n, 0n, 9n];
    const le = new Lessor({ nextId: () => ids.shift() ?? 100n });
    expect(le.grant(0n, 10, 0).id).toBe(5n);
    expect(le.grant(0n, 10, 0).id).toBe(9n); // 5 taken, 0 invalid
    expectEtcdError(() => new Lessor().grant(0n, 10, 0), Errors.LeaseNotFound);
  });

  it('the id generator is deterministic, positive, unique, and prefixed by the member', () => {
    const a = createLeaseIdGenerator(0x1234n, 1_700_000_000_000);
    const b = createLeaseIdGenerator(0x1234n, 1_700_000_000_000);
    const seqA = Array.from({ length: 300 }, a);
    expect(Array.from({ length: 300 }, b)).toEqual(seqA);
    expect(new Set(seqA).size).toBe(300);
    for (const id of seqA) {
      expect(id > 0n).toBe(true);
      expect(id >> 48n).toBe(0x1234n);
    }
    const other = createLeaseIdGenerator(0x9999n, 1_700_000_000_000)();
    expect(seqA.includes(other)).toBe(false);
  });
});

describe('keys', () => {
  it('attach/detach, revoke returns sorted keys and frees them', () => {
    const le = new Lessor();
    le.grant(1n, 10, 0);
    le.grant(2n, 10, 0);
    le.attach(1n, [k('b'), k('a'), k('c')]);
    le.attach(2n, [k('z')]);
    le.detach(1n, [k('c')]);
    expect(le.leaseOf(k('a'))).toBe(1n);
    expect(le.leaseOf(k('c'))).toBe(0n);
    expect(names(le.timeToLive(1n, 0).keys)).toEqual(['a', 'b']);
    expect(names(le.revoke(1n))).toEqual(['a', 'b']);
    expect(le.leaseOf(k('a'))).toBe(0n);
    expectEtcdError(() => le.attach(1n, [k('a')]), Errors.LeaseNotFound);
    expectEtcdError(() => le.detach(1n, [k('a')]), Errors.LeaseNotFound);
  });

  it('keys sort in byte order, not UTF-16 order', () => {
    const le = new Lessor();
    le.grant(1n, 10, 0);
    le.attach(1n, [Uint8Array.of(0xff), Uint8Array.of(0x01, 0x02), Uint8Array.of(0x01), Uint8Array.of(0x80)]);
    expect(le.revoke(1n).map((x) => [...x])).toEqual([[0x01], [0x01, 0x02], [0x80], [0xff]]);
  });

  it('stays in step with an MvccStore through its lease events; revoke deletes in one revision', () => {
    const le = new Lessor();
    const store = MvccStore.open(new MemoryBackend(), { leaseExists: (id) => le.has(id) });
    store.onLeaseEvent((e) => le.onLeaseEvent(e));
    le.grant(1n, 10, 0);
    le.grant(2n, 10, 0);
    store.put({ key: k('a'), value: k('1'), lease: 1n });
    store.put({ key: k('b'), value: k('1'), lease: 1n });
    store.put({ key: k('c'), value: k('1'), lease: 1n });
    store.put({ key: k('b'), value: k('2'), lease: 2n }); // moves b to lease 2
    store.put({ key: k('c'), value: k('2') }); // detaches c
    expect(names(le.timeToLive(1n, 0).keys)).toEqual(['a']);
    expect(names(le.timeToLive(2n, 0).keys)).toEqual(['b']);
    store.put({ key: k('x'), value: k('1'), lease: 2n });
    let revs: number[] = [];
    store.onChanges((rev, events) => {
      revs = [rev];
      expect(events.every((e) => e.type === EventType.DELETE)).toBe(true);
    });
    const before = store.rev();
    const newRev = store.deleteKeys(le.revoke(2n));
    expect(newRev).toBe(before + 1);
    expect(revs).toEqual([before + 1]);
    expect(store.range({ key: k('a'), rangeEnd: k('z\xff') }).kvs.map((kv) => fromUtf8(kv.key))).toEqual(['a', 'c']);
    expect(() => store.put({ key: k('q'), value: k('1'), lease: 2n })).toThrow('etcdserver: requested lease not found');
    expect(le.leaseOf(k('b'))).toBe(0n);
  });
});

describe('primary clocks', () => {
  it('a follower never expires leases and cannot renew', () => {
    const le = new Lessor();
    le.grant(1n, 5, 0);
    expect(le.lookup(1n)?.expiryMs).toBe(Number.POSITIVE_INFINITY);
    expect(le.expiredLeases(10_000_000, 100)).toEqual([]);
    expect(() => le.renew(1n, 0)).toThrow(LessorNotPrimaryError);
  });

  it('promote arms expiry at now + extend + TTL; expiry is reported at the deadline, not before', () => {
    const le = new Lessor();
    le.grant(1n, 5, 0);
    le.grant(2n, 10, 0);
    le.promote(1000, 1000); // expiries 7000 and 12000
    expect(le.lookup(1n)?.expiryMs).toBe(7000);
    expect(le.expiredLeases(6999, 10)).toEqual([]);
    expect(le.expiredLeases(7000, 10)).toEqual([1n]);
    // Not revoked yet: reported again only after the retry interval.
    expect(le.expiredLeases(8000, 10)).toEqual([]);
    expect(le.expiredLeases(10_000, 10)).toEqual([1n]);
    le.revoke(1n);
    expect(le.expiredLeases(12_000, 10)).toEqual([2n]);
  });

  it('grant on the primary arms the lease at once; renew pushes the expiry out', () => {
    const le = new Lessor();
    le.promote(0, 0);
    le.grant(1n, 5, 100);
    expect(le.lookup(1n)?.expiryMs).toBe(5100);
    expect(le.renew(1n, 3000)).toEqual({ kind: 'renewed', ttlSeconds: 5 });
    expect(le.expiredLeases(5100, 10)).toEqual([]);
    expect(le.expiredLeases(7999, 10)).toEqual([]);
    expect(le.expiredLeases(8000, 10)).toEqual([1n]);
    expect(le.renew(1n, 8000)).toEqual({ kind: 'expired' });
    expect(() => le.renew(9n, 8000)).toThrow('etcdserver: requested lease not found');
  });

  it('expiredLeases respects its limit and reports in expiry order', () => {
    const le = new Lessor();
    le.promote(0, 0);
    for (let i = 1; i <= 5; i++) le.grant(BigInt(i), 10 - i, 0);
    expect(le.expiredLeases(20_000, 2)).toEqual([5n, 4n]);
    expect(le.expiredLeases(20_000, 10)).toEqual([3n, 2n, 1n]);
  });

  it('demote stops expiry; a later promote re-arms from the promote time', () => {
    const le = new Lessor();
    le.promote(0, 0);
    le.grant(1n, 5, 0);
    le.demote();
    expect(le.expiredLeases(100_000, 10)).toEqual([]);
    le.promote(100_000, 500);
    expect(le.expiredLeases(105_499, 10)).toEqual([]);
    expect(le.expiredLeases(105_500, 10)).toEqual([1n]);
  });

  it('timeToLive truncates remaining seconds as etcd does', () => {
    const le = new Lessor();
    le.promote(0, 0);
    le.grant(1n, 10, 0);
    le.attach(1n, [k('a')]);
    const t = le.timeToLive(1n, 2500);
    expect(t.ttlSeconds).toBe(7);
    expect(t.grantedTtlSeconds).toBe(10);
    expect(names(t.keys)).toEqual(['a']);
    expect(() => le.timeToLive(2n, 0)).toThrow('etcdserver: requested lease not found');
  });

  it('promote with many leases spreads the expiries that would pile up, never moving one earlier', () => {
    const le = new Lessor();
    for (let i = 1; i <= 3000; i++) le.grant(BigInt(i), 10, 0);
    le.promote(0, 0);
    const expiries = le.leaseIds().map((id) => le.lookup(id)?.expiryMs as number);
    expect(Math.min(...expiries)).toBe(10_000);
    // Without pacing all 3000 would expire at 10 s; with it each 1 s window holds at most 3/4 of
    // the revoke rate.
    const perSecond = new Map<number, number>();
    for (const e of expiries) perSecond.set(Math.floor(e / 1000), (perSecond.get(Math.floor(e / 1000)) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBe(750);
    expect(Math.max(...expiries)).toBe(14_000);
  });
});

describe('checkpoints', () => {
  it('the primary checkpoints long leases at the interval; a new leader resumes from the checkpoint', () => {
    const opts = { checkpointIntervalMs: 60_000 };
    const leader = new Lessor(opts);
    const follower = new Lessor(opts);
    leader.promote(0, 0);
    for (const le of [leader, follower]) {
      le.grant(1n, 300, 0); // long: checkpointed
      le.grant(2n, 30, 0); // shorter than the interval: never checkpointed
    }
    expect(leader.dueCheckpoints(59_999)).toEqual([]);
    const cps = leader.dueCheckpoints(60_000);
    expect(cps).toEqual([{ id: 1n, remainingTtlSeconds: 240 }]);
    for (const le of [leader, follower]) for (const cp of cps) le.applyCheckpoint(cp.id, cp.remainingTtlSeconds, 60_000);
    expect(follower.lookup(1n)?.remainingTtlSeconds).toBe(240);
    // The leader schedules the next one after applying.
    expect(leader.dueCheckpoints(120_000)).toEqual([{ id: 1n, remainingTtlSeconds: 180 }]);
    // Leader fails; the follower takes over at 100 s: lease 1 expires 240 s later, not 300 s.
    follower.promote(100_000, 0);
    expect(follower.lookup(1n)?.expiryMs).toBe(340_000);
    expect(follower.lookup(2n)?.expiryMs).toBe(130_000);
  });

  it('renew after a checkpoint refreshes to the full TTL and asks to clear the checkpoint everywhere', () => {
    const leader = new Lessor({ checkpointIntervalMs: 60_000 });
    leader.promote(0, 0);
    leader.grant(1n, 300, 0);
    leader.applyCheckpoint(1n, 240, 60_000);
    const r = leader.renew(1n, 70_000);
    expect(r).toEqual({ kind: 'renewed', ttlSeconds: 300, checkpoint: { id: 1n, remainingTtlSeconds: 0 } });
    expect(leader.lookup(1n)?.expiryMs).toBe(370_000);
    leader.applyCheckpoint(1n, 0, 70_000);
    expect(leader.lookup(1n)?.remainingTtlSeconds).toBe(0);
    expect(leader.renew(1n, 80_000)).toEqual({ kind: 'renewed', ttlSeconds: 300 });
  });

  it('checkpointing can be disabled; followers never produce checkpoints', () => {
    const off = new Lessor({ checkpointing: false, checkpointIntervalMs: 1000 });
    off.promote(0, 0);
    off.grant(1n, 100, 0);
    expect(off.dueCheckpoints(50_000)).toEqual([]);
    const follower = new Lessor({ checkpointIntervalMs: 1000 });
    follower.grant(1n, 100, 0);
    expect(follower.dueCheckpoints(50_000)).toEqual([]);
  });

  it('a checkpoint for a revoked lease is ignored', () => {
    const le = new Lessor();
    le.applyCheckpoint(42n, 10, 0);
    expect(le.has(42n)).toBe(false);
  });
});

describe('snapshots and persistence', () => {
  function populated(): Lessor {
    const le = new Lessor();
    le.grant(30n, 100, 0);
    le.grant(-5n, 20, 0);
    le.grant(7n, 9_000_000_000, 0);
    le.attach(30n, [k('x'), k('a')]);
    le.attach(7n, [Uint8Array.of(0, 255)]);
    le.applyCheckpoint(30n, 55, 0);
    return le;
  }

  it('round-trips, in deterministic bytes regardless of insertion order', () => {
    const a = populated();
    const bytes = a.snapshotBytes();
    const b = new Lessor();
    b.grant(99n, 10, 0);
    b.restore(bytes, 0);
    expect(b.leaseIds()).toEqual([-5n, 7n, 30n]);
    expect(b.lookup(30n)).toEqual(a.lookup(30n));
    expect(b.lookup(7n)?.ttlSeconds).toBe(9_000_000_000);
    expect(b.snapshotBytes()).toEqual(bytes);
    const c = new Lessor();
    c.grant(7n, 9_000_000_000, 0);
    c.attach(7n, [Uint8Array.of(0, 255)]);
    c.grant(-5n, 20, 0);
    c.grant(30n, 100, 0);
    c.attach(30n, [k('a'), k('x')]);
    c.applyCheckpoint(30n, 55, 0);
    expect(c.snapshotBytes()).toEqual(bytes);
  });

  it('rejects corrupt snapshots', () => {
    const bytes = populated().snapshotBytes();
    const bad = bytes.slice();
    bad[20] = (bad[20] as number) ^ 1;
    expect(() => new Lessor().restore(bad, 0)).toThrow(/checksum/);
    expect(() => new Lessor().restore(bytes.subarray(0, 10), 0)).toThrow();
  });

  it('restore on the primary arms clocks from the checkpointed TTL', () => {
    const b = new Lessor();
    b.promote(0, 0);
    b.restore(populated().snapshotBytes(), 1000);
    expect(b.lookup(30n)?.expiryMs).toBe(56_000);
    expect(b.lookup(-5n)?.expiryMs).toBe(21_000);
  });

  it('tells the persistence hook every change; recover rebuilds from records and leased keys', () => {
    const saved = new Map<bigint, Uint8Array>();
    const persistence = {
      saveLease: (r: LeaseRecord) => saved.set(r.id, encodeLeaseRecord(r)),
      deleteLease: (id: bigint) => saved.delete(id),
    };
    const le = new Lessor({ persistence });
    le.grant(1n, 10, 0);
    le.grant(2n, 1, 0);
    le.grant(3n, 100, 0);
    le.applyCheckpoint(3n, 40, 0);
    le.revoke(1n);
    expect([...saved.keys()]).toEqual([2n, 3n]);
    expect(decodeLeaseRecord(saved.get(3n) as Uint8Array)).toEqual({ id: 3n, ttlSeconds: 100, remainingTtlSeconds: 40 });
    expect(decodeLeaseRecord(saved.get(2n) as Uint8Array)).toEqual({ id: 2n, ttlSeconds: 2, remainingTtlSeconds: 0 });
    const again = new Lessor();
    again.recover([...saved.values()].map(decodeLeaseRecord), [{ key: k('q'), lease: 3n }]);
    expect(again.leaseIds()).toEqual([2n, 3n]);
    expect(again.lookup(3n)?.keys).toEqual(['71']);
    expect(again.isPrimary()).toBe(false);
  });

  it('lease records use etcd leasepb encoding and big-endian keys', () => {
    // ID=1 (08 01), TTL=10 (10 0a)
    expect([...encodeLeaseRecord({ id: 1n, ttlSeconds: 10, remainingTtlSeconds: 0 })]).toEqual([0x08, 0x01, 0x10, 0x0a]);
    const neg = { id: -2n, ttlSeconds: 300, remainingTtlSeconds: 7 };
    expect(decodeLeaseRecord(encodeLeaseRecord(neg))).toEqual(neg);
    expect(encodeLeaseRecord(neg).length).toBe(1 + 10 + 1 + 2 + 1 + 1);
    expect([...leaseRecordKey(0x0102n)]).toEqual([0, 0, 0, 0, 0, 0, 1, 2]);
  });
});

describe('checkpoint schedule', () => {
  it('a lease renewed just before its checkpoint stays on the schedule', () => {
    const le = new Lessor({ checkpointIntervalMs: 10_000 });
    le.promote(0, 0);
    le.grant(1n, 60, 0);
    le.renew(1n, 9_500);
    expect(le.dueCheckpoints(10_000)).toEqual([]); // remaining 60 s = TTL: nothing to record
    expect(le.dueCheckpoints(20_000)).toEqual([{ id: 1n, remainingTtlSeconds: 50 }]);
  });
});
