import { describe, expect, it } from 'vitest';
import { SimLoop, firstDivergence } from '../../sim/index.js';
import { createRand, nodeId } from '../../src/util/index.js';

const n1 = nodeId('n1');
const n2 = nodeId('n2');

/** A small random workload: events that draw and schedule further events. */
async function randomRun(seed: number, extraDrawAtEvent = -1): Promise<SimLoop> {
  const loop = new SimLoop({ traceLogCapacity: 1000 });
  const rand = createRand(seed);
  loop.observeRand(rand);
  const work = rand.fork('work');
  let index = 0;
  const spawn = (depth: number): void => {
    const node = work.chance(0.5) ? n1 : n2;
    loop.after(work.between(0, 20), 'work', node, () => {
      if (index++ === extraDrawAtEvent) work.nextUint32();
      if (depth < 6) for (let i = work.int(3); i >= 0; i--) spawn(depth + 1);
    });
  };
  spawn(0);
  while (await loop.step());
  return loop;
}

describe('SimLoop ordering', () => {
  it('runs events in (time, schedule order), whatever order they were scheduled in', async () => {
    const loop = new SimLoop();
    const rand = createRand(1);
    const ran: Array<[number, number]> = [];
    const expected: Array<[number, number]> = [];
    for (let i = 0; i < 2000; i++) {
      const atMs = rand.int(50); // many ties on purpose
      expected.push([atMs, i]);
      loop.schedule(atMs, 'e', undefined, () => ran.push([loop.nowMs, i]));
    }
    expected.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(await loop.run(1000)).toBe(2000);
    expect(ran).toEqual(expected);
    expect(loop.nowMs).toBe(1000);
    expect(loop.eventCount).toBe(2000);
  });

  it('an event scheduled for "now" runs after the events already due now', async () => {
    const loop = new SimLoop();
    const ran: string[] = [];
    loop.schedule(5, 'a', undefined, () => {
      ran.push('a');
      loop.after(0, 'c', undefined, () => ran.push('c'));
    });
    loop.schedule(5, 'b', undefined, () => ran.push('b'));
    loop.schedule(6, 'd', undefined, () => ran.push('d'));
    await loop.run(10);
    expect(ran).toEqual(['a', 'b', 'c', 'd']);
  });

  it('cancelled events do not run and are not counted; cancelling twice or after running is refused', async () => {
    const loop = new SimLoop();
    const ran: number[] = [];
    const handles = [1, 2, 3, 4].map((t) => loop.schedule(t, 'e', undefined, () => ran.push(t)));
    expect(loop.cancel(handles[1]!)).toBe(true);
    expect(loop.cancel(handles[1]!)).toBe(false);
    expect(loop.pendingCount).toBe(3);
    await loop.step();
    expect(loop.cancel(handles[0]!)).toBe(false);
    await loop.run(10);
    expect(ran).toEqual([1, 3, 4]);
    expect(loop.eventCount).toBe(3);
    expect(await loop.step()).toBe(false);
  });

  it('refuses times in the past and non-integer times', () => {
    const loop = new SimLoop();
    loop.schedule(3, 'e', undefined, () => {});
    expect(() => loop.schedule(1.5, 'e', undefined, () => {})).toThrow(/integer/);
    return loop.run(5).then(() => {
      expect(() => loop.schedule(4, 'e', undefined, () => {})).toThrow(/past/);
    });
  });

  it('run(until) leaves later events queued and runUntil stops at the predicate', async () => {
    const loop = new SimLoop();
    let count = 0;
    for (let t = 1; t <= 10; t++) loop.schedule(t * 10, 'e', undefined, () => count++);
    await loop.run(35);
    expect(count).toBe(3);
    expect(loop.nowMs).toBe(35);
    expect(await loop.runUntil(() => count === 6, 1000)).toBe(true);
    expect(loop.nowMs).toBe(60);
    expect(await loop.runUntil(() => count === 99, 80)).toBe(false);
    expect(count).toBe(8);
    expect(loop.nowMs).toBe(80);
  });
});

describe('SimLoop microtask draining', () => {
  it('settles an event’s Promise chain before the next event runs', async () => {
    const loop = new SimLoop();
    const seen: string[] = [];
    const chain = async (name: string, hops: number): Promise<void> => {
      for (let i = 0; i < hops; i++) await Promise.resolve();
      seen.push(`${name} done`);
    };
    loop.schedule(1, 'a', n1, () => {
      void chain('a', 20).then(() => seen.push('a then'));
    });
    loop.schedule(1, 'b', n2, () => seen.push('b'));
    await loop.run(1);
    expect(seen).toEqual(['a done', 'a then', 'b']);
  });

  it('a chain deeper than microtaskTurns continues during later events, in a fixed order', async () => {
    const order = async (): Promise<string[]> => {
      const loop = new SimLoop({ microtaskTurns: 4 });
      const seen: string[] = [];
      loop.schedule(1, 'a', n1, () => {
        void (async () => {
          for (let i = 0; i < 10; i++) await undefined;
          seen.push('deep done');
        })();
      });
      for (let t = 2; t <= 5; t++) loop.schedule(t, 'tick', n2, () => seen.push(`tick ${t}`));
      await loop.run(10);
      return seen;
    };
    const first = await order();
    expect(first[0]).toBe('tick 2'); // 10 hops do not fit in 4 turns
    expect(first).toContain('deep done');
    expect(await order()).toEqual(first);
  });

  it('fail() from a Promise chain surfaces from step()', async () => {
    const loop = new SimLoop();
    loop.schedule(1, 'a', n1, () => {
      void Promise.reject(new Error('boom')).catch((e: unknown) => loop.fail(e));
    });
    loop.schedule(2, 'b', n1, () => {});
    await expect(loop.step()).rejects.toThrow('boom');
  });
});

describe('SimLoop trace hash', () => {
  it('the same seed gives the same hash and per-event hashes; different seeds differ', async () => {
    const a = await randomRun(7);
    const b = await randomRun(7);
    const c = await randomRun(8);
    expect(a.eventCount).toBeGreaterThan(20);
    expect(b.traceHash()).toBe(a.traceHash());
    expect(b.eventHashes()).toEqual(a.eventHashes());
    expect(firstDivergence(a, b)).toBeUndefined();
    expect(c.traceHash()).not.toBe(a.traceHash());
    expect(a.traceHash()).toMatch(/^[0-9a-f]{16}$/);
  });

  it('names the first diverging event when one extra random draw happens', async () => {
    const a = await randomRun(11);
    const b = await randomRun(11, 5);
    const d = firstDivergence(a, b);
    expect(d?.eventIndex).toBe(5);
    expect(d?.a).toMatch(/^t=\d+ms work node=n\d seq=\d+ h=[0-9a-f]{8}$/);
    expect(d?.b).toMatch(/^t=\d+ms work /);
    expect(d?.a).not.toBe(d?.b);
    expect(a.traceLog().find((l) => l.eventIndex === 5)?.text).toBe(d?.a);
  });

  it('names a divergence the trace log has already dropped, from the per-event record', async () => {
    const small = async (extraDrawAt: number): Promise<SimLoop> => {
      const loop = new SimLoop({ traceLogCapacity: 2 });
      const rand = createRand(3);
      loop.observeRand(rand);
      for (let t = 0; t < 10; t++) {
        loop.schedule(t * 7, t % 2 === 0 ? 'even' : 'odd', t % 3 === 0 ? n1 : undefined, () => {
          if (t === extraDrawAt) rand.nextUint32();
        });
      }
      await loop.run(100);
      return loop;
    };
    const d = firstDivergence(await small(-1), await small(3));
    expect(d?.eventIndex).toBe(3);
    expect(d?.a).toMatch(/^t=21ms odd node=n1 h=[0-9a-f]{8}$/);
    expect(d?.b).toMatch(/^t=21ms odd node=n1 h=[0-9a-f]{8}$/);
    expect(d?.a).not.toBe(d?.b);
    expect((await small(-1)).describeEvent(4)).toMatch(/^t=28ms even node=- /);
    expect((await small(-1)).describeEvent(10)).toBeUndefined();
  });

  it('folds kind, node and time: the same draws with a different node give a different hash', async () => {
    const run = async (node: typeof n1): Promise<string> => {
      const loop = new SimLoop();
      loop.schedule(3, 'x', node, () => {});
      await loop.run(3);
      return loop.traceHash();
    };
    expect(await run(n1)).not.toBe(await run(n2));
  });

  it('keeps a bounded log of the last events, or a window from a chosen event', async () => {
    const loop = new SimLoop({ traceLogCapacity: 3 });
    for (let t = 0; t < 10; t++) loop.schedule(t, 'e', undefined, () => {}, `detail ${t}`);
    await loop.run(20);
    const lines = loop.traceLog();
    expect(lines.map((l) => l.eventIndex)).toEqual([7, 8, 9]);
    expect(lines[2]?.text).toMatch(/^t=9ms e node=- seq=9 h=[0-9a-f]{8} detail 9$/);
    const zoom = new SimLoop({ traceLogCapacity: 3, traceLogFromEvent: 4 });
    for (let t = 0; t < 10; t++) zoom.schedule(t, 'e', undefined, () => {}, () => `lazy ${t}`);
    await zoom.run(20);
    expect(zoom.traceLog().map((l) => l.eventIndex)).toEqual([4, 5, 6]);
    expect(zoom.traceLog()[0]?.text).toContain('lazy 4');
  });
});
