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
    expect(text.split('\n').length).toBe(8);
  });

  it('withoutFaults turns every fault off and keeps the cluster', () => {
    const p = drawFaultProfile(createRand(3));
    const calm = withoutFaults(p);
    expect(calm.nodeIds).toEqual(p.nodeIds);
    expect(calm.network.lossRate + calm.network.duplicateRate + calm.network.reorderRate).toBe(0);
    expect(calm.partition.meanIntervalMs + calm.crash.meanIntervalMs + calm.pause.meanIntervalMs + calm.clock.jumpMeanIntervalMs).toBe(0);
    expect(calm.disk.tornWriteProb + calm.disk.corruptionProb + calm.disk.syncFailProb + calm.disk.writeFailProb + calm.disk.slowSyncProb).toBe(0);
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
  });
});
