/**
 * WatchHistory over the real store: mvcc keeps every revision in its backend's "key" bucket, keyed
 * by revision, so the events of [from, to] are one ordered scan, as etcd's syncWatchers does.
 * prev_kv is the key read at the revision before the change, as etcd's watch stream fetches it
 * (and, as there, absent when that revision was compacted away).
 */
import { isEtcdError } from '../api/errors.js';
import { assert } from '../util/index.js';
import type { Backend } from '../mvcc/backend.js';
import { decodeKeyValue, type KeyValue } from '../mvcc/kv.js';
import { bytesToRev, isTombstoneKey, revToBytes, revision } from '../mvcc/revision.js';
import type { MvccStore } from '../mvcc/store.js';
import { EventType, type MvccEvent } from '../mvcc/types.js';
import type { WatchEvent, WatchHistory } from './types.js';
import type { WatchHub } from './hub.js';

export class MvccWatchHistory implements WatchHistory {
  constructor(
    private readonly store: MvccStore,
    private readonly backend: Backend,
  ) {}

  currentRevision(): number {
    return this.store.rev();
  }

  compactRevision(): number {
    return this.store.compactRevision();
  }

  eventsBetween(fromRev: number, toRev: number): WatchEvent[] {
    assert(fromRev >= 1 && fromRev <= toRev, () => `bad history range [${fromRev}, ${toRev}]`);
    assert(toRev <= this.store.rev(), () => `history read beyond revision ${this.store.rev()}`);
    const out: WatchEvent[] = [];
    const start = revToBytes(revision(fromRev, 0));
    const end = revToBytes(revision(toRev + 1, 0));
    this.backend.forEach(
      'key',
      (revKey, value) => {
        const rev = bytesToRev(revKey);
        const stored = decodeKeyValue(value);
        const ev: MvccEvent = isTombstoneKey(revKey)
          ? { type: EventType.DELETE, kv: { ...stored, modRevision: rev.main } }
          : { type: EventType.PUT, kv: stored };
        assert(ev.kv.modRevision === rev.main, 'backend value disagrees with its revision key');
        out.push(this.withPrevKv(ev));
      },
      start,
      end,
    );
    return out;
  }

  /**
   * One applied change with its prev_kv, for WatchHub.onApply: call it from MvccStore.onChanges,
   * which reports events after the store moved to their revision.
   */
  withPrevKv(ev: MvccEvent): WatchEvent {
    // A put of version 1 created the key: there is nothing before it to read.
    const created = ev.type === EventType.PUT && ev.kv.version === 1;
    const prev = created ? undefined : this.prevKv(ev.kv.key, ev.kv.modRevision);
    return prev === undefined ? { type: ev.type, kv: ev.kv } : { type: ev.type, kv: ev.kv, prevKv: prev };
  }

  private prevKv(key: Uint8Array, rev: number): KeyValue | undefined {
    if (rev - 1 < 1) return undefined;
    try {
      return this.store.range({ key, revision: rev - 1 }).kvs[0];
    } catch (e) {
      if (isEtcdError(e, 'Compacted')) return undefined;
      throw e;
    }
  }
}

const NO_EVENTS: WatchEvent[] = [];

/**
 * Wires a store's change feed into a hub: every revision, in order, with prev_kv. With `wanted`
 * (the hub's hasSyncedWatchers), a revision nobody watches is passed with no events, so the
 * prev_kv reads (one backend read per overwrite) are skipped.
 */
export function feedHubFromStore(
  store: MvccStore,
  history: MvccWatchHistory,
  onApply: (rev: number, events: WatchEvent[]) => void,
  wanted?: () => boolean,
): void {
  store.onChanges((rev, events) => {
    if (wanted !== undefined && !wanted()) onApply(rev, NO_EVENTS);
    else onApply(rev, events.map((ev) => history.withPrevKv(ev)));
  });
}

/**
 * Wires a store's change feed into a hub, reading prev_kv only where a synced prev_kv watcher
 * receives the event (and nothing at all while no watcher is synced). What watchers receive is
 * exactly what feedHubFromStore gives them.
 */
export function connectHubToStore(store: MvccStore, history: MvccWatchHistory, hub: WatchHub): void {
  const fill = (ev: WatchEvent): WatchEvent => history.withPrevKv(ev);
  store.onChanges((rev, events) => hub.onApply(rev, hub.hasSyncedWatchers() ? events : NO_EVENTS, fill));
}
