import type { Clock, TimerHandle } from '../../src/env/index.js';

/** A clock a test moves by hand; timers fire only when advanced past. */
export class ManualClock implements Clock {
  private now = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  nowMs(): number {
    return this.now;
  }
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const timerId = this.next++;
    this.timers.set(timerId, { at: this.now + delayMs, fn });
    return { timerId };
  }
  clearTimer(h: TimerHandle): void {
    this.timers.delete(h.timerId);
  }
  advance(ms: number): void {
    this.now += ms;
    for (const [id, t] of [...this.timers]) {
      if (t.at <= this.now) {
        this.timers.delete(id);
        t.fn();
      }
    }
  }
}
