import { describe, expect, it } from 'vitest';
import { SimLoop, SimNetwork, latencyRule } from '../../sim/index.js';
import type { SimNetworkOptions } from '../../sim/index.js';
import { createRand, nodeId } from '../../src/util/index.js';
import type { NodeId } from '../../src/util/index.js';

const [n1, n2, n3, n4, n5] = ['n1', 'n2', 'n3', 'n4', 'n5'].map(nodeId) as [NodeId, NodeId, NodeId, NodeId, NodeId];
const ALL = [n1, n2, n3, n4, n5];

interface Received {
  from: NodeId;
  to: NodeId;
  message: number;
  atMs: number;
}

function setup(seed: number, options: SimNetworkOptions<number> = {}) {
  const loop = new SimLoop();
  const net = new SimNetwork<number>(loop, createRand(seed).fork('net'), options);
  const received: Received[] = [];
  const transports = new Map(ALL.map((id) => [id, net.transport(id)]));
  for (const [id, t] of transports) t.onReceive((from, message) => received.push({ from, to: id, message, atMs: loop.nowMs }));
  const send = (from: NodeId, to: NodeId, message: number): void => transports.get(from)!.send(to, message);
  return { loop, net, received, transports, send };
}

/** Which ordered pairs could talk: one message each way between every pair. */
async function reachable(s: ReturnType<typeof setup>): Promise<string[]> {
  s.received.length = 0;
  for (const a of ALL) for (const b of ALL) if (a !== b) s.send(a, b, 0);
  await s.loop.run(s.loop.nowMs + 1000);
  return s.received.map((r) => `${r.from}${r.to}`).sort();
}

function pairs(groups: NodeId[][]): string[] {
  const out = new Set<string>();
  for (const g of groups) for (const a of g) for (const b of g) if (a !== b) out.add(`${a}${b}`);
  return [...out].sort();
}

describe('SimNetwork delivery', () => {
  it('delivers every message within the base latency range when no rule objects', async () => {
    const s = setup(1, { latencyMsMin: 5, latencyMsMax: 15 });
    for (let i = 0; i < 200; i++) s.send(n1, n2, i);
    await s.loop.run(100);
    expect(s.received.length).toBe(200);
    for (const r of s.received) expect(r.atMs >= 5 && r.atMs <= 15).toBe(true);
    expect(new Set(s.received.map((r) => r.atMs)).size).toBe(11); // the whole range is used
    expect(s.net.stats.sent).toBe(200);
    expect(s.net.stats.delivered).toBe(200);
  });

  it('loses exactly the messages the seeded stream says, about the configured rate', async () => {
    const seed = 77;
    const s = setup(seed, { lossRate: 0.1, latencyMsMin: 1, latencyMsMax: 3 });
    for (let i = 0; i < 10_000; i++) s.send(n1, n2, i);
    await s.loop.run(100);
    // Replay the network's stream independently: per message one loss draw, then one latency
    // draw for the survivors.
    const replica = createRand(seed).fork('net');
    const expectedKept: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      if (replica.chance(0.1)) continue;
      replica.between(1, 3);
      expectedKept.push(i);
    }
    expect(s.received.map((r) => r.message).sort((a, b) => a - b)).toEqual(expectedKept);
    expect(s.net.stats.dropped.get('loss')).toBe(10_000 - expectedKept.length);
    expect(10_000 - expectedKept.length).toBeGreaterThan(900);
    expect(10_000 - expectedKept.length).toBeLessThan(1100);
  });

  it('duplicates and reorders at the configured rates, deterministically per seed', async () => {
    const run = async (seed: number) => {
      const s = setup(seed, { duplicateRate: 0.2, reorderRate: 0.3, reorderExtraMsMax: 50, latencyMsMin: 1, latencyMsMax: 1 });
      for (let i = 0; i < 1000; i++) s.send(n1, n2, i);
      await s.loop.run(1000);
      return { received: s.received.map((r) => r.message), dup: s.net.stats.duplicated };
    };
    const a = await run(3);
    expect(a.received.length).toBe(1000 + a.dup);
    expect(a.dup).toBeGreaterThan(150);
    expect(a.dup).toBeLessThan(250);
    let inversions = 0;
    for (let i = 1; i < a.received.length; i++) if (a.received[i]! < a.received[i - 1]!) inversions++;
    expect(inversions).toBeGreaterThan(0);
    expect(await run(3)).toEqual(a);
    expect((await run(4)).received).not.toEqual(a.received);
  });

  it('a deliver rule replaces the base latency; slow links add to it', async () => {
    const s = setup(1, { latencyMsMin: 1, latencyMsMax: 1 });
    s.net.slowLink(n1, n2, 100);
    s.net.addRule(latencyRule(10, 10));
    s.send(n1, n2, 1);
    s.send(n2, n1, 2);
    s.send(n1, n3, 3);
    await s.loop.run(1000);
    expect(s.received.map((r) => [r.message, r.atMs])).toEqual([
      [3, 10],
      [1, 110],
      [2, 110],
    ]);
  });
});

describe('SimNetwork partitions', () => {
  it('symmetric partition: only nodes in the same group talk; heal restores everything', async () => {
    const s = setup(2);
    s.net.partition([
      [n1, n2],
      [n3, n4, n5],
    ]);
    expect(await reachable(s)).toEqual(pairs([
      [n1, n2],
      [n3, n4, n5],
    ]));
    s.net.heal();
    expect(await reachable(s)).toEqual(pairs([ALL]));
  });

  it('one-way partition blocks a->b only', async () => {
    const s = setup(2);
    s.net.partitionOneWay([n1], [n2, n3]);
    const got = await reachable(s);
    expect(got).not.toContain('n1n2');
    expect(got).not.toContain('n1n3');
    expect(got).toContain('n2n1');
    expect(got).toContain('n3n1');
    expect(got.length).toBe(20 - 2);
  });

  it('isolate cuts one node off both ways; bridge joins two sides through one node', async () => {
    const s = setup(2);
    const iso = s.net.isolate(n3);
    expect(await reachable(s)).toEqual(pairs([[n1, n2, n4, n5]]));
    s.net.removeRule(iso);
    s.net.bridge([n1, n2], [n4, n5], n3);
    expect(await reachable(s)).toEqual(pairs([
      [n1, n2, n3],
      [n3, n4, n5],
    ]));
    expect(s.net.stats.dropped.get('bridge n1,n2|n4,n5 via n3')).toBe(8);
  });

  it('a cut also drops messages already in flight; a healed cut lets later ones through', async () => {
    const s = setup(2, { latencyMsMin: 50, latencyMsMax: 50 });
    s.send(n1, n2, 1);
    s.send(n1, n3, 2);
    await s.loop.run(10);
    const cut = s.net.isolate(n2);
    await s.loop.run(100);
    expect(s.received.map((r) => r.message)).toEqual([2]);
    expect(s.net.stats.dropped.get('isolate n2 (in flight)')).toBe(1);
    s.send(n1, n2, 3); // sent during the cut, arrives after it healed: dropped at send
    s.net.removeRule(cut);
    s.send(n1, n2, 4);
    await s.loop.run(200);
    expect(s.received.map((r) => r.message)).toEqual([2, 4]);
    // A message buffered for a paused node has passed the cut.
    s.net.pause(n3);
    s.send(n1, n3, 5);
    await s.loop.run(300);
    s.net.partition([[n1], [n2, n3, n4, n5]]);
    s.net.resume(n3);
    await s.loop.run(301);
    expect(s.received.map((r) => r.message)).toEqual([2, 4, 5]);
  });

  it('heal removes fault rules but keeps base ones', () => {
    const s = setup(2, { lossRate: 0.5 });
    s.net.partition([[n1], [n2]]);
    s.net.slowLink(n1, n2, 5);
    expect(s.net.rules().map((r) => r.category)).toEqual(['base', 'fault', 'fault']);
    s.net.heal();
    expect(s.net.rules().map((r) => r.name)).toEqual(['loss 0.5']);
  });
});

describe('SimNetwork and node processes', () => {
  it('drops messages to a crashed node, even those in flight; a restarted node gets a new transport', async () => {
    const s = setup(5, { latencyMsMin: 10, latencyMsMax: 10 });
    const oldN2 = s.transports.get(n2)!;
    s.send(n1, n2, 1); // in flight when n2 dies
    oldN2.send(n1, 2); // sent before the crash: still arrives
    await s.loop.run(5);
    s.net.crash(n2);
    s.send(n1, n2, 3);
    await s.loop.run(20);
    expect(s.received.map((r) => r.message)).toEqual([2]);
    s.net.restart(n2);
    const fresh = s.net.transport(n2);
    const got: number[] = [];
    fresh.onReceive((_from, m) => got.push(m));
    s.send(n1, n2, 4);
    oldN2.send(n1, 5); // the dropped node's zombie cannot speak
    fresh.send(n1, 6);
    await s.loop.run(100);
    expect(got).toEqual([4]);
    expect(s.received.map((r) => r.message)).toEqual([2, 6]);
    expect(s.net.stats.dropped.get('target crashed')).toBe(2);
    expect(s.net.stats.dropped.get('sender crashed')).toBe(1);
  });

  it('holds messages for a paused node and delivers them in arrival order on resume', async () => {
    const s = setup(6, { latencyMsMin: 1, latencyMsMax: 30 });
    s.net.pause(n2);
    for (let i = 0; i < 20; i++) s.send(n1, n2, i);
    await s.loop.run(100);
    expect(s.received).toEqual([]);
    expect(s.net.stats.held).toBe(20);
    s.net.resume(n2);
    await s.loop.run(100);
    expect(s.received.length).toBe(20);
    expect(s.received.every((r) => r.atMs === 100)).toBe(true);
    // A held message that meets a crash is lost.
    s.net.pause(n3);
    s.send(n1, n3, 99);
    await s.loop.run(200);
    s.net.crash(n3);
    expect(s.net.stats.dropped.get('target crashed')).toBe(1);
  });
});
