import { performance } from 'node:perf_hooks';
import type { Clock, TimerHandle } from '../clock.js';

/** Real time: monotonic milliseconds since this clock was made, and real timers. */
export class NodeClock implements Clock {
  private readonly originMs = performance.now();
  private nextTimerId = 1;
  private readonly timers = new Map<number, NodeJS.Timeout>();

  nowMs(): number {
    return performance.now() - this.originMs;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const timerId = this.nextTimerId++;
    const timeout = setTimeout(
      () => {
        this.timers.delete(timerId);
        fn();
      },
      Math.max(0, delayMs),
    );
    this.timers.set(timerId, timeout);
    return { timerId };
  }

  clearTimer(handle: TimerHandle): void {
    const timeout = this.timers.get(handle.timerId);
    if (timeout === undefined) return;
    clearTimeout(timeout);
    this.timers.delete(handle.timerId);
  }

  /** Timers set and not yet fired or cleared. */
  pendingTimerCount(): number {
    return this.timers.size;
  }

  /** Cancels every pending timer, so a stopped node does not keep the process alive. */
  clearAll(): void {
    for (const timeout of this.timers.values()) clearTimeout(timeout);
    this.timers.clear();
  }
}
