/**
 * Random histories of grant / renew / promote / demote / time passing / checkpoints through a
 * simulated Raft log: no lease is ever reported expired before the deadline the client was last
 * promised (grant or successful renew + TTL), and every lease does expire once a primary has
 * waited long enough.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Lessor, type LeaseCheckpoint } from '../../src/lease/index.js';

type Op =
  | { op: 'grant'; id: number; ttlSeconds: number }
  | { op: 'renew'; id: number }
  | { op: 'promote'; extendMs: number }
  | { op: 'demote' }
  | { op: 'advance'; ms: number }
  | { op: 'expire'; limit: number; revoke: boolean }
  | { op: 'checkpoint' }
  | { op: 'commit'; count: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant('grant' as const), id: fc.integer({ min: 1, max: 4 }), ttlSeconds: fc.integer({ min: 0, max: 30 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('renew' as const), id: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('promote' as const), extendMs: fc.integer({ min: 0, max: 3000 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('demote' as const) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 15_000 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('expire' as const), limit: fc.integer({ min: 1, max: 4 }), revoke: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('checkpoint' as const) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('commit' as const), count: fc.integer({ min: 0, max: 3 }) }) },
);

/** The primary's clock for every lease is at or after what the client was promised. */
function checkClocks(w: World): void {
  if (!w.lessor.isPrimary()) return;
  for (const id of w.lessor.leaseIds()) {
    const promised = w.promisedMs.get(id) as number;
    const expiryMs = w.lessor.lookup(id)?.expiryMs as number;
    expect(expiryMs, `lease ${id} expires at ${expiryMs}, promised until ${promised}`).toBeGreaterThanOrEqual(promised);
  }
}

interface World {
  now: number;
  lessor: Lessor;
  /** id -> the latest deadline a client was told (grant or renew time + TTL). */
  promisedMs: Map<bigint, number>;
  /** Proposed checkpoints not yet applied, in log order. */
  log: LeaseCheckpoint[];
}

function commit(w: World, count: number): void {
  for (const cp of w.log.splice(0, count)) w.lessor.applyCheckpoint(cp.id, cp.remainingTtlSeconds, w.now);
}

function step(w: World, o: Op): void {
  const le = w.lessor;
  switch (o.op) {
    case 'grant': {
      const id = BigInt(o.id);
      if (le.has(id)) return;
      const info = le.grant(id, o.ttlSeconds, w.now);
      w.promisedMs.set(id, w.now + info.ttlSeconds * 1000);
      return;
    }
    case 'renew': {
      const id = BigInt(o.id);
      if (!le.isPrimary() || !le.has(id)) return;
      const r = le.renew(id, w.now);
      if (r.kind === 'renewed') {
        w.promisedMs.set(id, w.now + r.ttlSeconds * 1000);
        if (r.checkpoint !== undefined) w.log.push(r.checkpoint);
      }
      return;
    }
    case 'promote':
    case 'demote':
      // A leadership change: whatever was proposed has committed (or the model would lose renews).
      commit(w, w.log.length);
      if (o.op === 'promote' && !le.isPrimary()) le.promote(w.now, o.extendMs);
      if (o.op === 'demote') le.demote();
      return;
    case 'advance':
      w.now += o.ms;
      return;
    case 'expire':
      for (const id of le.expiredLeases(w.now, o.limit)) {
        const promised = w.promisedMs.get(id) as number;
        expect(w.now, `lease ${id} reported expired at ${w.now}, promised until ${promised}`).toBeGreaterThanOrEqual(promised);
        if (o.revoke) {
          le.revoke(id);
          w.promisedMs.delete(id);
        }
      }
      return;
    case 'checkpoint':
      w.log.push(...le.dueCheckpoints(w.now));
      return;
    case 'commit':
      commit(w, o.count);
      return;
  }
}

describe('lessor expiry property', () => {
  it('never expires a lease before its promised deadline, and expires every lease eventually', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 100 }), fc.boolean(), (ops, checkpointing) => {
        const lessor = new Lessor({ checkpointing, checkpointIntervalMs: 2000 });
        const w: World = { now: 0, lessor, promisedMs: new Map(), log: [] };
        for (const o of ops) {
          step(w, o);
          checkClocks(w);
        }
        // Liveness: a primary that waits past every deadline sees every lease expire.
        commit(w, w.log.length);
        if (!lessor.isPrimary()) lessor.promote(w.now, 1000);
        w.now += 31_000 + 1000 + 3000;
        const expired = lessor.expiredLeases(w.now, 1000);
        expect(expired.slice().sort((a, b) => (a < b ? -1 : 1))).toEqual(lessor.leaseIds());
        for (const id of expired) expect(w.now).toBeGreaterThanOrEqual(w.promisedMs.get(id) as number);
      }),
      { numRuns: 400 },
    );
  });

  it('a checkpoint in flight during a renew does not shorten the renewed lease on a new leader', () => {
    const leader = new Lessor({ checkpointIntervalMs: 60_000 });
    const follower = new Lessor({ checkpointIntervalMs: 60_000 });
    leader.promote(0, 0);
    for (const le of [leader, follower]) le.grant(1n, 300, 0);
    const cps = leader.dueCheckpoints(60_000); // remaining 240, proposed
    const r = leader.renew(1n, 61_000); // before it applies: promised until 361 s
    expect(r.kind === 'renewed' && r.checkpoint).toEqual({ id: 1n, remainingTtlSeconds: 0 });
    const log = [...cps, ...(r.kind === 'renewed' && r.checkpoint !== undefined ? [r.checkpoint] : [])];
    for (const le of [leader, follower]) for (const cp of log) le.applyCheckpoint(cp.id, cp.remainingTtlSeconds, 62_000);
    follower.promote(63_000, 0);
    expect(follower.lookup(1n)?.expiryMs).toBe(363_000);
  });
});
