import type { Clock, TimerHandle } from '../env/index.js';

/** One waiting request: a node in its clock's deadline list. */
export class DeadlineEntry {
  prev: DeadlineEntry | undefined = undefined;
  next: DeadlineEntry | undefined = undefined;
  linked = false;

  constructor(
    readonly deadlineMs: number,
    readonly onExpire: () => void,
  ) {}
}

/**
 * The request deadlines of one clock, with one armed timer for all of them. A timer per request
 * cost about 1.5 % of a put's CPU (arm, then cancel nearly every time); here adding and removing
 * a deadline is a linked-list splice, and the one timer is re-armed only when it fires (about
 * once per timeout period under steady load) or when a new deadline is earlier than the armed one.
 *
 * Entries are kept sorted by deadline. Requests usually share one timeout, so an insert lands at
 * the tail; a clock that jumps backwards (a simulated skew fault) inserts further in.
 */
export class DeadlineList {
  private head: DeadlineEntry | undefined = undefined;
  private tail: DeadlineEntry | undefined = undefined;
  private timer: TimerHandle | undefined = undefined;
  /** The deadline the armed timer was set for. */
  private armedForMs = 0;
  private sizeEntries = 0;

  constructor(private readonly clock: Clock) {}

  get size(): number {
    return this.sizeEntries;
  }

  /** Calls `onExpire` once `timeoutMs` of this clock have passed, unless removed before. */
  add(timeoutMs: number, onExpire: () => void): DeadlineEntry {
    const entry = new DeadlineEntry(this.clock.nowMs() + timeoutMs, onExpire);
    let after = this.tail;
    while (after !== undefined && after.deadlineMs > entry.deadlineMs) after = after.prev;
    this.linkAfter(entry, after);
    if (this.timer === undefined || entry.deadlineMs < this.armedForMs) this.arm(entry.deadlineMs);
    return entry;
  }

  /**
   * Forgets a deadline (its request settled). The timer stays armed even when the list empties:
   * when it fires with nothing due it re-arms for the new head, which costs less than
   * cancelling and re-arming around every sequential request.
   */
  remove(entry: DeadlineEntry): void {
    if (!entry.linked) return;
    const { prev, next } = entry;
    if (prev === undefined) this.head = next;
    else prev.next = next;
    if (next === undefined) this.tail = prev;
    else next.prev = prev;
    entry.prev = undefined;
    entry.next = undefined;
    entry.linked = false;
    this.sizeEntries--;
  }

  private linkAfter(entry: DeadlineEntry, after: DeadlineEntry | undefined): void {
    const next = after === undefined ? this.head : after.next;
    entry.prev = after;
    entry.next = next;
    if (after === undefined) this.head = entry;
    else after.next = entry;
    if (next === undefined) this.tail = entry;
    else next.prev = entry;
    entry.linked = true;
    this.sizeEntries++;
  }

  private arm(deadlineMs: number): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.armedForMs = deadlineMs;
    this.timer = this.clock.setTimer(Math.max(0, deadlineMs - this.clock.nowMs()), () => this.fire());
  }

  private fire(): void {
    this.timer = undefined;
    const nowMs = this.clock.nowMs();
    for (let entry = this.head; entry !== undefined && entry.deadlineMs <= nowMs; entry = this.head) {
      this.remove(entry);
      entry.onExpire();
    }
    // An expiry callback may have added an entry, and armed the timer for it already.
    if (this.head !== undefined && this.timer === undefined) this.arm(this.head.deadlineMs);
  }
}

const listsByClock = new WeakMap<Clock, DeadlineList>();

/** The shared deadline list of a clock (one per node: every API object of a node shares it). */
export function deadlinesOf(clock: Clock): DeadlineList {
  let list = listsByClock.get(clock);
  if (list === undefined) {
    list = new DeadlineList(clock);
    listsByClock.set(clock, list);
  }
  return list;
}
