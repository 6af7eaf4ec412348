import { describe, expect, it } from 'vitest';
import { SimWorld, drawFaultProfile, clockOptions, diskOptions, networkOptions, drawIntervalMs, firstDivergence } from '../../sim/index.js';
import type { SimLife } from '../../sim/index.js';
import { createRand, fromUtf8, nodeId, utf8 } from '../../src/util/index.js';
import type { NodeId } from '../../src/util/index.js';

/**
 * A toy node that uses every seam the way server code will: timers with random jitter, async
 * work (Promises), a log file that is synced every other record, and messages to its peers.
 */
class ToyNode {
  private counter: number;
  stopped = false;

  constructor(
    private readonly life: SimLife<string>,
    private readonly peers: readonly NodeId[],
  ) {
    const { disk } = life.env;
    disk.mkdirp('data');
    this.counter = disk.exists('data/log') ? fromUtf8(disk.read('data/log')).split(';').filter((x) => x !== '').length : 0;
    life.env.logger.info('boot', { recovered: this.counter });
    life.transport.onReceive((from, message) => {
      void this.handle(from, message);
    });
    this.arm();
  }

  private arm(): void {
    this.life.env.clock.setTimer(10 + this.life.env.rand.int(5), () => this.tick());
  }

  private tick(): void {
    this.counter++;
    const { disk } = this.life.env;
    disk.append('data/log', utf8(`${this.counter};`));
    if (this.counter % 2 === 0) {
      disk.sync('data/log');
      disk.syncDir('data');
    }
    for (const peer of this.peers) this.life.transport.send(peer, `${this.life.nodeId}:${this.counter}`);
    this.arm();
  }

  private async handle(from: NodeId, message: string): Promise<void> {
    await Promise.resolve();
    await Promise.resolve();
    this.life.env.logger.debug('got', { from, message, at: this.life.env.clock.nowMs() });
  }
}

async function scenario(seed: number): Promise<{ hash: string; logs: string[]; world: SimWorld<string> }> {
  const world = new SimWorld<string>(seed, { log: { capacity: 100_000 } });
  const profile = drawFaultProfile(world.rand);
  for (const [key, value] of Object.entries(networkOptions<string>(profile))) expect(value).toBe((profile.network as unknown as Record<string, unknown>)[key]);
  const ids = profile.nodeIds;
  // The toy's own fault mix, so every seed exercises crash, pause and partition.
  const disk = { ...diskOptions(profile), tornWriteProb: 0.5, corruptionProb: 0 };
  for (const id of ids) world.addHost(id, { clock: clockOptions(profile, id), disk }).boot();
  for (const host of world.hosts()) new ToyNode(host.life!, ids.filter((p) => p !== host.id));
  const nemesis = world.rand.fork('nemesis');
  const act = (): void => {
    const host = nemesis.pick(world.hosts());
    const choice = nemesis.int(4);
    if (choice === 0 && host.state === 'up') host.crash();
    else if (choice === 1 && host.state === 'crashed') new ToyNode(host.boot(), ids.filter((p) => p !== host.id));
    else if (choice === 2 && host.state === 'up') host.pause();
    else if (choice === 2 && host.state === 'paused') host.resume();
    else if (choice === 3) {
      world.network.heal();
      world.network.partition([ids.slice(0, 1), ids.slice(1)]);
    }
    world.loop.after(drawIntervalMs(nemesis, 200)!, 'nemesis', undefined, act);
  };
  world.loop.after(100, 'nemesis', undefined, act);
  await world.loop.run(3_000);
  return { hash: world.loop.traceHash(), logs: world.logs.lines(), world };
}

describe('SimWorld end to end', () => {
  it('one seed decides the whole run: same trace hash and same logs; another seed differs', async () => {
    const a = await scenario(2024);
    const b = await scenario(2024);
    const c = await scenario(2025);
    expect(a.world.loop.eventCount).toBeGreaterThan(500);
    expect(a.logs.length).toBeGreaterThan(100);
    expect(b.hash).toBe(a.hash);
    expect(b.logs).toEqual(a.logs);
    expect(firstDivergence(a.world.loop, b.world.loop)).toBeUndefined();
    expect(c.hash).not.toBe(a.hash);
    // The run really had crashes and restarts that recovered from disk.
    expect(a.logs.filter((l) => l.includes('INFO boot')).length).toBeGreaterThan(a.world.hosts().length);
  });

  it('a restarted node sees only what it synced (plus perhaps a torn tail)', async () => {
    const world = new SimWorld<string>(5);
    const host = world.addHost(nodeId('n1'), { disk: { tornWriteProb: 0 } });
    const life = host.boot();
    life.env.disk.mkdirp('d');
    life.env.disk.append('d/f', utf8('durable;'));
    life.env.disk.sync('d/f');
    life.env.disk.syncDir('d');
    life.env.disk.append('d/f', utf8('volatile;'));
    let fired = 0;
    life.env.clock.setTimer(10, () => fired++);
    const report = host.crash();
    expect(report.reverted).toEqual(['d/f']);
    const next = host.boot();
    expect(next.life).toBe(1);
    expect(fromUtf8(next.env.disk.read('d/f'))).toBe('durable;');
    expect(() => life.env.disk.read('d/f')).toThrow(/EBADF/);
    await world.loop.run(100);
    expect(fired).toBe(0);
    // Each life draws from its own stream.
    expect(next.env.rand.nextUint32()).not.toBe(createRand(5).fork('node').fork('n1').fork('life0').nextUint32());
    expect(next.env.rand.nextUint32()).toBe(
      (() => {
        const r = createRand(5).fork('node').fork('n1').fork('life1');
        r.nextUint32();
        return r.nextUint32();
      })(),
    );
  });

  it('pause freezes timers and inbound messages together; stop() keeps unsynced writes', async () => {
    const world = new SimWorld<string>(6, { network: { latencyMsMin: 5, latencyMsMax: 5 } });
    const a = world.addHost(nodeId('a')).boot();
    const bHost = world.addHost(nodeId('b'));
    const b = bHost.boot();
    const seen: string[] = [];
    b.transport.onReceive((_from, m) => seen.push(`msg ${m} @${world.loop.nowMs}`));
    b.env.clock.setTimer(20, () => seen.push(`timer @${world.loop.nowMs}`));
    a.transport.send(nodeId('b'), 'hello');
    bHost.pause();
    await world.loop.run(50);
    expect(seen).toEqual([]);
    bHost.resume();
    await world.loop.run(60);
    expect(seen).toEqual(['timer @50', 'msg hello @50']);
    b.env.disk.writeFile('x', utf8('unsynced'));
    bHost.stop();
    expect(fromUtf8(bHost.boot().env.disk.read('x'))).toBe('unsynced');
  });
});
