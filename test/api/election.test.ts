/**
 * ElectionApi (etcd's v3election) on a simulated three-member cluster: campaign order, leader
 * keys, proclaim and resign guarded by the create revision, etcd's error texts, observe across
 * leadership changes, cancelled campaigns withdrawing.
 */
import { describe, expect, it } from 'vitest';
import { EtcdError, GrpcCode } from '../../src/api/index.js';
import type { LeaderResult } from '../../src/api/index.js';
import { SimHarness, fromUtf8, track, utf8 } from './lock-sim.js';

async function started(): Promise<SimHarness> {
  const h = new SimHarness(5);
  await h.start();
  return h;
}

function expectUnknown(error: unknown, message: string): void {
  expect(error).toBeInstanceOf(EtcdError);
  expect({ code: (error as EtcdError).code, message: (error as EtcdError).message }).toEqual({ code: GrpcCode.UNKNOWN, message });
}

describe('ElectionApi', () => {
  it('elects the first campaigner; the second leads once the first resigns', async () => {
    const h = await started();
    const api = h.electionApi();
    const [a, b] = [await h.grant(30), await h.grant(30)];
    const ca = await h.settle(api.campaign(utf8('e'), a, utf8('alpha')));
    expect(ca.leader).toMatchObject({ lease: a, rev: ca.header.revision });
    expect(fromUtf8(ca.leader.key)).toBe(`e/${a.toString(16)}`);
    expect(fromUtf8(ca.leader.name)).toBe('e');
    const tb = track(api.campaign(utf8('e'), b, utf8('beta')));
    await h.run(500);
    expect(tb.settled).toBe(false);
    const leader = await h.settle(api.leader(utf8('e')));
    expect(fromUtf8(leader.kv.value)).toBe('alpha');
    expect(leader.kv.createRevision).toBe(ca.leader.rev);
    await h.settle(api.resign(ca.leader));
    const cb = await h.settle(tb.promise);
    expect(fromUtf8(cb.leader.key)).toBe(`e/${b.toString(16)}`);
    expect(fromUtf8((await h.settle(api.leader(utf8('e')))).kv.value)).toBe('beta');
  });

  it('proclaims only while the leader key is the same incarnation; resign of a stale key is a no-op', async () => {
    const h = await started();
    const api = h.electionApi();
    const a = await h.grant(30);
    const { leader } = await h.settle(api.campaign(utf8('p'), a, utf8('v1')));
    const proclaimed = await h.settle(api.proclaim(leader, utf8('v2')));
    const now = await h.settle(api.leader(utf8('p')));
    expect(fromUtf8(now.kv.value)).toBe('v2');
    expect(now.kv.modRevision).toBe(proclaimed.header.revision);
    const stale = { ...leader, rev: leader.rev - 1 };
    expectUnknown(await h.settle(api.proclaim(stale, utf8('x'))).catch((e: unknown) => e), 'election: not leader');
    const resigned = await h.settle(api.resign(stale));
    expect(resigned.header.revision).toBe(proclaimed.header.revision);
    expect(fromUtf8((await h.settle(api.leader(utf8('p')))).kv.value)).toBe('v2');
    expectUnknown(await h.settle(api.proclaim(undefined, utf8('x'))).catch((e: unknown) => e), '"leader" field must be provided');
    expectUnknown(await h.settle(api.resign(undefined)).catch((e: unknown) => e), '"leader" field must be provided');
    await h.settle(api.resign(leader));
    expectUnknown(await h.settle(api.leader(utf8('p'))).catch((e: unknown) => e), 'election: no leader');
  });

  it('a repeated campaign on the same lease resumes it and proclaims the new value', async () => {
    const h = await started();
    const api = h.electionApi();
    const a = await h.grant(30);
    const first = await h.settle(api.campaign(utf8('r'), a, utf8('one')));
    const second = await h.settle(api.campaign(utf8('r'), a, utf8('uno')));
    expect(second.leader).toEqual(first.leader);
    const leader = await h.settle(api.leader(utf8('r')));
    expect(fromUtf8(leader.kv.value)).toBe('uno');
    expect(leader.kv.version).toBe(2);
  });

  it('campaign errors as etcd: an unknown lease; a contender whose lease is revoked while waiting is not leader', async () => {
    const h = await started();
    const api = h.electionApi();
    expectUnknown(await h.settle(api.campaign(utf8('x'), 0xabcn, utf8('v'))).catch((e: unknown) => e), 'etcdserver: requested lease not found');
    const [a, b] = [await h.grant(30), await h.grant(30)];
    await h.settle(api.campaign(utf8('x'), a, utf8('a')));
    const tb = track(api.campaign(utf8('x'), b, utf8('b')));
    await h.run(300);
    await h.settle(h.services().lease.revoke(b));
    await h.run(300);
    expect(tb.settled).toBe(true);
    expectUnknown(tb.error, 'election: not leader');
  });

  it('a cancelled campaign withdraws its key', async () => {
    const h = await started();
    const api = h.electionApi();
    const [a, b] = [await h.grant(30), await h.grant(30)];
    await h.settle(api.campaign(utf8('c'), a, utf8('a')));
    const abort = new AbortController();
    const tb = track(api.campaign(utf8('c'), b, utf8('b'), abort.signal));
    await h.run(300);
    expect(await h.keys('c/')).toHaveLength(2);
    abort.abort();
    await h.run(300);
    expect((tb.error as EtcdError).code).toBe(GrpcCode.CANCELLED);
    expect(await h.keys('c/')).toEqual([`c/${a.toString(16)}`]);
  });

  it('observe streams the leader: waits for the first, follows proclaims, moves to the next leader', async () => {
    const h = await started();
    const leaderMember = h.cluster.leader();
    const follower = h.cluster.ids.find((id) => id !== leaderMember);
    const api = h.electionApi();
    const seen: LeaderResult[] = [];
    const abort = new AbortController();
    // Observed from a follower: its own applied store and watch hub serve the stream.
    const observing = track(h.electionApi(follower).observe(utf8('o'), (r) => (seen.push(r), Promise.resolve()), abort.signal));
    await h.run(300);
    expect(seen).toHaveLength(0);
    const [a, b] = [await h.grant(30), await h.grant(30)];
    const ca = await h.settle(api.campaign(utf8('o'), a, utf8('a1')));
    const tb = track(api.campaign(utf8('o'), b, utf8('b1')));
    await h.run(300);
    await h.settle(api.proclaim(ca.leader, utf8('a2')));
    await h.run(300);
    await h.settle(api.resign(ca.leader));
    await h.settle(tb.promise);
    await h.run(300);
    expect(seen.map((r) => fromUtf8(r.kv.value))).toEqual(['a1', 'a2', 'b1']);
    expect(seen.map((r) => fromUtf8(r.kv.key))).toEqual([`o/${a.toString(16)}`, `o/${a.toString(16)}`, `o/${b.toString(16)}`]);
    // Headers never go back in time, and each is at or after the value it carries.
    for (const r of seen) expect(r.header.revision).toBeGreaterThanOrEqual(r.kv.modRevision);
    expect(seen.map((r) => r.header.revision)).toEqual([...seen.map((r) => r.header.revision)].sort((x, y) => x - y));
    expect(observing.settled).toBe(false);
    abort.abort();
    await h.run(100);
    expect(observing.settled).toBe(true);
    expect(observing.error).toBeUndefined();
  });
});
