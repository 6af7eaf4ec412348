/**
 * etcd's Election service (v3election), transport-free: concurrency.Election run against this
 * member's own KvApi, WatchApi and LeaseApi, on etcd's keys (`<name>/<lease id as %x>`; the
 * contender with the lowest create revision leads), so clients of real etcd's concurrency
 * package and of this service take part in the same elections. Errors as etcd's server answers
 * them (UNKNOWN with the concurrency package's text; see lock.ts).
 */
import type { AuthInfo } from '../auth/index.js';
import type { KeyValue, ResponseHeader } from '../mvcc/index.js';
import { CompareResult, CompareTarget, EventType } from '../mvcc/index.js';
import { FilterType } from '../watch/index.js';
import { AssertionError, bytesEqual } from '../util/index.js';
import type { ConcurrencyDeps } from './lock.js';
import {
  WatchFeed,
  asService,
  byCreate,
  concurrencyError,
  contenderKey,
  contenderPrefix,
  createOrGet,
  prefixRangeEnd,
  sessionLease,
  waitDeletes,
} from './lock.js';

/** v3electionpb.LeaderKey: what a campaign winner holds to proclaim and resign. */
export interface LeaderKey {
  readonly name: Uint8Array;
  readonly key: Uint8Array;
  /** The key's create revision: proof that it is still the same incarnation of the key. */
  readonly rev: number;
  readonly lease: bigint;
}

export interface LeaderResult {
  readonly header: ResponseHeader;
  readonly kv: KeyValue;
}

export class ElectionApi {
  constructor(private readonly deps: ConcurrencyDeps) {}

  /** This service acting for a client: its KV steps are permission-checked as that user. */
  as(ai: AuthInfo): ElectionApi {
    return new ElectionApi({ ...this.deps, kv: this.deps.kv.as(ai) });
  }

  /**
   * Joins the election with `value` and resolves once this contender leads. A campaign on a
   * lease that already campaigns resumes it (proclaiming the new value if it differs). A cancelled
   * campaign resigns, so an abandoned contender never becomes leader.
   */
  campaign(name: Uint8Array, leaseId: bigint, value: Uint8Array, signal?: AbortSignal): Promise<{ header: ResponseHeader; leader: LeaderKey }> {
    return asService(async () => {
      const lease = await sessionLease(this.deps, leaseId);
      const prefix = contenderPrefix(name);
      const key = contenderKey(prefix, lease);
      const { response, createRevision, existing } = await createOrGet(this.deps, key, value, lease, []);
      const leader: LeaderKey = { name, key, rev: createRevision, lease };
      if (existing !== undefined && !bytesEqual(existing.value, value)) {
        try {
          await this.proclaimTxn(leader, value);
        } catch (error) {
          await this.resignTxn(leader).catch(() => undefined);
          throw error;
        }
      }
      let waited;
      try {
        waited = await waitDeletes(this.deps, prefix, createRevision - 1, signal, key);
      } catch (error) {
        if (signal?.aborted === true) await this.resignTxn(leader).catch(() => undefined);
        throw error;
      }
      // etcd would answer success here with a key that is gone; nobody can lead on it.
      if (waited.vanished) throw concurrencyError('ElectionNotLeader');
      return { header: response.header, leader };
    });
  }

  /** Sets the leader's value, if `leader` still leads (same key, same create revision). */
  proclaim(leader: LeaderKey | undefined, value: Uint8Array): Promise<{ header: ResponseHeader }> {
    return asService(async () => {
      if (leader === undefined) throw concurrencyError('MissingLeaderKey');
      // etcd's server opens a session on the named lease: lease 0 means a fresh one.
      const lease = await sessionLease(this.deps, leader.lease);
      return { header: await this.proclaimTxn({ ...leader, lease }, value) };
    });
  }

  /** Deletes the leader's key if it is still that incarnation; a stale leader key is a no-op, as in etcd. */
  resign(leader: LeaderKey | undefined): Promise<{ header: ResponseHeader }> {
    return asService(async () => {
      if (leader === undefined) throw concurrencyError('MissingLeaderKey');
      return { header: await this.resignTxn(leader) };
    });
  }

  /** The current leader's key-value: the oldest contender. */
  leader(name: Uint8Array): Promise<LeaderResult> {
    return asService(async () => {
      const response = await this.deps.kv.range(byCreate(contenderPrefix(name), 'first'));
      const kv = response.kvs[0];
      if (kv === undefined) throw concurrencyError('ElectionNoLeader');
      return { header: response.header, kv };
    });
  }

  /**
   * Streams the leader's key-value each time leadership or the leader's value changes, until
   * `signal` aborts. As etcd's observer, an error reading or watching ends the stream quietly.
   */
  async observe(name: Uint8Array, send: (result: LeaderResult) => Promise<void>, signal: AbortSignal): Promise<void> {
    const prefix = contenderPrefix(name);
    try {
      while (!signal.aborted) {
        const response = await this.deps.kv.range(byCreate(prefix, 'first'));
        const current = response.kvs[0] === undefined ? await this.firstPut(prefix, response.header.revision, signal) : { header: response.header, kv: response.kvs[0] };
        if (current === undefined) continue;
        await send(current);
        await this.followUntilDeleted(current, send, signal);
      }
    } catch (error) {
      // A broken invariant is a bug, never a reason to end a stream quietly.
      if (error instanceof AssertionError) throw error;
      // Cancelled, the client gone (send failed), or a read or watch failed: etcd's Observe
      // returns nil when its observer goroutine gives up, so the stream ends OK.
    }
  }

  /** No leader yet: the first key put under the prefix from `revision` on (undefined: watch lost, look again). */
  private async firstPut(prefix: Uint8Array, revision: number, signal: AbortSignal): Promise<LeaderResult | undefined> {
    const feed = new WatchFeed(this.deps.watch, [{ key: prefix, rangeEnd: prefixRangeEnd(prefix), startRevision: revision, filters: [FilterType.NODELETE] }]);
    try {
      for (;;) {
        const response = await feed.next(signal);
        if (response.canceled) return undefined;
        const put = response.events.find((e) => e.type === EventType.PUT);
        // The header's revision is the put's own: the response may carry later revisions too.
        if (put !== undefined) return { header: { ...response.header, revision: put.kv.modRevision }, kv: put.kv };
      }
    } finally {
      feed.close();
    }
  }

  /** Sends every new value of the leader's key until the key is deleted (or the watch is lost). */
  private async followUntilDeleted(current: LeaderResult, send: (result: LeaderResult) => Promise<void>, signal: AbortSignal): Promise<void> {
    const feed = new WatchFeed(this.deps.watch, [{ key: current.kv.key, startRevision: current.header.revision + 1 }]);
    try {
      for (;;) {
        const response = await feed.next(signal);
        if (response.canceled) return;
        for (const event of response.events) {
          if (event.type === EventType.DELETE) return;
          await send({ header: response.header, kv: event.kv });
        }
      }
    } finally {
      feed.close();
    }
  }

  /** Proclaim's txn: put the value if the key is still the incarnation created at `rev`. */
  private async proclaimTxn(leader: LeaderKey, value: Uint8Array): Promise<ResponseHeader> {
    const response = await this.deps.kv.txn({
      compare: [{ result: CompareResult.EQUAL, target: CompareTarget.CREATE, key: leader.key, createRevision: leader.rev }],
      success: [{ requestPut: { key: leader.key, value, lease: leader.lease } }],
    });
    if (!response.succeeded) throw concurrencyError('ElectionNotLeader');
    return response.header;
  }

  /** Resign's txn: delete the key if it is still the incarnation created at `rev`. */
  private async resignTxn(leader: LeaderKey): Promise<ResponseHeader> {
    const response = await this.deps.kv.txn({
      compare: [{ result: CompareResult.EQUAL, target: CompareTarget.CREATE, key: leader.key, createRevision: leader.rev }],
      success: [{ requestDeleteRange: { key: leader.key } }],
    });
    return response.header;
  }
}
