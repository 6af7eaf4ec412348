import { Applier, encodePayload } from '../../src/apply/index.js';
import type { ApplyResult, InternalRequest } from '../../src/apply/index.js';
import type { AuthInfo, AuthRequest } from '../../src/auth/index.js';
import type { Clock, TimerHandle } from '../../src/env/index.js';
import { MemoryBackend } from '../../src/mvcc/index.js';

/** A clock moved by hand; timers fire when advanced past. */
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

/** An applier over a memory backend, fed entries by hand as the node loop would. */
export class ApplierHarness {
  readonly clock = new ManualClock();
  readonly backend = new MemoryBackend();
  readonly applier: Applier;
  private index = 0;

  constructor(applier?: (backend: MemoryBackend, clock: ManualClock) => Applier) {
    this.applier = applier ? applier(this.backend, this.clock) : new Applier(this.backend, { clock: this.clock });
  }

  apply(request: InternalRequest): ApplyResult {
    const result = this.applier.apply(++this.index, 1, encodePayload(request));
    this.applier.flush();
    return result;
  }

  /** An admin request as `as` (undefined: internal, unchecked). */
  admin(request: AuthRequest, as?: AuthInfo): ApplyResult {
    return this.apply(as === undefined ? { auth: request } : { auth: request, header: { username: as.username, authRevision: as.revision } });
  }

  /** Applies and fails the test on a refusal. */
  must(request: AuthRequest, as?: AuthInfo): unknown {
    const r = this.admin(request, as);
    if (!r.ok) throw new Error(`refused: ${r.error.message}`);
    return r.response;
  }

  lastIndex(): number {
    return this.index;
  }
}

export const errorOf = (r: ApplyResult): string | undefined => (r.ok ? undefined : r.error.message);
