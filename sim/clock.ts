/**
 * A node's clock on the simulator's virtual time.
 *
 * Local time is `skew + drift * virtual time`, floored to whole ms: `skewMs` is where the node's
 * clock stands relative to virtual time and `driftRate` how fast it runs (1.001 = 1 ms fast per
 * second). Timers are set in local ms and converted to virtual ms by the drift, rounded up, so a
 * timer never fires early by the node's own clock.
 *
 * - jump(ms) moves the node's clock (an NTP step) but not its pending timers: they behave like
 *   timers on a monotonic clock and keep their virtual deadlines.
 * - pause() models SIGSTOP or a long GC: timers that come due while paused do not fire; resume()
 *   fires them, late, in their original order. Virtual time keeps running, so the local clock
 *   shows the whole pause afterwards.
 * - crash() cancels every timer; until restart() new timers are ignored (a dropped node's stray
 *   Promise chains must not act). Skew and drift survive a restart: they belong to the machine.
 * - setTimerStretch(f) models an overloaded host: timers set from now on fire f times late
 *   (a tick of 10 ms comes after 10*f ms) while the clock itself still reads the right time.
 *   Zero-delay timers (run next) are not stretched. Pending timers keep their deadlines.
 */
import { assert } from '../src/util/index.js';
import type { NodeId } from '../src/util/index.js';
import type { Clock, TimerHandle } from '../src/env/index.js';
import type { EventHandle, SimLoop } from './loop.js';

export interface SimClockOptions {
  readonly skewMs?: number;
  /** Local ms per virtual ms; must be positive. 1 is a perfect clock. */
  readonly driftRate?: number;
}

interface PendingTimer {
  readonly handle: TimerHandle;
  readonly fn: () => void;
  event: EventHandle | undefined;
}

export type SimClockState = 'running' | 'paused' | 'crashed';

export class SimClock implements Clock {
  private offsetMs: number;
  private rate: number;
  private nextTimerId = 1;
  private readonly timers = new Map<number, PendingTimer>();
  /** Timers that came due while paused, in the order they came due. */
  private held: PendingTimer[] = [];
  private status: SimClockState = 'running';
  private stretch = 1;

  constructor(
    private readonly loop: SimLoop,
    readonly nodeId: NodeId,
    options: SimClockOptions = {},
  ) {
    this.rate = options.driftRate ?? 1;
    assert(this.rate > 0, () => `SimClock(${nodeId}): drift rate must be positive, got ${this.rate}`);
    this.offsetMs = (options.skewMs ?? 0) + (1 - this.rate) * loop.nowMs;
  }

  get state(): SimClockState {
    return this.status;
  }

  get driftRate(): number {
    return this.rate;
  }

  /** Local time minus virtual time, in ms (not floored). */
  get skewMs(): number {
    return this.localExact() - this.loop.nowMs;
  }

  /** Timers set and not yet fired or cleared (including held ones). */
  get timerCount(): number {
    return this.timers.size;
  }

  nowMs(): number {
    // The epsilon absorbs float error (1.001 * 10000 is 10009.999...), which would otherwise
    // make a drifting clock read 1 ms behind its exact value.
    return Math.floor(this.localExact() + 1e-6);
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    assert(delayMs >= 0 && Number.isFinite(delayMs), () => `setTimer(${this.nodeId}): bad delay ${delayMs}`);
    const handle: TimerHandle = { timerId: this.nextTimerId++ };
    if (this.status === 'crashed') return handle;
    const timer: PendingTimer = { handle, fn, event: undefined };
    this.timers.set(handle.timerId, timer);
    timer.event = this.loop.after(Math.ceil((delayMs * this.stretch) / this.rate), 'timer', this.nodeId, () => this.due(timer));
    return handle;
  }

  clearTimer(handle: TimerHandle): void {
    const timer = this.timers.get(handle.timerId);
    if (timer === undefined) return;
    this.timers.delete(handle.timerId);
    if (timer.event !== undefined) this.loop.cancel(timer.event);
    this.held = this.held.filter((t) => t !== timer);
  }

  /** Steps the local clock by `deltaMs` (may be negative). */
  jump(deltaMs: number): void {
    assert(Number.isFinite(deltaMs), 'jump(): delta must be finite');
    this.offsetMs += deltaMs;
  }

  /** Timers set from now on fire `factor` times late (1 = on time); the clock's reading is unchanged. */
  setTimerStretch(factor: number): void {
    assert(factor >= 1 && Number.isFinite(factor), () => `setTimerStretch(${this.nodeId}): factor must be >= 1, got ${factor}`);
    this.stretch = factor;
  }

  get timerStretch(): number {
    return this.stretch;
  }

  /** Changes the drift from now on, without a jump in local time. */
  setDrift(rate: number): void {
    assert(rate > 0, () => `setDrift(${this.nodeId}): rate must be positive, got ${rate}`);
    const local = this.localExact();
    this.rate = rate;
    this.offsetMs = local - rate * this.loop.nowMs;
  }

  pause(): void {
    assert(this.status === 'running', () => `pause(${this.nodeId}): clock is ${this.status}`);
    this.status = 'paused';
  }

  resume(): void {
    assert(this.status === 'paused', () => `resume(${this.nodeId}): clock is ${this.status}`);
    this.status = 'running';
    const late = this.held;
    this.held = [];
    for (const timer of late) {
      timer.event = this.loop.after(0, 'timer', this.nodeId, () => this.due(timer), 'late');
    }
  }

  crash(): void {
    for (const timer of this.timers.values()) if (timer.event !== undefined) this.loop.cancel(timer.event);
    this.timers.clear();
    this.held = [];
    this.status = 'crashed';
  }

  restart(): void {
    assert(this.status === 'crashed', () => `restart(${this.nodeId}): clock is ${this.status}`);
    this.status = 'running';
  }

  private localExact(): number {
    return this.offsetMs + this.rate * this.loop.nowMs;
  }

  private due(timer: PendingTimer): void {
    timer.event = undefined;
    if (!this.timers.has(timer.handle.timerId)) return;
    if (this.status === 'paused') {
      this.held.push(timer);
      return;
    }
    assert(this.status === 'running', () => `timer fired on a ${this.status} clock`);
    this.timers.delete(timer.handle.timerId);
    timer.fn();
  }
}
