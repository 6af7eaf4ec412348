/**
 * The leader's lessor becomes primary when the member becomes leader, before anything of the new
 * term applies, as etcd's updateLeadership promotes it. Found by the lease-ttl-and-keys golden
 * under load: the periodic expiry check (every 500 ms) used to notice the leadership, so a lease
 * granted right after the election got a second expiry, with the election extension, when it did:
 * etcdctl then saw 19 s left of a 20 s lease after 1.5 s.
 */
import { describe, expect, it } from 'vitest';
import { SimHarness } from './lock-sim.js';

describe('lessor promotion', () => {
  it('a lease granted right after the election counts down from its grant', async () => {
    const h = new SimHarness(11);
    await h.start();
    const startedAtMs = h.loop.nowMs;
    const id = await h.grant(20);
    // The scenario needs the grant to apply before the first periodic expiry check.
    expect(h.loop.nowMs - startedAtMs).toBeLessThan(500);
    await h.run(1010);
    const ttl = await h.settle(h.services().lease.timeToLiveAtLeader(id, false));
    // etcd truncates the remaining seconds: 20 s granted, a little over 1 s passed (a late
    // promotion would add the time until it plus the election extension: 19).
    expect(ttl.ttlSeconds).toBe(18);
  });
});
