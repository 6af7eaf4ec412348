import { describe, expect, it } from 'vitest';
import { SimClock, SimLoop } from '../../sim/index.js';
import { nodeId } from '../../src/util/index.js';
import type { Clock } from '../../src/env/index.js';

const n1 = nodeId('n1');

describe('SimClock', () => {
  it('applies skew and drift to local time', async () => {
    const loop = new SimLoop();
    const perfect: Clock = new SimClock(loop, n1);
    const ahead = new SimClock(loop, n1, { skewMs: 250 });
    const fast = new SimClock(loop, n1, { driftRate: 1.001 });
    const slow = new SimClock(loop, n1, { skewMs: -40, driftRate: 0.999 });
    await loop.run(10_000);
    expect(perfect.nowMs()).toBe(10_000);
    expect(ahead.nowMs()).toBe(10_250);
    expect(fast.nowMs()).toBe(10_010);
    expect(slow.nowMs()).toBe(-40 + 9_990);
    expect(fast.skewMs).toBeCloseTo(10, 6);
  });

  it('a timer never fires early by the node’s own clock, even on a fast clock', async () => {
    const loop = new SimLoop();
    for (const rate of [0.5, 0.999, 1, 1.001, 3]) {
      const clock = new SimClock(loop, n1, { driftRate: rate, skewMs: 7 });
      const setAt = clock.nowMs();
      const setVirtual = loop.nowMs;
      let firedLocal = -1;
      let firedVirtual = -1;
      clock.setTimer(100, () => {
        firedLocal = clock.nowMs();
        firedVirtual = loop.nowMs;
      });
      await loop.run(loop.nowMs + 1000);
      expect(firedLocal - setAt).toBeGreaterThanOrEqual(100);
      expect(firedVirtual - setVirtual).toBe(Math.ceil(100 / rate));
    }
  });

  it('clearTimer cancels; setTimer(0) is never synchronous', async () => {
    const loop = new SimLoop();
    const clock = new SimClock(loop, n1);
    const fired: string[] = [];
    const h = clock.setTimer(10, () => fired.push('cleared'));
    clock.setTimer(0, () => fired.push('zero'));
    expect(fired).toEqual([]);
    clock.clearTimer(h);
    expect(clock.timerCount).toBe(1);
    await loop.run(100);
    expect(fired).toEqual(['zero']);
    expect(clock.timerCount).toBe(0);
  });

  it('jump moves the local clock but not pending timers; setDrift keeps time continuous', async () => {
    const loop = new SimLoop();
    const clock = new SimClock(loop, n1);
    let firedVirtual = -1;
    clock.setTimer(100, () => (firedVirtual = loop.nowMs));
    await loop.run(50);
    clock.jump(-30_000);
    expect(clock.nowMs()).toBe(50 - 30_000);
    await loop.run(200);
    expect(firedVirtual).toBe(100);
    const before = clock.nowMs();
    clock.setDrift(2);
    expect(clock.nowMs()).toBe(before);
    await loop.run(300);
    expect(clock.nowMs()).toBe(before + 200);
  });

  it('a paused node’s timers do not fire; after resume they fire late, in order', async () => {
    const loop = new SimLoop();
    const clock = new SimClock(loop, n1);
    const fired: Array<[string, number]> = [];
    clock.setTimer(30, () => fired.push(['b', loop.nowMs]));
    clock.setTimer(20, () => fired.push(['a', loop.nowMs]));
    const c = clock.setTimer(40, () => fired.push(['c', loop.nowMs]));
    clock.setTimer(500, () => fired.push(['d', loop.nowMs]));
    await loop.run(10);
    clock.pause();
    expect(clock.state).toBe('paused');
    await loop.run(100);
    expect(fired).toEqual([]);
    clock.clearTimer(c); // clearing a held timer works too
    clock.resume();
    await loop.run(1000);
    expect(fired).toEqual([
      ['a', 100],
      ['b', 100],
      ['d', 500],
    ]);
    // Virtual time kept running through the pause: the node sees the gap.
    expect(clock.nowMs()).toBe(1000);
  });

  it('crash cancels every timer and ignores new ones until restart', async () => {
    const loop = new SimLoop();
    const clock = new SimClock(loop, n1, { skewMs: 5 });
    const fired: string[] = [];
    clock.setTimer(10, () => fired.push('old'));
    clock.pause();
    await loop.run(20); // 'old' is now held
    clock.crash();
    clock.setTimer(5, () => fired.push('zombie'));
    expect(clock.timerCount).toBe(0);
    expect(() => clock.resume()).toThrow();
    clock.restart();
    clock.setTimer(5, () => fired.push('new'));
    await loop.run(100);
    expect(fired).toEqual(['new']);
    expect(clock.nowMs()).toBe(105); // skew survives a restart
    expect(loop.pendingCount).toBe(0);
  });
});
