import { describe, it, expect } from 'vitest';
import { runSimulation } from '../../sim/run.js';
import { checkWatches } from '../../checker/index.js';
import { pairOps } from '../../histories/index.js';
import type { Op, Value } from '../../histories/index.js';
import { checkLeaseExpiry, forwardJumps } from '../../sim/lease-workload.js';
import type { LeaseWorkload } from '../../sim/lease-workload.js';
import { mutualExclusionViolations } from '../../sim/lock-workload.js';

const SAFETY_MS = 4_000;

/** Removes one event from the middle of the first watch recording with at least three events. */
function dropOneWatchEvent(history: readonly Op[]): Op[] | undefined {
  let done = false;
  const out = history.map((op) => {
    if (done || op.f !== 'watch' || op.type === 'invoke') return op;
    const responses = (op.value as { responses: Array<{ events: Value[] }> }).responses;
    const flat = responses.flatMap((r, ri) => r.events.map((_e, ei) => [ri, ei] as const));
    if (flat.length < 3) return op;
    const [ri, ei] = flat[1] as readonly [number, number];
    done = true;
    const copy = responses.map((r, i) => (i === ri ? { ...r, events: r.events.filter((_e, j) => j !== ei) } : r));
    return { ...op, value: { responses: copy } as unknown as Value };
  });
  return done ? out : undefined;
}

describe('watch workload', () => {
  it('watchers resume across members and compactions, and the watch checker finds nothing wrong', async () => {
    const r = await runSimulation({ seed: 1, workload: 'watch', safetyMs: SAFETY_MS });
    expect(r.status, r.message).toBe('pass');
    const watch = r.verdict?.watch;
    expect(watch?.verdict).toBe('valid');
    expect(watch?.watchers).toBeGreaterThan(4);
    expect(watch?.eventsChecked).toBeGreaterThan(50);
  }, 60_000);

  it('the same history with one watch event removed is reported as a gap', async () => {
    const r = await runSimulation({ seed: 1, workload: 'watch', safetyMs: SAFETY_MS });
    const tampered = dropOneWatchEvent(r.history);
    expect(tampered).toBeDefined();
    const report = checkWatches(pairOps(tampered as Op[]));
    expect(report.verdict).toBe('invalid');
    expect(report.anomalyTypes).toContain('gap');
  }, 60_000);

  it('is deterministic: the same seed gives the same trace hash', async () => {
    const a = await runSimulation({ seed: 3, workload: 'watch', safetyMs: 2_000 });
    const b = await runSimulation({ seed: 3, workload: 'watch', safetyMs: 2_000 });
    expect(a.traceHash).toBe(b.traceHash);
    expect(a.history.length).toBe(b.history.length);
  }, 60_000);
});

describe('lease workload', () => {
  it('grants, keeps alive, revokes and expires leases with no early expiry and equal state hashes', async () => {
    const r = await runSimulation({ seed: 1, workload: 'lease', safetyMs: SAFETY_MS });
    expect(r.status, r.message).toBe('pass');
    expect(r.verdict?.violations).toEqual([]);
    expect(r.verdict?.summary).toMatch(/lease: [1-9]\d* leases granted, [1-9]\d* revoked/);
  }, 60_000);

  it('flags an expiry applied before the last renewal + TTL, allowing for drift and forward clock jumps', () => {
    const lease = { id: 0x10n, ttlSeconds: 2, lastRenewMs: 1_000, lastRenewStale: false, revokeInvokedMs: undefined };
    const fake = { leases: new Map([['16', lease]]), revokeAppliedMs: new Map([['16', 2_500]]) } as unknown as LeaseWorkload;
    expect(checkLeaseExpiry(fake, { driftRateMax: 1, forwardJumps: [] }).violations).toHaveLength(1);
    // A 600 ms forward jump of some member's clock in between explains it.
    expect(checkLeaseExpiry(fake, { driftRateMax: 1, forwardJumps: [{ atMs: 1_200, deltaMs: 600 }] }).violations).toHaveLength(0);
    // A renewal acked by a deposed leader is reported as a finding, not a violation.
    lease.lastRenewStale = true;
    const stale = checkLeaseExpiry(fake, { driftRateMax: 1, forwardJumps: [] });
    expect([stale.violations.length, stale.findings.length]).toEqual([0, 1]);
    // On time (after 3000 ms): nothing.
    const onTime = { leases: new Map([['16', { ...lease, lastRenewStale: false }]]), revokeAppliedMs: new Map([['16', 3_001]]) } as unknown as LeaseWorkload;
    expect(checkLeaseExpiry(onTime, { driftRateMax: 1, forwardJumps: [] }).violations).toHaveLength(0);
  });

  it('reads forward clock jumps from the nemesis ops', () => {
    const ops = [
      { index: 0, process: 'nemesis', type: 'invoke', f: 'clock-jump', value: 'n1 250ms', time: 5e9 },
      { index: 1, process: 'nemesis', type: 'invoke', f: 'clock-jump', value: 'n2 -90ms', time: 6e9 },
    ] as unknown as Op[];
    expect(forwardJumps(ops)).toEqual([{ atMs: 5_000, deltaMs: 250 }]);
  });
});

describe('lock workload', () => {
  it('without faults no two holders are ever inside at once', async () => {
    const r = await runSimulation({ seed: 2, workload: 'lock', safetyMs: SAFETY_MS, noFaults: true });
    expect(r.status, r.message).toBe('pass');
    expect(r.verdict?.violations).toEqual([]);
    expect(r.verdict?.findings).toEqual([]);
    expect(r.verdict?.summary).toMatch(/lock: [1-9]\d* critical sections/);
  }, 60_000);

  it('a holder paused past its lease overlaps the next holder: reported as a finding, not a store failure', async () => {
    const r = await runSimulation({ seed: 3, workload: 'lock', safetyMs: 8_000 });
    expect(r.status, r.message).toBe('pass');
    expect(r.verdict?.findings.length).toBeGreaterThan(0);
    expect(r.verdict?.findings[0]).toMatch(/explained by a holder pause/);
  }, 60_000);

  it('finds overlapping critical sections', () => {
    const iv = (holder: number, enterMs: number, exitMs: number | undefined) => ({ holder, lease: String(holder), enterMs, exitMs, paused: false });
    expect(mutualExclusionViolations([iv(0, 0, 10), iv(1, 10, 20), iv(2, 20, 30)], 100)).toHaveLength(0);
    const found = mutualExclusionViolations([iv(0, 0, 15), iv(1, 10, 20), iv(2, 25, undefined), iv(3, 90, 95)], 100);
    expect(found.map(({ a, b }) => [a.holder, b.holder])).toEqual([[0, 1], [2, 3]]);
  });
});

describe('membership nemesis', () => {
  it('adds a learner that joins from an empty disk, promotes it, removes voters, and stays safe and live', async () => {
    const r = await runSimulation({ seed: 4, workload: 'kv', membership: true, safetyMs: 8_000 });
    expect(r.status, r.message).toBe('pass');
    const kinds = new Set(r.nemesisActions.map((a) => a.split(' ')[1]));
    for (const kind of ['addLearner', 'join', 'promoteLearner', 'removeNode']) expect(kinds).toContain(kind);
    expect(r.linearizability?.verdict).toBe('valid');
  }, 60_000);
});
