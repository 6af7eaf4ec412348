/**
 * etcd's Lock service (v3lock), transport-free, and the pieces of etcd's client-side
 * `concurrency` package that both it and the Election service are built on. etcd's lock server
 * runs clientv3's concurrency.Mutex against its own KV, Watch and Lease services; so does this
 * one, through KvApi, WatchApi and LeaseApi, so every step goes through Raft (writes) or a
 * ReadIndex barrier (reads) exactly as a remote client's would. The keys are etcd's
 * (`<name>/<lease id as %x>`), so holders using real etcd's clients and this service contend for
 * the same lock correctly.
 *
 * Errors: etcd's lock and election servers return their inner client's errors as plain Go
 * errors, which gRPC sends as UNKNOWN with the same text (measured on etcd 3.4.23: a Lock with an
 * unknown lease answers UNKNOWN "etcdserver: requested lease not found"). `serviceError` does
 * that mapping, so callers of this API see what a gRPC client of etcd sees.
 */
import type { KeyValue, RangeRequest, RangeResponse, ResponseHeader, ResponseOp, TxnResponse } from '../mvcc/index.js';
import { CompareResult, CompareTarget, EventType, SortOrder, SortTarget } from '../mvcc/index.js';
import type { WatchCreateRequest, WatchResponse } from '../watch/index.js';
import { FilterType } from '../watch/index.js';
import { assert, bytesEqual, concatBytes, utf8 } from '../util/index.js';
import { EtcdError, GrpcCode, etcdError } from './errors.js';
import type { AuthInfo } from '../auth/index.js';
import type { KvApi } from './kv.js';
import type { LeaseApi } from './lease.js';
import type { WatchApi, WatchSession } from './watch.js';

/** The services the lock and election servers are clients of. */
export interface ConcurrencyDeps {
  readonly kv: KvApi;
  readonly watch: WatchApi;
  readonly lease: LeaseApi;
}

/**
 * Errors of etcd's concurrency package and its v3election server: plain Go errors, so gRPC
 * status UNKNOWN with exactly this text (checked against etcd 3.4.23 for the election ones).
 */
export const ConcurrencyErrors = Object.freeze({
  /** concurrency.ErrSessionExpired (etcd 3.5+): the lock key vanished (lease expired or revoked) while waiting. */
  SessionExpired: 'mutex: session is expired',
  /** concurrency.ErrElectionNotLeader. */
  ElectionNotLeader: 'election: not leader',
  /** concurrency.ErrElectionNoLeader. */
  ElectionNoLeader: 'election: no leader',
  /** v3election.ErrMissingLeaderKey. */
  MissingLeaderKey: '"leader" field must be provided',
});
export type ConcurrencyErrorName = keyof typeof ConcurrencyErrors;

export function concurrencyError(name: ConcurrencyErrorName): EtcdError {
  return new EtcdError(GrpcCode.UNKNOWN, ConcurrencyErrors[name]);
}

/** etcd's session TTL when a Lock or Campaign names no lease (concurrency.defaultSessionTTL). */
export const DEFAULT_SESSION_TTL_SECONDS = 60;

/**
 * As etcd's lock/election servers answer: their client's errors become UNKNOWN with the same
 * message. A cancellation stays CANCELLED (the caller is gone; nobody reads it).
 */
export function serviceError(error: unknown): unknown {
  if (!(error instanceof EtcdError) || error.code === GrpcCode.CANCELLED) return error;
  return error.code === GrpcCode.UNKNOWN ? error : new EtcdError(GrpcCode.UNKNOWN, error.message);
}

export async function asService<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw serviceError(error);
  }
}

const SLASH = utf8('/');
const EMPTY = new Uint8Array(0);

/** `<name>/`: every contender's key lives under it. */
export function contenderPrefix(name: Uint8Array): Uint8Array {
  return concatBytes([name, SLASH]);
}

/** `<prefix><lease id as Go's %x>` (a negative id prints as "-" and the hex of its magnitude, as Go does). */
export function contenderKey(prefix: Uint8Array, leaseId: bigint): Uint8Array {
  return concatBytes([prefix, utf8(leaseId.toString(16))]);
}

/** The smallest key greater than every key with this prefix (clientv3.GetPrefixRangeEnd). */
export function prefixRangeEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.slice(0, i + 1);
    }
  }
  return new Uint8Array([0]);
}

/** clientv3.WithFirstCreate / WithLastCreate on a prefix: the oldest (or newest) key by create revision. */
export function byCreate(prefix: Uint8Array, order: 'first' | 'last', maxCreateRevision = 0): RangeRequest {
  return {
    key: prefix,
    rangeEnd: prefixRangeEnd(prefix),
    sortTarget: SortTarget.CREATE,
    sortOrder: order === 'first' ? SortOrder.ASCEND : SortOrder.DESCEND,
    limit: 1,
    maxCreateRevision,
  };
}

export function rangeOf(op: ResponseOp | undefined): RangeResponse {
  assert(op !== undefined && 'responseRange' in op, 'concurrency: txn answered without the expected range');
  return op.responseRange;
}

/** The lease a request names, or (lease 0) a fresh one with etcd's default session TTL, as concurrency.NewSession does. */
export async function sessionLease(deps: ConcurrencyDeps, leaseId: bigint): Promise<bigint> {
  if (leaseId !== 0n) return leaseId;
  return (await deps.lease.grant(DEFAULT_SESSION_TTL_SECONDS, 0n)).id;
}

/** Put `key` with the lease unless it exists; read the existing key back otherwise. Then the extra reads. */
export async function createOrGet(
  deps: ConcurrencyDeps,
  key: Uint8Array,
  value: Uint8Array,
  leaseId: bigint,
  extra: readonly RangeRequest[],
): Promise<{ response: TxnResponse; createRevision: number; existing: KeyValue | undefined }> {
  const response = await deps.kv.txn({
    compare: [{ result: CompareResult.EQUAL, target: CompareTarget.CREATE, key, createRevision: 0 }],
    success: [{ requestPut: { key, value, lease: leaseId } }, ...extra.map((r) => ({ requestRange: r }))],
    failure: [{ requestRange: { key } }, ...extra.map((r) => ({ requestRange: r }))],
  });
  if (response.succeeded) return { response, createRevision: response.header.revision, existing: undefined };
  const existing = rangeOf(response.responses[0]).kvs[0];
  // The key was there when the compare ran and the same txn read it: it cannot be missing.
  assert(existing !== undefined, 'concurrency: compare saw the key but the read did not');
  return { response, createRevision: existing.createRevision, existing };
}

/**
 * One Watch session over WatchApi as an internal client: buffers responses, acknowledges each
 * (so the hub never throttles it), and hands them out one at a time.
 */
export class WatchFeed {
  private readonly queue: WatchResponse[] = [];
  private readonly session: WatchSession;
  private wake: (() => void) | undefined;
  private closed = false;

  constructor(watch: WatchApi, requests: readonly WatchCreateRequest[]) {
    assert(requests.length > 0, 'WatchFeed: nothing to watch');
    this.session = watch.open((response) => this.receive(response));
    for (const createRequest of requests) this.session.handle({ createRequest });
    // Watchers starting at a past revision are caught up by the hub's periodic sync; an ack
    // runs that sync now, so a predecessor deleted a moment ago is seen at once.
    this.session.ack(0);
  }

  /** The next response; rejects with CANCELLED once `signal` aborts. */
  next(signal: AbortSignal | undefined): Promise<WatchResponse> {
    const ready = this.queue.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    assert(!this.closed, 'WatchFeed: next() after close()');
    return new Promise<WatchResponse>((resolve, reject) => {
      const onAbort = (): void => {
        this.wake = undefined;
        reject(etcdError('Canceled'));
      };
      if (signal?.aborted === true) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.queue.shift() as WatchResponse);
      };
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.session.close();
  }

  private receive(response: WatchResponse): void {
    if (this.closed) return;
    this.queue.push(response);
    // Acknowledge outside the hub's call stack: WatchApi's ack re-enters the hub to sync.
    void Promise.resolve().then(() => {
      if (!this.closed) this.session.ack(1);
    });
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/**
 * Waits until one of `keys` is deleted at a revision >= fromRevision, or its watcher is
 * canceled (compaction): either way the caller looks again. Rejects with CANCELLED on abort.
 */
export async function waitDelete(watch: WatchApi, keys: readonly Uint8Array[], fromRevision: number, signal: AbortSignal | undefined): Promise<void> {
  const feed = new WatchFeed(
    watch,
    keys.map((key) => ({ key, startRevision: fromRevision, filters: [FilterType.NOPUT] })),
  );
  try {
    for (;;) {
      const response = await feed.next(signal);
      if (response.canceled) return;
      if (response.events.some((e) => e.type === EventType.DELETE)) return;
    }
  } finally {
    feed.close();
  }
}

/**
 * concurrency.waitDeletes: until no key under `prefix` has a create revision <= maxCreateRevision,
 * wait for the deletion of the newest such key (the immediate predecessor: waiting on it rather
 * than on the owner avoids a thundering herd). With `ownKey`, the same read checks that our own
 * key still exists and the wait ends early when it goes: a lease that expired or was revoked
 * while waiting answers `vanished` instead of a lock on a key nobody holds (etcd 3.5+ checks
 * after the wait; its code notes the early exit as a TODO).
 */
export async function waitDeletes(
  deps: ConcurrencyDeps,
  prefix: Uint8Array,
  maxCreateRevision: number,
  signal: AbortSignal | undefined,
  ownKey?: Uint8Array,
): Promise<{ header: ResponseHeader; vanished: boolean }> {
  // A contender's key is created at revision >= 2 (the store starts at 1), so the bound is >= 1;
  // 0 would mean "no bound" to the range and wait on ourselves.
  assert(maxCreateRevision >= 1, () => `waitDeletes: bound ${maxCreateRevision} below 1`);
  for (;;) {
    if (signal?.aborted === true) throw etcdError('Canceled');
    const reads: RangeRequest[] = [byCreate(prefix, 'last', maxCreateRevision)];
    if (ownKey !== undefined) reads.push({ key: ownKey });
    const response = await deps.kv.txn({ success: reads.map((r) => ({ requestRange: r })) });
    if (ownKey !== undefined && rangeOf(response.responses[1]).kvs.length === 0) return { header: response.header, vanished: true };
    const newest = rangeOf(response.responses[0]).kvs[0];
    if (newest === undefined) return { header: response.header, vanished: false };
    assert(ownKey === undefined || !bytesEqual(newest.key, ownKey), 'waitDeletes: own key below its own revision');
    const watched = ownKey === undefined ? [newest.key] : [newest.key, ownKey];
    await waitDelete(deps.watch, watched, response.header.revision, signal);
  }
}

export interface LockResult {
  readonly header: ResponseHeader;
  /** The key that holds the lock; Unlock deletes it. */
  readonly key: Uint8Array;
}

/**
 * v3lock: Lock(name, lease) is concurrency.Mutex.Lock on a session over `lease` (a fresh 60 s
 * lease when 0); Unlock(key) deletes the key. A Lock whose call is cancelled or whose wait fails
 * deletes its key, as etcd's does, so an abandoned waiter never becomes the holder.
 */
export class LockApi {
  constructor(private readonly deps: ConcurrencyDeps) {}

  /** This service acting for a client: its KV steps are permission-checked as that user. */
  as(ai: AuthInfo): LockApi {
    return new LockApi({ ...this.deps, kv: this.deps.kv.as(ai) });
  }

  lock(name: Uint8Array, leaseId: bigint, signal?: AbortSignal): Promise<LockResult> {
    return asService(() => this.acquire(name, leaseId, signal));
  }

  unlock(key: Uint8Array): Promise<{ header: ResponseHeader }> {
    return asService(async () => ({ header: (await this.deps.kv.deleteRange({ key })).header }));
  }

  private async acquire(name: Uint8Array, requestedLease: bigint, signal: AbortSignal | undefined): Promise<LockResult> {
    const leaseId = await sessionLease(this.deps, requestedLease);
    const prefix = contenderPrefix(name);
    const key = contenderKey(prefix, leaseId);
    // One round trip for the uncontended case: create (or find) our key and read the owner.
    const { response, createRevision } = await createOrGet(this.deps, key, EMPTY, leaseId, [byCreate(prefix, 'first')]);
    const owner = rangeOf(response.responses[1]).kvs[0];
    if (owner === undefined || owner.createRevision === createRevision) return { header: response.header, key };
    let waited;
    try {
      waited = await waitDeletes(this.deps, prefix, createRevision - 1, signal, key);
    } catch (error) {
      // Release the key so the next waiter is not blocked behind an abandoned one.
      await this.deps.kv.deleteRange({ key }).catch(() => undefined);
      throw error;
    }
    if (waited.vanished) throw concurrencyError('SessionExpired');
    return { header: waited.header, key };
  }
}
