import { describe, expect, it } from 'vitest';
import { clockOptions, diskOptions, drawFaultProfile, drawIntervalMs, formatFaultProfile, networkOptions, withoutFaults } from '../../sim/index.js';
import { createRand, nodeId } from '../../src/util/index.js';

describe('fault profiles', () => {
  it('one seed, one profile: redrawing gives the same, whatever else the root stream did', () => {
    const a = drawFaultProfile(createRand(1234));
    const root = createRand(1234);
    for (let i = 0; i < 100; i++) root.nextUint32();
    root.fork('net').nextUint32();
    expect(drawFaultProfile(root)).toEqual(a);
    expect(drawFaultProfile(createRand(1235))).not.toEqual(a);
    expect(() => drawFaultProfile(createRand(1).fork('x'))).toThrow(/root/);
  });

  it('varies across seeds: both cluster sizes, each fault family both on and off', () => {
    const profiles = Array.from({ length: 200 }, (_, s) => drawFaultProfile(createRand(s)));
    expect(new Set(profiles.map((p) => p.nodeCount))).toEqual(new Set([3, 5]));
    const onOff = (on: (p: (typeof profiles)[number]) => boolean): [number, number] => [profiles.filter(on).length, profiles.filter((p) => !on(p)).length];
    for (const on of [
      (p: (typeof profiles)[number]) => p.network.lossRate > 0,
      (p: (typeof profiles)[number]) => p.partition.meanIntervalMs > 0,
      (p: (typeof profiles)[number]) => p.crash.meanIntervalMs > 0,
      (p: (typeof profiles)[number]) => p.pause.meanIntervalMs > 0,
      (p: (typeof profiles)[number]) => p.clock.nodes.some((c) => c.skewMs !== 0),
      (p: (typeof profiles)[number]) => p.disk.tornWriteProb > 0,
      (p: (typeof profiles)[number]) => p.disk.corruptionProb > 0,
      (p: (typeof profiles)[number]) => p.earlyFirstFault,
      (p: (typeof profiles)[number]) => p.powerLoss.meanIntervalMs > 0,
      (p: (typeof profiles)[number]) => p.crashTrigger.voteGrantProb > 0,
      (p: (typeof profiles)[number]) => p.crashTrigger.appendAckProb > 0,
      (p: (typeof profiles)[number]) => p.crashTrigger.leaderCommitProb > 0,
      (p: (typeof profiles)[number]) => p.slowTick.meanIntervalMs > 0,
      (p: (typeof profiles)[number]) => p.snapshot.snapshotCount <= 50,
      (p: (typeof profiles)[number]) => p.snapDelay.prob > 0,
      (p: (typeof profiles)[number]) => p.chargeSyncLatency,
      (p: (typeof profiles)[number]) => p.partition.kinds.includes('isolate-leader'),
    ]) {
      const [yes, no] = onOff(on);
      expect(yes).toBeGreaterThan(0);
      expect(no).toBeGreaterThan(0);
    }
    for (const p of profiles) {
      expect(p.nodeIds.length).toBe(p.nodeCount);
      expect(p.clock.nodes.map((c) => c.nodeId)).toEqual(p.nodeIds);
      expect(p.network.latencyMsMin).toBeLessThanOrEqual(p.network.latencyMsMax);
      expect(p.partition.durationMsMin).toBeLessThanOrEqual(p.partition.durationMsMax);
      for (const c of p.clock.nodes) expect(Math.abs(c.driftRate - 1)).toBeLessThanOrEqual(0.001);
      if (p.partition.meanIntervalMs > 0) expect(p.partition.kinds.length).toBeGreaterThan(0);
      const snap = p.snapshot;
      expect(snap.snapshotCount === 200 ? snap.catchUpEntries === 50 : snap.snapshotCount >= 10 && snap.snapshotCount <= 50 && snap.catchUpEntries < snap.snapshotCount).toBe(true);
      expect(p.crashTrigger.downMsMin).toBeLessThanOrEqual(p.crashTrigger.downMsMax);
      expect(p.snapDelay.delayMsMin).toBeLessThanOrEqual(p.snapDelay.delayMsMax);
    }
  });

  it('prints in full, headed by the seed', () => {
    const p = drawFaultProfile(createRand(42));
    const text = formatFaultProfile(p);
    expect(text.split('\n')[0]).toBe('seed 42 chose:');
    expect(text).toContain(`nodes:     ${p.nodeCount} (`);
    expect(text).toContain(`loss ${p.network.lossRate}`);
    expect(text).toContain(`torn ${p.disk.tornWriteProb}`);
    for (const c of p.clock.nodes) expect(text).toContain(`${c.nodeId} skew ${c.skewMs}ms drift ${c.driftRate}`);
    expect(text).toContain(`snapshot:  every ${p.snapshot.snapshotCount} entries`);
    for (const family of ['first:', 'power:', 'trigger:', 'slow tick:']) expect(text).toContain(family);
    expect(text.split('\n').length).toBe(13);
  });

  it('new families draw from forks of their own: the families that existed before keep their values', () => {
    // Seed 7's crash and network draws, recorded before power loss, triggers and the rest existed.
    const p7 = drawFaultProfile(createRand(7));
    expect(p7.network).toEqual({ latencyMsMin: 1, latencyMsMax: 74, lossRate: 0.0315, duplicateRate: 0, reorderRate: 0.0592, reorderExtraMsMax: 65 });
    expect([p7.partition.meanIntervalMs, p7.crash.meanIntervalMs, p7.pause.meanIntervalMs, p7.disk.tornWriteProb]).toEqual([1376, 4003, 3009, 0.8617]);
    expect(p7.partition.kinds.filter((k) => k !== 'isolate-leader')).toEqual(['halves', 'isolate', 'one-way']);
  });

  it('withoutFaults turns every fault off and keeps the cluster', () => {
    const p = drawFaultProfile(createRand(3));
    const calm = withoutFaults(p);
    expect(calm.nodeIds).toEqual(p.nodeIds);
    expect(calm.network.lossRate + calm.network.duplicateRate + calm.network.reorderRate).toBe(0);
    expect(calm.partition.meanIntervalMs + calm.crash.meanIntervalMs + calm.pause.meanIntervalMs + calm.clock.jumpMeanIntervalMs).toBe(0);
    expect(calm.disk.tornWriteProb + calm.disk.corruptionProb + calm.disk.syncFailProb + calm.disk.writeFailProb + calm.disk.slowSyncProb).toBe(0);
    expect(calm.powerLoss.meanIntervalMs + calm.slowTick.meanIntervalMs + calm.snapDelay.prob).toBe(0);
    expect(calm.crashTrigger.voteGrantProb + calm.crashTrigger.appendAckProb + calm.crashTrigger.leaderCommitProb).toBe(0);
    // The snapshot cadence is a setting of the members, not a fault: it stays.
    expect(calm.snapshot).toEqual(p.snapshot);
  });

  it('maps onto the component options and draws episode intervals around the mean', () => {
    const p = drawFaultProfile(createRand(8));
    expect(networkOptions<string>(p).lossRate).toBe(p.network.lossRate);
    expect(diskOptions(p).tornWriteProb).toBe(p.disk.tornWriteProb);
    expect(clockOptions(p, p.nodeIds[0]!)).toEqual({ skewMs: p.clock.nodes[0]!.skewMs, driftRate: p.clock.nodes[0]!.driftRate });
    expect(() => clockOptions(p, nodeId('n9'))).toThrow();
    const rand = createRand(8).fork('schedule');
    expect(drawIntervalMs(rand, 0)).toBeUndefined();
    for (let i = 0; i < 100; i++) {
      const ms = drawIntervalMs(rand, 1000)!;
      expect(ms >= 500 && ms <= 1500).toBe(true);
    }
    // The first episode of a family may come at once: anywhere in [1, mean].
    const firsts = Array.from({ length: 200 }, () => drawIntervalMs(rand, 1000, true)!);
    expect(Math.min(...firsts)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...firsts)).toBeLessThanOrEqual(1000);
    expect(firsts.filter((ms) => ms < 500).length).toBeGreaterThan(50);
  });
});
