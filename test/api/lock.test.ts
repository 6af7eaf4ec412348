/**
 * LockApi (etcd's v3lock) on a simulated three-member cluster: key layout, FIFO hand-over
 * through predecessor deletes, re-entry on the same lease, the errors etcd gives, cancellation
 * cleanup, lease loss while waiting, and mutual exclusion among many contenders.
 */
import { describe, expect, it } from 'vitest';
import { EtcdError, GrpcCode } from '../../src/api/index.js';
import { createRand } from '../../src/util/index.js';
import { SimHarness, fromUtf8, track, utf8 } from './lock-sim.js';

async function started(seed = 7): Promise<SimHarness> {
  const h = new SimHarness(seed);
  await h.start();
  return h;
}

function expectEtcdError(error: unknown, code: number, message: string): void {
  expect(error).toBeInstanceOf(EtcdError);
  expect({ code: (error as EtcdError).code, message: (error as EtcdError).message }).toEqual({ code, message });
}

describe('LockApi', () => {
  it('takes a free lock at once on etcd\'s key <name>/<lease hex>, attached to the lease', async () => {
    const h = await started();
    const lease = await h.grant(30);
    const res = await h.settle(h.lockApi().lock(utf8('mylock'), lease));
    expect(fromUtf8(res.key)).toBe(`mylock/${lease.toString(16)}`);
    const got = await h.settle(h.services().kv.range({ key: res.key }));
    expect(got.kvs).toHaveLength(1);
    expect(got.kvs[0]?.lease).toBe(lease);
    expect(got.kvs[0]?.value).toHaveLength(0);
    // The key was created by this Lock: the header is the creating revision.
    expect(res.header.revision).toBe(got.kvs[0]?.createRevision);
    // A second Lock on the same lease finds its own key and holds the lock already.
    const again = await h.settle(h.lockApi().lock(utf8('mylock'), lease));
    expect(fromUtf8(again.key)).toBe(fromUtf8(res.key));
    expect(await h.keys('mylock/')).toEqual([`mylock/${lease.toString(16)}`]);
  });

  it('hands the lock over in arrival order as holders unlock', async () => {
    const h = await started();
    const api = h.lockApi();
    const [a, b, c] = [await h.grant(30), await h.grant(30), await h.grant(30)];
    const ra = await h.settle(api.lock(utf8('q'), a));
    const tb = track(api.lock(utf8('q'), b));
    await h.run(200);
    const tc = track(api.lock(utf8('q'), c));
    await h.run(500);
    expect(tb.settled).toBe(false);
    expect(tc.settled).toBe(false);
    const unlocked = await h.settle(api.unlock(ra.key));
    await h.settle(tb.promise);
    expect(fromUtf8((tb.value as { key: Uint8Array }).key)).toBe(`q/${b.toString(16)}`);
    // B acquired after A's key was deleted.
    expect(tb.value?.header.revision).toBeGreaterThanOrEqual(unlocked.header.revision);
    await h.run(500);
    expect(tc.settled).toBe(false);
    await h.settle(api.unlock((tb.value as { key: Uint8Array }).key));
    const rc = await h.settle(tc.promise);
    expect(fromUtf8(rc.key)).toBe(`q/${c.toString(16)}`);
  });

  it('keeps waiting when its predecessor leaves but an older holder remains', async () => {
    const h = await started();
    const api = h.lockApi();
    const [a, b, c] = [await h.grant(30), await h.grant(30), await h.grant(30)];
    const ra = await h.settle(api.lock(utf8('p'), a));
    const tb = track(api.lock(utf8('p'), b));
    await h.run(200);
    const tc = track(api.lock(utf8('p'), c));
    await h.run(200);
    // C watches B (its immediate predecessor); B gives up, C must then wait for A.
    await h.settle(api.unlock(utf8(`p/${b.toString(16)}`)));
    await h.run(1_000);
    expect(tc.settled).toBe(false);
    expect(tb.settled).toBe(true);
    expectEtcdError(tb.error, GrpcCode.UNKNOWN, 'mutex: session is expired');
    await h.settle(api.unlock(ra.key));
    expect(fromUtf8((await h.settle(tc.promise)).key)).toBe(`p/${c.toString(16)}`);
  });

  it('answers "mutex: session is expired" when the waiter\'s lease is revoked or expires', async () => {
    const h = await started();
    const api = h.lockApi();
    const holder = await h.grant(60);
    await h.settle(api.lock(utf8('s'), holder));
    const revoked = await h.grant(60);
    const t1 = track(api.lock(utf8('s'), revoked));
    await h.run(300);
    await h.settle(h.services().lease.revoke(revoked));
    await h.run(300);
    expect(t1.settled).toBe(true);
    expectEtcdError(t1.error, GrpcCode.UNKNOWN, 'mutex: session is expired');
    // A lease nobody keeps alive expires while its Lock waits (virtual time: no wall clock spent).
    const expiring = await h.grant(3);
    const t2 = track(api.lock(utf8('s'), expiring));
    await h.run(2_000);
    expect(t2.settled).toBe(false);
    await h.run(8_000);
    expect(t2.settled).toBe(true);
    expectEtcdError(t2.error, GrpcCode.UNKNOWN, 'mutex: session is expired');
    expect(await h.keys('s/')).toEqual([`s/${holder.toString(16)}`]);
  });

  it('answers an unknown lease as etcd does (UNKNOWN, the server\'s message)', async () => {
    const h = await started();
    const error = await h.settle(h.lockApi().lock(utf8('u'), 0x1234n)).catch((e: unknown) => e);
    expectEtcdError(error, GrpcCode.UNKNOWN, 'etcdserver: requested lease not found');
    expect(await h.keys('u/')).toEqual([]);
  });

  it('grants a 60 s session lease when the request names none', async () => {
    const h = await started();
    const res = await h.settle(h.lockApi().lock(utf8('z'), 0n));
    const kv = (await h.settle(h.services().kv.range({ key: res.key }))).kvs[0];
    expect(kv).toBeDefined();
    const lease = kv?.lease ?? 0n;
    expect(lease).not.toBe(0n);
    expect(fromUtf8(res.key)).toBe(`z/${lease.toString(16)}`);
    expect(h.services().lease.timeToLive(lease, false).grantedTtlSeconds).toBe(60);
  });

  it('a cancelled waiter stops waiting and deletes its key; the queue behind it still moves', async () => {
    const h = await started();
    const api = h.lockApi();
    const [a, b, c] = [await h.grant(30), await h.grant(30), await h.grant(30)];
    const ra = await h.settle(api.lock(utf8('c'), a));
    const abort = new AbortController();
    const tb = track(api.lock(utf8('c'), b, abort.signal));
    await h.run(200);
    const tc = track(api.lock(utf8('c'), c));
    await h.run(200);
    expect(await h.keys('c/')).toHaveLength(3);
    abort.abort();
    await h.run(300);
    expect(tb.settled).toBe(true);
    expect((tb.error as EtcdError).code).toBe(GrpcCode.CANCELLED);
    expect(await h.keys('c/')).toEqual([`c/${a.toString(16)}`, `c/${c.toString(16)}`].sort());
    await h.settle(api.unlock(ra.key));
    expect(fromUtf8((await h.settle(tc.promise)).key)).toBe(`c/${c.toString(16)}`);
  });

  it('a waiter on a follower is woken by an unlock through the leader, and waiting blocks nothing', async () => {
    const h = await started();
    const leader = h.cluster.leader();
    const follower = h.cluster.ids.find((id) => id !== leader);
    if (follower === undefined) throw new Error('no follower');
    const [a, b] = [await h.grant(30), await h.grant(30)];
    const ra = await h.settle(h.lockApi().lock(utf8('f'), a));
    const tb = track(h.lockApi(follower).lock(utf8('f'), b));
    await h.run(300);
    // Other requests on the waiting member go through while the Lock waits.
    const put = await h.settle(h.services(follower).kv.put({ key: utf8('other'), value: utf8('v') }));
    expect(put.header.revision).toBeGreaterThan(0);
    expect(tb.settled).toBe(false);
    await h.settle(h.lockApi().unlock(ra.key));
    expect(fromUtf8((await h.settle(tb.promise)).key)).toBe(`f/${b.toString(16)}`);
  });

  it('never lets two contenders hold the lock at once (5 contenders, random hold times)', async () => {
    const h = await started(11);
    const rand = createRand(42);
    const members = h.cluster.ids;
    let holders = 0;
    let maxHolders = 0;
    let acquisitions = 0;
    const contender = async (i: number): Promise<void> => {
      const member = members[i % members.length];
      const api = h.lockApi(member);
      const lease = (await h.services(member).lease.grant(60, 0n)).id;
      for (let round = 0; round < 3; round++) {
        const res = await api.lock(utf8('mutex'), lease);
        holders++;
        acquisitions++;
        maxHolders = Math.max(maxHolders, holders);
        await new Promise<void>((resolve) => h.loop.after(rand.between(1, 150), 'hold', undefined, resolve));
        holders--;
        await api.unlock(res.key);
      }
    };
    await h.settle(Promise.all([0, 1, 2, 3, 4].map(contender)), 60_000);
    expect(acquisitions).toBe(15);
    expect(maxHolders).toBe(1);
    expect(await h.keys('mutex/')).toEqual([]);
  });
});
