import { fromUtf8, utf8 } from '../src/util/index.js';
import type { NodeId, SeededRand } from '../src/util/index.js';
import type { ApplyResult } from '../src/apply/index.js';
import type { HistoryRecorder } from '../histories/index.js';
import type { SimCluster } from './cluster.js';
import type { KvMachine } from './kv-machine.js';
import type { SimLoop } from './loop.js';
import type { ServiceRegistry } from './services.js';
import { callMember, pickServing, sleepMs } from './client-call.js';
import type { CallLink } from './client-call.js';

export interface LockWorkloadOptions extends CallLink {
  readonly holders: number;
  readonly ttlSeconds: number;
  /** Holders stall (a GC pause) past their lease while inside: only with process-pause faults on. */
  readonly holderPauses: boolean;
}

export interface LockInterval {
  readonly holder: number;
  readonly lease: string;
  readonly enterMs: number;
  exitMs: number | undefined;
  /** The holder stalled inside, past its own lease-loss deadline. */
  paused: boolean;
}

const LOCK_PREFIX = 'lock/';
const POLL_MS = 50;

/**
 * etcd's v3lock recipe: a holder grants a lease, creates lock/<lease hex> with it, and owns the
 * lock when its key has the lowest create revision under the prefix. It keeps the lease alive
 * while waiting and inside, and leaves on its own once it has not renewed for a TTL (it cannot
 * know it still owns the lock). Enter and exit are recorded in virtual time; two holders inside
 * at once is a mutual-exclusion violation, expected only when a holder stalls past its lease
 * (Jepsen's finding for etcd) or clocks misbehave.
 */
export class LockWorkload {
  readonly intervals: LockInterval[] = [];
  private stopped = false;
  completed = 0;

  constructor(
    private readonly loop: SimLoop,
    private readonly cluster: SimCluster<ApplyResult, KvMachine>,
    private readonly services: ServiceRegistry,
    private readonly recorder: HistoryRecorder,
    private readonly rand: SeededRand,
    private readonly options: LockWorkloadOptions,
  ) {}

  start(): void {
    for (let h = 0; h < this.options.holders; h++) this.loop.after(this.rand.between(0, 100), 'lock-holder', undefined, () => void this.cycle(h));
  }

  stop(): void {
    this.stopped = true;
  }

  private pickUp(): NodeId | undefined {
    return pickServing(this.cluster.ids, this.services, this.rand);
  }

  private async cycle(holder: number): Promise<void> {
    if (this.stopped) return;
    await this.attempt(holder);
    if (!this.stopped) this.loop.after(this.rand.between(20, 200), 'lock-holder', undefined, () => void this.cycle(holder));
  }

  private async attempt(holder: number): Promise<void> {
    const target = this.pickUp();
    if (target === undefined) return;
    const grant = await callMember(this.loop, this.rand, this.services, target, this.options, (s) => s.lease.grant(this.options.ttlSeconds, 0n));
    this.completed++;
    if (grant.kind !== 'ok') return;
    const lease = grant.value.id;
    // The lease deadline, as the holder can know it: its TTL after it sent the last acked renewal.
    const state = { lastRenewSentMs: grant.executedAtMs, lost: false };
    const key = `${LOCK_PREFIX}${lease.toString(16)}`;
    const put = await this.call((s) => s.kv.put({ key: utf8(key), value: utf8(String(holder)), lease }));
    if (put?.kind === 'error') return void this.release(key, lease);
    const keeper = this.keepAlive(lease, state);
    const owned = await this.waitForOwnership(key, state);
    if (owned) await this.inside(holder, lease, state);
    state.lost = true;
    await keeper;
    this.release(key, lease);
  }

  private async waitForOwnership(key: string, state: { lastRenewSentMs: number; lost: boolean }): Promise<boolean> {
    while (!this.stopped && !this.expiredByOwnClock(state)) {
      const out = await this.call((s) => s.kv.range({ key: utf8(LOCK_PREFIX), rangeEnd: utf8('lock0') }));
      if (out?.kind === 'ok') {
        const kvs = [...out.value.kvs].sort((a, b) => a.createRevision - b.createRevision);
        const mine = kvs.find((kv) => fromUtf8(kv.key) === key);
        if (mine === undefined) return false;
        if (kvs[0] === mine) return true;
      }
      await this.sleep(POLL_MS);
    }
    return false;
  }

  private async inside(holder: number, lease: bigint, state: { lastRenewSentMs: number; lost: boolean }): Promise<void> {
    const interval: LockInterval = { holder, lease: lease.toString(16), enterMs: this.loop.nowMs, exitMs: undefined, paused: false };
    this.intervals.push(interval);
    this.record(holder, 'lock-enter', interval.lease);
    const useMs = this.rand.between(50, 800);
    if (this.options.holderPauses && this.rand.chance(0.15)) {
      // A stop-the-world pause: no checks, no renewals, then the holder carries on as if nothing happened.
      interval.paused = true;
      state.lost = true;
      await this.sleep(this.options.ttlSeconds * 1000 + this.rand.between(0, 2_000));
    }
    const untilMs = this.loop.nowMs + useMs;
    while (!this.stopped && this.loop.nowMs < untilMs && (interval.paused || !this.expiredByOwnClock(state))) await this.sleep(10);
    interval.exitMs = this.loop.nowMs;
    this.record(holder, 'lock-exit', interval.lease);
  }

  /** The holder's own view: a TTL (less a safety margin) without a renewal means the lock may be gone. */
  private expiredByOwnClock(state: { lastRenewSentMs: number }): boolean {
    return this.loop.nowMs >= state.lastRenewSentMs + this.options.ttlSeconds * 1000 - 200;
  }

  private async keepAlive(lease: bigint, state: { lastRenewSentMs: number; lost: boolean }): Promise<void> {
    while (!this.stopped && !state.lost) {
      await this.sleep(300);
      if (state.lost) return;
      const target = this.cluster.leader();
      if (target === undefined) continue;
      const sentMs = this.loop.nowMs;
      const out = await callMember(this.loop, this.rand, this.services, target, this.options, (s) => s.lease.keepAlive(lease));
      this.completed++;
      if (out.kind === 'ok' && out.value.ttlSeconds > 0 && !state.lost) state.lastRenewSentMs = Math.max(state.lastRenewSentMs, sentMs);
    }
  }

  private release(key: string, lease: bigint): void {
    void this.call((s) => s.kv.deleteRange({ key: utf8(key) }));
    void this.call((s) => s.lease.revoke(lease));
  }

  private async call<T>(fn: Parameters<typeof callMember<T>>[5]): Promise<Awaited<ReturnType<typeof callMember<T>>> | undefined> {
    const target = this.pickUp();
    if (target === undefined) return undefined;
    const out = await callMember(this.loop, this.rand, this.services, target, this.options, fn);
    this.completed++;
    return out;
  }

  private record(holder: number, f: string, lease: string): void {
    const t = this.loop.nowMs * 1e6;
    this.recorder.invoke(holder, f, { lease }, t);
    this.recorder.complete(holder, 'ok', f, { lease }, t);
  }

  private sleep(ms: number): Promise<void> {
    return sleepMs(this.loop, ms, 'lock-sleep');
  }
}

/** Pairs of holders inside at once. Exits missing at the end count as "still inside". */
export function mutualExclusionViolations(intervals: readonly LockInterval[], endMs: number): Array<{ a: LockInterval; b: LockInterval }> {
  const sorted = [...intervals].sort((x, y) => x.enterMs - y.enterMs);
  const out: Array<{ a: LockInterval; b: LockInterval }> = [];
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i] as LockInterval;
    for (let j = i + 1; j < sorted.length; j++) {
      const b = sorted[j] as LockInterval;
      if (b.enterMs >= (a.exitMs ?? endMs)) break;
      out.push({ a, b });
    }
  }
  return out;
}
