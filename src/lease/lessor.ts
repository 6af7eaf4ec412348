/**
 * etcd's lessor (server/lease/lessor.go) as a pure state machine: time comes in as an argument in
 * milliseconds, nothing is scheduled. Two kinds of state live here:
 *
 * - Replicated state, changed only by applying committed Raft entries, identical on every member:
 *   the leases (id, TTL, checkpointed remaining TTL) and the keys attached to each. This is what
 *   snapshotBytes() encodes and what the persistence hook is told about.
 * - Local state of the primary (the Raft leader): each lease's expiry time, the queue that finds
 *   expired leases and the checkpoint schedule. A follower keeps every expiry at +Infinity, so it
 *   never expires a lease on its own; promote() re-arms the clocks when it becomes leader.
 *
 * The server drives it: it calls expiredLeases() and proposes a LeaseRevoke for each, calls
 * dueCheckpoints() and proposes a LeaseCheckpoint, forwards keep-alives to the leader's renew().
 */
import { etcdError } from '../api/errors.js';
import { assert, toHex } from '../util/index.js';
import { encodeLeaseSnapshot, decodeLeaseSnapshot, type LeaseRecord, type LeaseSnapshotEntry } from './codec.js';
import { TimedHeap, type TimedItem } from './heap.js';

/** etcd's MaxLeaseTTL: larger grants fail with "too large lease TTL". */
export const MAX_LEASE_TTL_SECONDS = 9_000_000_000;
/** etcd's default --experimental-lease-checkpoint-interval. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 5 * 60 * 1000;
/** etcd's leaseRevokeRate: expired leases revoked per second at most (the server paces the calls). */
export const LEASE_REVOKE_RATE_PER_SECOND = 1000;
/** etcd's defaultExpiredleaseRetryInterval: an expired lease not yet revoked is reported again after this. */
export const EXPIRED_LEASE_RETRY_INTERVAL_MS = 3000;
/** etcd's maxLeaseCheckpointBatchSize. */
export const MAX_CHECKPOINT_BATCH = 1000;
/** Minimum TTL with etcd's default flags (election timeout 1000 ms). */
export const DEFAULT_MIN_LEASE_TTL_SECONDS = 2;

/**
 * etcd's minimum lease TTL: ceil((3 * electionTicks / 2) * heartbeat) in seconds, integer division
 * of the ticks as in etcd. A lease must outlive a leader election, or a new leader could find it
 * expired before clients had any chance to reach it.
 */
export function minLeaseTtlSeconds(electionTicks: number, heartbeatMs: number): number {
  assert(Number.isInteger(electionTicks) && electionTicks > 0, 'electionTicks must be a positive integer');
  assert(heartbeatMs > 0, 'heartbeatMs must be positive');
  return Math.ceil((Math.floor((3 * electionTicks) / 2) * heartbeatMs) / 1000);
}

/** The lessor is not the primary (leader): keep-alives must go to the leader. etcd's ErrNotPrimary. */
export class LessorNotPrimaryError extends Error {
  override readonly name = 'LessorNotPrimaryError';
  constructor() {
    super('not a primary lessor');
  }
}

/** What the applier (or the backend) must store after each change, mirroring etcd's lease bucket. */
export interface LeasePersistence {
  saveLease(record: LeaseRecord): void;
  deleteLease(id: bigint): void;
}

export interface LessorOptions {
  /** Default 2 s; see minLeaseTtlSeconds(). */
  minTtlSeconds?: number;
  /** How often the primary checkpoints each long lease's remaining TTL. Default 5 min. */
  checkpointIntervalMs?: number;
  /** etcd --experimental-enable-lease-checkpoint; default true. */
  checkpointing?: boolean;
  expiredRetryIntervalMs?: number;
  /** Chooses ids for grant(0, ...); see createLeaseIdGenerator(). */
  nextId?: () => bigint;
  persistence?: LeasePersistence;
}

/** etcdserverpb.LeaseCheckpoint: the primary proposes these, every member applies them. */
export interface LeaseCheckpoint {
  id: bigint;
  remainingTtlSeconds: number;
}

export interface LeaseInfo {
  id: bigint;
  /** Effective TTL: the requested one raised to the minimum. etcd's TTL / GrantedTTL. */
  ttlSeconds: number;
  /** Last checkpointed remaining TTL, 0 = none. */
  remainingTtlSeconds: number;
  /** When the primary will expire it; +Infinity on a follower. */
  expiryMs: number;
  /** Attached keys as hex of their bytes, ascending. */
  keys: string[];
}

export interface TimeToLive {
  id: bigint;
  /** Remaining seconds, truncated as etcd does (int64(Remaining().Seconds())). */
  ttlSeconds: number;
  grantedTtlSeconds: number;
  keys: Uint8Array[];
}

export type RenewResult =
  /** `checkpoint`, when set, must be proposed through Raft: it clears a stale checkpoint everywhere. */
  | { kind: 'renewed'; ttlSeconds: number; checkpoint?: LeaseCheckpoint }
  /** Expired but not yet revoked: answer once the revoke applies (LeaseNotFound) or on demotion (not leader). */
  | { kind: 'expired' };

interface Lease {
  readonly id: bigint;
  readonly ttlSeconds: number;
  remainingTtlSeconds: number;
  expiryMs: number;
  readonly keys: Set<string>;
  /** Seq of this lease's live item in the expiry queue; stale items carry another. */
  expirySeq: number;
}

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function compareIds(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class Lessor {
  private readonly leases = new Map<bigint, Lease>();
  /** key hex -> lease: a key belongs to at most one lease. */
  private readonly leaseOfKey = new Map<string, bigint>();
  private primary = false;
  private readonly expiryQueue = new TimedHeap();
  private readonly checkpointQueue = new TimedHeap();
  private seq = 0;
  /** Checkpoints handed out by dueCheckpoints() and not yet applied. */
  // Kept across demotions: a proposal from an old term may still commit, and over-clearing costs
  // only one extra Raft entry.
  private readonly checkpointsInFlight = new Map<bigint, number>();
  readonly minTtlSeconds: number;
  readonly checkpointIntervalMs: number;
  private readonly checkpointing: boolean;
  private readonly retryIntervalMs: number;
  private readonly nextId: (() => bigint) | undefined;
  private readonly persistence: LeasePersistence | undefined;

  constructor(options: LessorOptions = {}) {
    this.minTtlSeconds = options.minTtlSeconds ?? DEFAULT_MIN_LEASE_TTL_SECONDS;
    this.checkpointIntervalMs = options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
    this.checkpointing = options.checkpointing ?? true;
    this.retryIntervalMs = options.expiredRetryIntervalMs ?? EXPIRED_LEASE_RETRY_INTERVAL_MS;
    this.nextId = options.nextId;
    this.persistence = options.persistence;
    assert(Number.isInteger(this.minTtlSeconds) && this.minTtlSeconds >= 1, 'minTtlSeconds must be a positive integer');
    assert(this.checkpointIntervalMs >= 1000, 'checkpointIntervalMs must be at least a second');
    assert(this.retryIntervalMs > 0, 'expiredRetryIntervalMs must be positive');
  }

  // ---------------------------------------------------------------- queries

  isPrimary(): boolean {
    return this.primary;
  }

  /** etcd's Lookup, for mvcc's leaseExists. */
  has(id: bigint): boolean {
    return this.leases.has(id);
  }

  get size(): number {
    return this.leases.size;
  }

  lookup(id: bigint): LeaseInfo | undefined {
    const l = this.leases.get(id);
    return l === undefined ? undefined : this.info(l);
  }

  /** All leases in ascending id order (LeaseLeases). */
  leaseIds(): bigint[] {
    return [...this.leases.keys()].sort(compareIds);
  }

  /** Which lease holds a key, 0n if none (etcd's GetLease). */
  leaseOf(key: Uint8Array): bigint {
    return this.leaseOfKey.get(toHex(key)) ?? 0n;
  }

  /**
   * LeaseTimeToLive. On the primary the remaining time comes from the expiry clock; elsewhere (the
   * server should forward to the leader, as etcd does) the checkpointed or full TTL is the best guess.
   */
  timeToLive(id: bigint, nowMs: number): TimeToLive {
    const l = this.mustGet(id);
    const remainingSeconds = this.primary
      ? Math.trunc((l.expiryMs - nowMs) / 1000)
      : l.remainingTtlSeconds > 0
        ? l.remainingTtlSeconds
        : l.ttlSeconds;
    return { id, ttlSeconds: remainingSeconds, grantedTtlSeconds: l.ttlSeconds, keys: this.sortedKeys(l).map(fromHex) };
  }

  // ---------------------------------------------------------------- replicated changes (applied from Raft)

  /**
   * LeaseGrant as applied. id 0n picks an id from the generator; but since every member must agree
   * on the id, the server should choose it before proposing (etcd does), so the entry carries it.
   */
  grant(id: bigint, ttlSeconds: number, nowMs: number): LeaseInfo {
    assert(Number.isInteger(ttlSeconds), 'lease TTL must be an integer');
    if (id === 0n) id = this.chooseId();
    if (ttlSeconds > MAX_LEASE_TTL_SECONDS) throw etcdError('LeaseTTLTooLarge');
    if (this.leases.has(id)) throw etcdError('LeaseExist');
    const l: Lease = {
      id,
      ttlSeconds: Math.max(ttlSeconds, this.minTtlSeconds),
      remainingTtlSeconds: 0,
      expiryMs: Number.POSITIVE_INFINITY,
      keys: new Set(),
      expirySeq: -1,
    };
    this.leases.set(id, l);
    if (this.primary) {
      this.refresh(l, nowMs, 0);
      this.scheduleCheckpoint(l, nowMs);
    }
    this.persist(l);
    return this.info(l);
  }

  /**
   * LeaseRevoke as applied: forgets the lease and returns its keys in ascending byte order. The
   * applier deletes them all in ONE mvcc write (MvccStore.deleteKeys), so every member removes
   * them at the same revision; the detach events that follow are ignored (the lease is gone).
   */
  revoke(id: bigint): Uint8Array[] {
    const l = this.mustGet(id);
    const keys = this.sortedKeys(l);
    for (const k of keys) {
      assert(this.leaseOfKey.get(k) === id, 'key index disagrees with the lease');
      this.leaseOfKey.delete(k);
    }
    this.leases.delete(id);
    this.checkpointsInFlight.delete(id);
    this.persistence?.deleteLease(id);
    return keys.map(fromHex);
  }

  /** Attach keys (mvcc put with a lease). */
  attach(id: bigint, keys: readonly Uint8Array[]): void {
    const l = this.mustGet(id);
    for (const key of keys) {
      const k = toHex(key);
      const owner = this.leaseOfKey.get(k);
      if (owner !== undefined && owner !== id) this.leases.get(owner)?.keys.delete(k);
      l.keys.add(k);
      this.leaseOfKey.set(k, id);
    }
  }

  /** Detach keys (key overwritten without the lease, or deleted). Unknown leases throw, as in etcd. */
  detach(id: bigint, keys: readonly Uint8Array[]): void {
    const l = this.mustGet(id);
    for (const key of keys) {
      const k = toHex(key);
      l.keys.delete(k);
      if (this.leaseOfKey.get(k) === id) this.leaseOfKey.delete(k);
    }
  }

  /**
   * The listener for MvccStore.onLeaseEvent. A detach from a lease that no longer exists is the
   * key deletion of that lease's own revoke and is ignored.
   */
  onLeaseEvent(e: { kind: 'attach' | 'detach'; lease: bigint; key: Uint8Array }): void {
    if (e.kind === 'attach') this.attach(e.lease, [e.key]);
    else if (this.leases.has(e.lease)) this.detach(e.lease, [e.key]);
  }

  /**
   * LeaseCheckpoint as applied: records the remaining TTL; the expiry clock is not touched (promote
   * uses it). remainingTtlSeconds 0 clears the checkpoint (after a renew).
   */
  applyCheckpoint(id: bigint, remainingTtlSeconds: number, nowMs: number): void {
    assert(Number.isInteger(remainingTtlSeconds) && remainingTtlSeconds >= 0, 'bad checkpoint TTL');
    const inFlight = this.checkpointsInFlight.get(id) ?? 0;
    if (inFlight <= 1) this.checkpointsInFlight.delete(id);
    else this.checkpointsInFlight.set(id, inFlight - 1);
    const l = this.leases.get(id);
    if (l === undefined) return; // revoked meanwhile: etcd ignores it too
    l.remainingTtlSeconds = remainingTtlSeconds;
    this.persist(l);
    if (this.primary) this.scheduleCheckpoint(l, nowMs);
  }

  // ---------------------------------------------------------------- primary only (local clocks)

  /**
   * Became leader. Every lease gets a fresh expiry of now + extend + (checkpointed or full TTL), so
   * no lease expires early because the old leader's clock is lost. When there are many leases,
   * expiries that would pile up are spread out, as etcd does, so the revoke rate is not swamped.
   */
  promote(nowMs: number, extendMs: number): void {
    assert(extendMs >= 0, 'promote: negative extension');
    this.primary = true;
    this.expiryQueue.clear();
    this.checkpointQueue.clear();
    for (const l of this.leases.values()) this.refresh(l, nowMs, extendMs);
    if (this.leases.size >= LEASE_REVOKE_RATE_PER_SECOND) this.spreadExpiries(nowMs, extendMs);
    for (const id of this.leaseIds()) this.scheduleCheckpoint(this.leases.get(id) as Lease, nowMs);
  }

  /** Lost leadership: no lease expires here until the next promote. */
  demote(): void {
    this.primary = false;
    for (const l of this.leases.values()) l.expiryMs = Number.POSITIVE_INFINITY;
    this.expiryQueue.clear();
    this.checkpointQueue.clear();
  }

  /** LeaseKeepAlive on the leader. Throws LessorNotPrimaryError elsewhere, LeaseNotFound if unknown. */
  renew(id: bigint, nowMs: number): RenewResult {
    if (!this.primary) throw new LessorNotPrimaryError();
    const l = this.mustGet(id);
    if (nowMs >= l.expiryMs) return { kind: 'expired' };
    // The refresh ignores the stale checkpoint (as etcd's does once its clearing checkpoint has
    // applied); the replicated value changes only when `checkpoint` below goes through Raft. A
    // checkpoint still in flight would land after this renew with an older remaining TTL, so it
    // needs clearing too (etcd only looks at the applied value and can lose a renew that way).
    this.setExpiry(l, nowMs + l.ttlSeconds * 1000);
    if (this.checkpointing && (l.remainingTtlSeconds > 0 || this.checkpointsInFlight.has(id))) {
      return { kind: 'renewed', ttlSeconds: l.ttlSeconds, checkpoint: { id, remainingTtlSeconds: 0 } };
    }
    return { kind: 'renewed', ttlSeconds: l.ttlSeconds };
  }

  /**
   * Leases whose expiry has passed, oldest first, at most `limit` (etcd revokes leaseRevokeRate/2
   * every 500 ms). Each is reported again every retry interval until its revoke is applied, in
   * case the proposal was lost. Empty on a follower.
   */
  expiredLeases(nowMs: number, limit: number): bigint[] {
    assert(limit > 0, 'expiredLeases: limit must be positive');
    const out: bigint[] = [];
    while (out.length < limit) {
      const top = this.expiryQueue.peek();
      if (top === undefined) break;
      const l = this.leases.get(top.id);
      if (l === undefined || l.expirySeq !== top.seq) {
        this.expiryQueue.pop();
        continue;
      }
      if (nowMs < top.timeMs) break;
      this.expiryQueue.pop();
      this.enqueueExpiry(l, nowMs + this.retryIntervalMs);
      if (nowMs >= l.expiryMs) out.push(l.id);
    }
    assert(this.primary || out.length === 0, 'a follower reported an expired lease');
    return out;
  }

  /** Checkpoints due now (etcd's findDueScheduledCheckpoints), for the server to propose. */
  dueCheckpoints(nowMs: number, limit = MAX_CHECKPOINT_BATCH): LeaseCheckpoint[] {
    const out: LeaseCheckpoint[] = [];
    if (!this.checkpointing || !this.primary) return out;
    while (out.length < limit) {
      const top = this.checkpointQueue.peek();
      if (top === undefined || top.timeMs > nowMs) break;
      this.checkpointQueue.pop();
      const l = this.leases.get(top.id);
      if (l === undefined || nowMs >= l.expiryMs) continue;
      const remainingTtlSeconds = Math.ceil((l.expiryMs - nowMs) / 1000);
      if (remainingTtlSeconds >= l.ttlSeconds) {
        // Renewed since it was scheduled: nothing to record yet, but keep it on the schedule
        // (etcd drops it here until the next promote).
        this.scheduleCheckpoint(l, nowMs);
        continue;
      }
      out.push({ id: l.id, remainingTtlSeconds });
      this.checkpointsInFlight.set(l.id, (this.checkpointsInFlight.get(l.id) ?? 0) + 1);
    }
    return out;
  }

  // ---------------------------------------------------------------- snapshots and recovery

  /** The replicated state, deterministic bytes (ascending ids and keys). */
  snapshotBytes(): Uint8Array {
    return encodeLeaseSnapshot(this.leaseIds().map((id) => this.snapshotEntry(this.leases.get(id) as Lease)));
  }

  /**
   * Replaces the replicated state with a snapshot's. The persistence hook is told about every lease
   * dropped and every lease restored. On the primary the clocks restart as on a promote without
   * extension.
   */
  restore(bytes: Uint8Array, nowMs: number): void {
    const entries = decodeLeaseSnapshot(bytes);
    for (const id of this.leaseIds()) this.persistence?.deleteLease(id);
    this.load(entries);
    for (const id of this.leaseIds()) this.persist(this.leases.get(id) as Lease);
    if (this.primary) this.promote(nowMs, 0);
  }

  /**
   * Rebuilds from what the backend held after a restart (etcd's initAndRecover): the lease records
   * and the store's leased keys (MvccStore.leasedKeys()). Starts as a follower.
   */
  recover(records: readonly LeaseRecord[], leasedKeys: readonly { key: Uint8Array; lease: bigint }[]): void {
    this.load(records.map((r) => ({ ...r, keys: [] })));
    this.demote();
    for (const { key, lease } of leasedKeys) {
      assert(this.leases.has(lease), () => `key attached to unknown lease ${lease}`);
      this.attach(lease, [key]);
    }
  }

  // ---------------------------------------------------------------- internals

  private load(entries: readonly LeaseSnapshotEntry[]): void {
    this.leases.clear();
    this.leaseOfKey.clear();
    this.expiryQueue.clear();
    this.checkpointQueue.clear();
    for (const e of entries) {
      assert(!this.leases.has(e.id), () => `duplicate lease ${e.id} in snapshot`);
      const l: Lease = {
        id: e.id,
        ttlSeconds: Math.max(e.ttlSeconds, this.minTtlSeconds),
        remainingTtlSeconds: e.remainingTtlSeconds,
        expiryMs: Number.POSITIVE_INFINITY,
        keys: new Set(),
        expirySeq: -1,
      };
      this.leases.set(e.id, l);
      for (const key of e.keys) this.attach(e.id, [key]);
    }
  }

  private snapshotEntry(l: Lease): LeaseSnapshotEntry {
    return { id: l.id, ttlSeconds: l.ttlSeconds, remainingTtlSeconds: l.remainingTtlSeconds, keys: this.sortedKeys(l).map(fromHex) };
  }

  private chooseId(): bigint {
    if (this.nextId === undefined) throw etcdError('LeaseNotFound'); // etcd's lessor rejects NoLease
    for (let attempt = 0; attempt < 1000; attempt++) {
      const id = this.nextId();
      if (id !== 0n && !this.leases.has(id)) return id;
    }
    throw etcdError('LeaseExist');
  }

  private mustGet(id: bigint): Lease {
    const l = this.leases.get(id);
    if (l === undefined) throw etcdError('LeaseNotFound');
    return l;
  }

  private info(l: Lease): LeaseInfo {
    return { id: l.id, ttlSeconds: l.ttlSeconds, remainingTtlSeconds: l.remainingTtlSeconds, expiryMs: l.expiryMs, keys: this.sortedKeys(l) };
  }

  private sortedKeys(l: Lease): string[] {
    // Fixed-width hex sorts in the same order as the raw bytes.
    return [...l.keys].sort();
  }

  private persist(l: Lease): void {
    this.persistence?.saveLease({ id: l.id, ttlSeconds: l.ttlSeconds, remainingTtlSeconds: l.remainingTtlSeconds });
  }

  /** etcd's Lease.refresh: expiry = now + extend + (checkpointed remaining, else full TTL). */
  private refresh(l: Lease, nowMs: number, extendMs: number): void {
    const ttlSeconds = l.remainingTtlSeconds > 0 ? l.remainingTtlSeconds : l.ttlSeconds;
    this.setExpiry(l, nowMs + extendMs + ttlSeconds * 1000);
  }

  private setExpiry(l: Lease, expiryMs: number): void {
    assert(this.primary, 'only the primary keeps lease clocks');
    assert(Number.isFinite(expiryMs), 'lease expiry must be finite on the primary');
    l.expiryMs = expiryMs;
    this.enqueueExpiry(l, expiryMs);
  }

  private enqueueExpiry(l: Lease, timeMs: number): void {
    l.expirySeq = this.seq++;
    this.expiryQueue.push({ timeMs, id: l.id, seq: l.expirySeq });
    if (this.expiryQueue.size > 2 * this.leases.size + 64) {
      this.expiryQueue.compact((item: TimedItem) => this.leases.get(item.id)?.expirySeq === item.seq);
    }
  }

  private scheduleCheckpoint(l: Lease, nowMs: number): void {
    if (!this.checkpointing || !this.primary) return;
    const remainingSeconds = l.remainingTtlSeconds > 0 ? l.remainingTtlSeconds : l.ttlSeconds;
    if (remainingSeconds * 1000 <= this.checkpointIntervalMs) return;
    this.checkpointQueue.push({ timeMs: nowMs + this.checkpointIntervalMs, id: l.id, seq: this.seq++ });
  }

  /**
   * etcd's promote pacing: at most 3/4 of the revoke rate may expire in any one-second window;
   * leases beyond that in a window are pushed later. Only ever extends, so nothing expires early.
   */
  private spreadExpiries(nowMs: number, extendMs: number): void {
    const sorted = [...this.leases.values()].sort((a, b) => a.expiryMs - b.expiryMs || compareIds(a.id, b.id));
    const targetPerSecond = Math.floor((3 * LEASE_REVOKE_RATE_PER_SECOND) / 4);
    let baseWindowMs = (sorted[0] as Lease).expiryMs - nowMs;
    let nextWindowMs = baseWindowMs + 1000;
    let expires = 0;
    for (const l of sorted) {
      const remainingMs = l.expiryMs - nowMs;
      if (remainingMs > nextWindowMs) {
        baseWindowMs = remainingMs;
        nextWindowMs = baseWindowMs + 1000;
        expires = 1;
        continue;
      }
      expires++;
      if (expires <= targetPerSecond) continue;
      const delayMs = Math.max(0, Math.floor((1000 * expires) / targetPerSecond - (remainingMs - baseWindowMs)));
      nextWindowMs = baseWindowMs + delayMs;
      const before = l.expiryMs;
      this.refresh(l, nowMs, delayMs + extendMs);
      assert(l.expiryMs >= before, 'pacing moved an expiry earlier');
    }
  }
}
