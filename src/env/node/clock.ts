import { performance } from 'node:perf_hooks';
import type { Clock, TimerHandle } from '../clock.js';

/** Real time: monotonic milliseconds since this clock was made, and real timers. */
export class NodeClock implements Clock {
  private readonly originMs = performance.now();
  private nextTimerId = 1;
  private readonly timers = new Map<number, { cancel(): void }>();

  nowMs(): number {
    return performance.now() - this.originMs;
  }

  /**
   * A zero delay runs after the I/O already received (setImmediate), not after setTimeout's
   * 1 ms floor: the node loop uses it to gather every request read in one poll into one Ready
   * and one fsync (group commit) without adding a millisecond to each request.
   */
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const timerId = this.nextTimerId++;
    const run = (): void => {
      this.timers.delete(timerId);
      fn();
    };
    if (delayMs <= 0) {
      const immediate = setImmediate(run);
      this.timers.set(timerId, { cancel: () => clearImmediate(immediate) });
    } else {
      const timeout = setTimeout(run, delayMs);
      this.timers.set(timerId, { cancel: () => clearTimeout(timeout) });
    }
    return { timerId };
  }

  clearTimer(handle: TimerHandle): void {
    const timer = this.timers.get(handle.timerId);
    if (timer === undefined) return;
    timer.cancel();
    this.timers.delete(handle.timerId);
  }

  /** Timers set and not yet fired or cleared. */
  pendingTimerCount(): number {
    return this.timers.size;
  }

  /** Cancels every pending timer, so a stopped node does not keep the process alive. */
  clearAll(): void {
    for (const timer of this.timers.values()) timer.cancel();
    this.timers.clear();
  }
}
