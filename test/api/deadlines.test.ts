import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Clock, TimerHandle } from '../../src/env/index.js';
import { DeadlineList } from '../../src/api/deadlines.js';
import { awaitNode } from '../../src/api/kv.js';
import { NodeRequestError } from '../../src/server/index.js';

/** A clock a test sets by hand (also backwards, as a skew fault would); counts timers armed. */
class SetClock implements Clock {
  now = 0;
  armed = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  nowMs(): number {
    return this.now;
  }
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const timerId = this.next++;
    this.armed++;
    this.timers.set(timerId, { at: this.now + delayMs, fn });
    return { timerId };
  }
  clearTimer(h: TimerHandle): void {
    this.timers.delete(h.timerId);
  }
  get pendingTimers(): number {
    return this.timers.size;
  }
  /** Moves to `ms`, firing due timers in time order (also those armed while firing). */
  moveTo(ms: number): void {
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t.at <= ms).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.timers.delete(due[0]);
      this.now = Math.max(this.now, due[1].at);
      due[1].fn();
    }
    this.now = ms;
  }
}

describe('DeadlineList', () => {
  it('expires each deadline at its time, in order, with one timer armed at a time', () => {
    const clock = new SetClock();
    const list = new DeadlineList(clock);
    const expired: string[] = [];
    list.add(100, () => expired.push('a'));
    clock.moveTo(10);
    list.add(100, () => expired.push('b'));
    const c = list.add(100, () => expired.push('c'));
    expect(clock.pendingTimers).toBe(1);
    list.remove(c);
    clock.moveTo(99);
    expect(expired).toEqual([]);
    clock.moveTo(100);
    expect(expired).toEqual(['a']);
    clock.moveTo(109);
    expect(expired).toEqual(['a']);
    clock.moveTo(110);
    expect(expired).toEqual(['a', 'b']);
    expect(list.size).toBe(0);
  });

  it('does not re-arm around requests that settle before their deadline', () => {
    const clock = new SetClock();
    const list = new DeadlineList(clock);
    for (let i = 0; i < 1000; i++) {
      const e = list.add(5000, () => expect.unreachable('settled requests never expire'));
      clock.moveTo(clock.now + 1);
      list.remove(e);
    }
    expect(clock.armed).toBe(1);
    clock.moveTo(20_000);
    // The stale timer fired once and found nothing due.
    expect(clock.armed).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('an earlier deadline (clock moved back) re-arms the timer for itself', () => {
    const clock = new SetClock();
    const list = new DeadlineList(clock);
    const expired: string[] = [];
    clock.moveTo(1000);
    list.add(100, () => expired.push('late'));
    clock.now = 500;
    list.add(100, () => expired.push('early'));
    clock.moveTo(600);
    expect(expired).toEqual(['early']);
    clock.moveTo(1100);
    expect(expired).toEqual(['early', 'late']);
  });

  it('matches a timer per deadline for any schedule of adds, removes and clock moves', () => {
    type Op = { kind: 'add'; timeoutMs: number } | { kind: 'remove'; pick: number } | { kind: 'move'; byMs: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), timeoutMs: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('move' as const), byMs: fc.integer({ min: -20, max: 60 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const clock = new SetClock();
        clock.moveTo(100);
        const list = new DeadlineList(clock);
        // The model: each live deadline expires once the clock reaches it.
        const live = new Map<number, { deadlineMs: number; entry: ReturnType<DeadlineList['add']> }>();
        const expired = new Map<number, number>();
        let nextId = 0;
        for (const o of ops) {
          if (o.kind === 'add') {
            const id = nextId++;
            live.set(id, { deadlineMs: clock.now + o.timeoutMs, entry: list.add(o.timeoutMs, () => expired.set(id, clock.now)) });
          } else if (o.kind === 'remove') {
            const ids = [...live.keys()].filter((id) => !expired.has(id));
            const id = ids[o.pick % Math.max(1, ids.length)];
            if (id !== undefined) {
              list.remove((live.get(id) as { entry: ReturnType<DeadlineList['add']> }).entry);
              live.delete(id);
            }
          } else {
            clock.moveTo(Math.max(0, clock.now + o.byMs));
          }
          // Nothing removed expires; nothing expires before its deadline.
          for (const [id, atMs] of expired) {
            const d = live.get(id);
            expect(d).toBeDefined();
            expect(atMs).toBeGreaterThanOrEqual(d?.deadlineMs ?? Infinity);
          }
        }
        clock.moveTo(clock.now + 1000);
        for (const id of live.keys()) expect(expired.has(id)).toBe(true);
        expect(list.size).toBe(0);
      }),
    );
  });
});

describe('awaitNode', () => {
  it('resolves with the work, maps node errors, and times out as etcd does', async () => {
    const clock = new SetClock();
    await expect(awaitNode(clock, 100, Promise.resolve(7))).resolves.toBe(7);
    await expect(awaitNode(clock, 100, Promise.reject(new NodeRequestError('noLeader')))).rejects.toMatchObject({ message: 'etcdserver: no leader' });
    const never = awaitNode(clock, 100, new Promise<number>(() => undefined));
    clock.moveTo(clock.now + 100);
    await expect(never).rejects.toMatchObject({ message: 'etcdserver: request timed out' });
  });
});
