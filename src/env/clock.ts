/**
 * Time as the node sees it. Real time in env/node, virtual time in the simulator (with per-node
 * skew, drift and pauses). Node code never reads Date or sets timers itself.
 */
export interface TimerHandle {
  readonly timerId: number;
}

export interface Clock {
  /** Milliseconds on this node's clock. Monotonic for a running node; may jump under skew faults. */
  nowMs(): number;
  /** Calls `fn` once after `delayMs` of this node's time (never synchronously). */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}
