/**
 * etcd's watchable store and its gRPC watch streams (mvcc/watchable_store.go, v3rpc/watch.go) as
 * one pure module. Nothing runs by itself: the applier calls onApply() after every revision, the
 * server calls syncWatchers() and tick(nowMs) from its timers, the transport calls ack() as
 * responses leave.
 *
 * Watchers live in one of two groups, as in etcd:
 * - synced: has seen every event up to the hub's revision; receives each new revision's events
 *   from onApply() directly, all events of one revision in one response;
 * - unsynced: behind (started in the past, restored from a snapshot, or too slow); syncWatchers()
 *   catches it up from the store's history in bounded batches, then moves it to synced.
 * A watcher whose stream has no room (more than `streamCapacity` responses not yet acknowledged)
 * is not sent anything: it drops to unsynced at the revision it missed and is caught up from the
 * history once the stream drains. Nothing is ever skipped: if the history it needs has been
 * compacted away it gets a response with compactRevision set and is canceled.
 */
import { assert, compareBytes } from '../util/index.js';
import type { ResponseHeader } from '../mvcc/types.js';
import { EventType } from '../mvcc/types.js';
import { eventFieldBytes, responseBaseBytes } from './size.js';
import {
  FilterType,
  type WatchCreateRequest,
  type WatchEvent,
  type WatchHistory,
  type WatchRequest,
  type WatchResponse,
  type WatchSink,
} from './types.js';

/** clientv3.InvalidWatchID. */
export const INVALID_WATCH_ID = -1;
/** etcd's chanBufLen: responses a stream may have in flight before its watchers count as slow. */
export const DEFAULT_STREAM_CAPACITY = 128;
/** etcd's maxWatchersPerSync. */
export const DEFAULT_MAX_WATCHERS_PER_SYNC = 512;
/** etcd's watchBatchMaxRevs: revisions read from history per catch-up round. */
export const DEFAULT_MAX_REVISIONS_PER_SYNC = 1000;
/** etcd's default progressReportInterval. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 10 * 60 * 1000;
/** etcd's --max-request-bytes default. */
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
/** etcd adds grpcOverheadBytes to max-request-bytes for the watch fragment limit. */
export const GRPC_OVERHEAD_BYTES = 512 * 1024;

export const ErrEmptyWatcherRange = 'mvcc: watcher range is empty';
export const ErrWatcherDuplicateID = 'mvcc: duplicate watch ID provided on the WatchStream';

export interface WatchHubOptions {
  streamCapacity?: number;
  maxWatchersPerSync?: number;
  maxRevisionsPerSync?: number;
  progressIntervalMs?: number;
  /** The server's --max-request-bytes; fragments stay under this plus the overhead below. */
  maxRequestBytes?: number;
  /** Default GRPC_OVERHEAD_BYTES, as etcd. */
  fragmentOverheadBytes?: number;
}

interface Stream {
  readonly id: number;
  readonly sink: WatchSink;
  readonly watchers: Map<number, Watcher>;
  nextWatchId: number;
  pendingResponses: number;
  /** A progress request waits for every watcher of the stream to be synced (etcd 3.5). */
  progressDeferred: boolean;
  closed: boolean;
}

interface Watcher {
  readonly id: number;
  readonly stream: Stream;
  readonly key: Uint8Array;
  /** undefined: the single key; empty: every key >= key; otherwise [key, end). */
  readonly end: Uint8Array | undefined;
  readonly keyText: string;
  /** How the synced group indexes it: by exact key, by prefix, or in the scanned list. */
  readonly kind: 'key' | 'prefix' | 'range';
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly prevKv: boolean;
  readonly progressNotify: boolean;
  readonly fragment: boolean;
  /** The next revision this watcher needs. */
  minRev: number;
  synced: boolean;
  /** etcd's sws.progress[id]: no events were sent since the last periodic progress. */
  progressDue: boolean;
}

export interface WatchHubStats {
  streams: number;
  synced: number;
  unsynced: number;
}

const SMALLEST_KEY = Uint8Array.of(0);

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function header(revision: number): ResponseHeader {
  return { clusterId: 0n, memberId: 0n, revision, raftTerm: 0 };
}

function response(watchId: number, revision: number): WatchResponse {
  return { header: header(revision), watchId, created: false, canceled: false, compactRevision: 0, cancelReason: '', fragment: false, events: [] };
}

/** etcd's GetPrefixRangeEnd: the end of the range of keys starting with `key`; "\0" if none. */
function prefixEnd(key: Uint8Array): Uint8Array {
  for (let i = key.length - 1; i >= 0; i--) {
    if ((key[i] as number) < 0xff) {
      const end = key.slice(0, i + 1);
      end[i] = (end[i] as number) + 1;
      return end;
    }
  }
  return Uint8Array.of(0);
}

function inRange(w: Watcher, key: Uint8Array): boolean {
  if (w.end === undefined) return compareBytes(key, w.key) === 0;
  if (compareBytes(key, w.key) < 0) return false;
  return w.end.length === 0 || compareBytes(key, w.end) < 0;
}

export class WatchHub {
  private rev: number;
  private nextStreamId = 1;
  private readonly streams = new Map<number, Stream>();
  /**
   * The synced group, indexed so that fan-out does not scan every watcher: single-key watchers by
   * key, prefix watchers by prefix (an event looks up each prefix length in use), and only other
   * ranges (from-key, arbitrary [a, b)) in a list that is scanned. Keys are latin1 strings of the
   * bytes, so string prefixes are byte prefixes.
   */
  private readonly syncedByKey = new Map<string, Set<Watcher>>();
  private readonly syncedByPrefix = new Map<string, Set<Watcher>>();
  /** Prefix length -> number of distinct prefixes of that length in syncedByPrefix. */
  private readonly prefixLengths = new Map<number, number>();
  private readonly syncedRanges = new Set<Watcher>();
  private syncedCount = 0;
  private readonly unsynced = new Set<Watcher>();
  /** One prevKv-less copy per event, shared by every watcher that did not ask for prev_kv. */
  private readonly withoutPrev = new WeakMap<WatchEvent, WatchEvent>();
  /** Events of the current onApply with prev_kv filled in, for the watchers that asked for it. */
  private readonly withPrevKv = new WeakMap<WatchEvent, WatchEvent>();
  /** Set only while onApply fans out events that came without prev_kv. */
  private fillPrevKv: ((ev: WatchEvent) => WatchEvent) | undefined;
  private nextProgressMs: number | undefined;
  readonly streamCapacity: number;
  readonly maxWatchersPerSync: number;
  readonly maxRevisionsPerSync: number;
  readonly progressIntervalMs: number;
  readonly fragmentLimitBytes: number;

  constructor(
    private readonly history: WatchHistory,
    options: WatchHubOptions = {},
  ) {
    this.rev = history.currentRevision();
    this.streamCapacity = options.streamCapacity ?? DEFAULT_STREAM_CAPACITY;
    this.maxWatchersPerSync = options.maxWatchersPerSync ?? DEFAULT_MAX_WATCHERS_PER_SYNC;
    this.maxRevisionsPerSync = options.maxRevisionsPerSync ?? DEFAULT_MAX_REVISIONS_PER_SYNC;
    this.progressIntervalMs = options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
    this.fragmentLimitBytes = (options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES) + (options.fragmentOverheadBytes ?? GRPC_OVERHEAD_BYTES);
    assert(this.streamCapacity >= 1, 'streamCapacity must be at least 1');
    assert(this.maxWatchersPerSync >= 1 && this.maxRevisionsPerSync >= 1, 'sync batch limits must be positive');
    assert(this.progressIntervalMs > 0, 'progressIntervalMs must be positive');
  }

  /** The last revision whose events were handed out (the revision progress responses report). */
  revision(): number {
    return this.rev;
  }

  /**
   * Whether onApply would hand events to anyone. When false, the caller may pass no events (and
   * skip reading each change's prev_kv): the hub only moves its revision.
   */
  hasSyncedWatchers(): boolean {
    return this.syncedCount > 0;
  }

  stats(): WatchHubStats {
    return { streams: this.streams.size, synced: this.syncedCount, unsynced: this.unsynced.size };
  }

  openStream(sink: WatchSink): WatchStream {
    const s: Stream = { id: this.nextStreamId++, sink, watchers: new Map(), nextWatchId: 0, pendingResponses: 0, progressDeferred: false, closed: false };
    this.streams.set(s.id, s);
    return new WatchStream(this, s);
  }

  // ---------------------------------------------------------------- the applier's side

  /**
   * Every event of one revision, in sub-revision order, right after the store applied it (the
   * history must already contain it). Must be called for every revision, in order. `events` may
   * be empty when hasSyncedWatchers() is false: no watcher is there to see them.
   *
   * With `fillPrevKv`, the events come without prev_kv and the hub asks for it only for events a
   * prev_kv watcher receives, once per event (as etcd's watch stream reads prev_kv only for
   * watchers that asked): the store's read at the revision before costs more than the fan-out.
   */
  onApply(revision: number, events: readonly WatchEvent[], fillPrevKv?: (ev: WatchEvent) => WatchEvent): void {
    assert(revision === this.rev + 1, () => `watch hub: revision ${revision} after ${this.rev}`);
    assert(revision <= this.history.currentRevision(), 'watch hub: notified before the store applied the revision');
    this.rev = revision;
    if (this.syncedCount === 0) return;
    this.fillPrevKv = fillPrevKv;
    try {
      this.fanOut(revision, events);
    } finally {
      this.fillPrevKv = undefined;
    }
  }

  private fanOut(revision: number, events: readonly WatchEvent[]): void {
    const batches = new Map<Watcher, WatchEvent[]>();
    for (const ev of events) {
      assert(ev.kv.modRevision === revision, 'watch hub: event of another revision');
      const add = (w: Watcher): void => {
        const b = batches.get(w);
        if (b === undefined) batches.set(w, [ev]);
        else b.push(ev);
      };
      const keyText = latin1(ev.kv.key);
      this.syncedByKey.get(keyText)?.forEach(add);
      for (const len of this.prefixLengths.keys()) {
        if (len <= keyText.length) this.syncedByPrefix.get(keyText.slice(0, len))?.forEach(add);
      }
      for (const w of this.syncedRanges) if (inRange(w, ev.kv.key)) add(w);
    }
    for (const [w, evs] of batches) {
      if (!this.isLive(w)) continue; // canceled by a sink earlier in this loop
      if (w.minRev > revision) continue; // started in the future
      if (!this.deliver(w, evs, revision)) {
        // Slow consumer: catch it up from history later rather than drop or queue unboundedly.
        this.moveToUnsynced(w);
        w.minRev = revision;
      } else {
        w.minRev = revision + 1;
      }
    }
  }

  /**
   * After the store was replaced by a snapshot: every watcher is caught up again from the new
   * history (etcd marks them restore and moves them to unsynced).
   */
  restore(): void {
    const rev = this.history.currentRevision();
    assert(rev >= this.rev, () => `watch hub: restore goes back from ${this.rev} to ${rev}`);
    for (const s of this.streams.values()) {
      for (const w of s.watchers.values()) {
        if (!w.synced) continue;
        this.moveToUnsynced(w);
        // It has seen everything up to the old revision: resume after it, not from a stale
        // minRev that compaction may have passed.
        w.minRev = Math.max(w.minRev, this.rev + 1);
      }
    }
    this.rev = rev;
  }

  /**
   * One catch-up round (etcd's syncWatchers, every 100 ms): up to maxWatchersPerSync unsynced
   * watchers whose streams have room get the events of at most maxRevisionsPerSync revisions.
   * Returns how many watchers are still unsynced.
   */
  syncWatchers(): number {
    const chosen = this.chooseUnsynced();
    if (chosen.length > 0) this.catchUp(chosen);
    this.flushDeferredProgress();
    return this.unsynced.size;
  }

  /** Periodic progress notifications for watchers that asked for them (etcd's progress ticker). */
  tick(nowMs: number): void {
    if (this.nextProgressMs === undefined) this.nextProgressMs = nowMs + this.progressIntervalMs;
    if (nowMs < this.nextProgressMs) return;
    this.nextProgressMs = nowMs + this.progressIntervalMs;
    for (const s of this.streams.values()) {
      for (const w of s.watchers.values()) {
        if (!w.progressNotify) continue;
        if (w.progressDue && w.synced && !this.isFull(s)) this.send(s, response(w.id, this.rev));
        w.progressDue = true;
      }
    }
  }

  // ---------------------------------------------------------------- stream operations

  /** @internal WatchStream.watch */
  createWatcher(s: Stream, req: WatchCreateRequest): number {
    assert(!s.closed, 'watch on a closed stream');
    const key = req.key !== undefined && req.key.length > 0 ? req.key.slice() : SMALLEST_KEY;
    const rawEnd = req.rangeEnd;
    const end = rawEnd === undefined || rawEnd.length === 0 ? undefined : rawEnd.length === 1 && rawEnd[0] === 0 ? new Uint8Array(0) : rawEnd.slice();
    const created = response(INVALID_WATCH_ID, this.rev);
    created.created = true;
    const error = this.validateCreate(s, key, end, req.watchId ?? 0);
    if (error !== undefined) {
      created.canceled = true;
      created.cancelReason = error;
      this.send(s, created);
      return INVALID_WATCH_ID;
    }
    const w = this.newWatcher(s, key, end, req);
    created.watchId = w.id;
    this.send(s, created);
    if (w.synced) this.addSynced(w);
    else this.unsynced.add(w);
    return w.id;
  }

  /** @internal WatchStream.cancel */
  cancelWatcher(s: Stream, watchId: number): boolean {
    const w = s.watchers.get(watchId);
    if (w === undefined) return false; // etcd answers nothing for an unknown id
    this.removeWatcher(w);
    const r = response(watchId, this.rev);
    r.canceled = true;
    this.send(s, r);
    return true;
  }

  /** @internal WatchStream.requestProgress */
  requestProgress(s: Stream): void {
    if (s.closed || s.progressDeferred) return;
    if (this.allSynced(s)) this.send(s, response(INVALID_WATCH_ID, this.rev));
    else s.progressDeferred = true;
  }

  /** @internal WatchStream.ack */
  ack(s: Stream, count: number): void {
    assert(count >= 0 && count <= s.pendingResponses, () => `ack of ${count} with ${s.pendingResponses} pending`);
    s.pendingResponses -= count;
  }

  /** @internal WatchStream.close */
  closeStream(s: Stream): void {
    for (const w of [...s.watchers.values()]) this.removeWatcher(w);
    s.closed = true;
    this.streams.delete(s.id);
  }

  // ---------------------------------------------------------------- internals

  private validateCreate(s: Stream, key: Uint8Array, end: Uint8Array | undefined, watchId: number): string | undefined {
    if (end !== undefined && end.length > 0 && compareBytes(key, end) >= 0) return ErrEmptyWatcherRange;
    if (watchId !== 0 && s.watchers.has(watchId)) return ErrWatcherDuplicateID;
    return undefined;
  }

  private newWatcher(s: Stream, key: Uint8Array, end: Uint8Array | undefined, req: WatchCreateRequest): Watcher {
    let id = req.watchId ?? 0;
    if (id === 0) {
      while (s.watchers.has(s.nextWatchId)) s.nextWatchId++;
      id = s.nextWatchId++;
    }
    const filters = req.filters ?? [];
    const startRev = req.startRevision ?? 0;
    // etcd: no start revision means the next one; a start beyond the current revision is synced
    // at once and simply ignores events before it.
    const from = startRev === 0 ? this.rev + 1 : Math.max(startRev, 1);
    const w: Watcher = {
      id,
      stream: s,
      key,
      end,
      keyText: latin1(key),
      kind: end === undefined ? 'key' : end.length > 0 && compareBytes(end, prefixEnd(key)) === 0 ? 'prefix' : 'range',
      noPut: filters.includes(FilterType.NOPUT),
      noDelete: filters.includes(FilterType.NODELETE),
      prevKv: req.prevKv === true,
      progressNotify: req.progressNotify === true,
      fragment: req.fragment === true,
      minRev: from,
      synced: from > this.rev,
      progressDue: true,
    };
    s.watchers.set(id, w);
    return w;
  }

  private addSynced(w: Watcher): void {
    assert(!this.unsynced.has(w), 'watcher in both groups');
    w.synced = true;
    this.syncedCount++;
    if (w.kind === 'range') {
      this.syncedRanges.add(w);
      return;
    }
    const index = w.kind === 'key' ? this.syncedByKey : this.syncedByPrefix;
    let set = index.get(w.keyText);
    if (set === undefined) {
      index.set(w.keyText, (set = new Set()));
      if (w.kind === 'prefix') this.prefixLengths.set(w.keyText.length, (this.prefixLengths.get(w.keyText.length) ?? 0) + 1);
    }
    set.add(w);
  }

  private removeSynced(w: Watcher): void {
    assert(w.synced, 'removing an unsynced watcher from the synced group');
    w.synced = false;
    this.syncedCount--;
    if (w.kind === 'range') {
      assert(this.syncedRanges.delete(w), 'synced range watcher missing');
      return;
    }
    const index = w.kind === 'key' ? this.syncedByKey : this.syncedByPrefix;
    const set = index.get(w.keyText);
    assert(set !== undefined && set.delete(w), 'synced watcher missing from its index');
    if (set.size > 0) return;
    index.delete(w.keyText);
    if (w.kind === 'prefix') {
      const n = this.prefixLengths.get(w.keyText.length) ?? 0;
      assert(n > 0, 'prefix length count underflow');
      if (n === 1) this.prefixLengths.delete(w.keyText.length);
      else this.prefixLengths.set(w.keyText.length, n - 1);
    }
  }

  private moveToUnsynced(w: Watcher): void {
    this.removeSynced(w);
    this.unsynced.add(w);
  }

  private removeWatcher(w: Watcher): void {
    if (w.synced) this.removeSynced(w);
    else this.unsynced.delete(w);
    w.stream.watchers.delete(w.id);
  }

  /** Sinks may cancel watchers or close streams re-entrantly, while a fan-out loop is running. */
  private isLive(w: Watcher): boolean {
    return !w.stream.closed && w.stream.watchers.get(w.id) === w;
  }

  private isFull(s: Stream): boolean {
    return s.pendingResponses >= this.streamCapacity;
  }

  private allSynced(s: Stream): boolean {
    for (const w of s.watchers.values()) if (!w.synced) return false;
    return true;
  }

  private send(s: Stream, r: WatchResponse): void {
    assert(!s.closed, 'send on a closed stream');
    s.pendingResponses++;
    s.sink(r);
  }

  /** The watchers to catch up this round; those already compacted away are canceled here. */
  private chooseUnsynced(): Watcher[] {
    const compactRev = this.history.compactRevision();
    const chosen: Watcher[] = [];
    for (const w of [...this.unsynced]) {
      if (chosen.length >= this.maxWatchersPerSync) break;
      if (this.isFull(w.stream)) continue; // still draining: try again next round
      if (w.minRev > this.rev) {
        this.unsynced.delete(w);
        this.addSynced(w);
        continue;
      }
      if (w.minRev < compactRev) {
        // etcd's compaction notice carries only compact_revision: its header revision is 0.
        const r = response(w.id, 0);
        r.compactRevision = compactRev;
        r.canceled = true;
        this.removeWatcher(w);
        this.send(w.stream, r);
        continue;
      }
      chosen.push(w);
    }
    return chosen;
  }

  private catchUp(chosen: readonly Watcher[]): void {
    const fromRev = Math.min(...chosen.map((w) => w.minRev));
    const toRev = Math.min(this.rev, fromRev + this.maxRevisionsPerSync - 1);
    assert(fromRev <= toRev, 'catch-up of an empty revision range');
    const events = this.history.eventsBetween(fromRev, toRev);
    let last = fromRev;
    for (const ev of events) {
      assert(ev.kv.modRevision >= last && ev.kv.modRevision <= toRev, () => `history event at ${ev.kv.modRevision} outside [${fromRev}, ${toRev}] or out of order`);
      last = ev.kv.modRevision;
    }
    for (const w of chosen) {
      if (!this.isLive(w) || w.minRev > toRev) continue;
      const evs = events.filter((ev) => ev.kv.modRevision >= w.minRev && inRange(w, ev.kv.key));
      // The header says how far this response brings the watcher, which is less than the current
      // revision while more batches follow (etcd reports the current revision here).
      if (evs.length > 0 && !this.deliver(w, evs, toRev)) continue;
      w.minRev = toRev + 1;
      this.unsynced.delete(w);
      if (w.minRev > this.rev) this.addSynced(w);
      else this.unsynced.add(w); // to the back: rounds take turns when more than a round's worth lag
    }
  }

  private flushDeferredProgress(): void {
    for (const s of this.streams.values()) {
      if (s.progressDeferred && this.allSynced(s)) {
        s.progressDeferred = false;
        this.send(s, response(INVALID_WATCH_ID, this.rev));
      }
    }
  }

  /**
   * Sends a watcher its events (filters and prev_kv applied); false if its stream is full and
   * nothing was sent. A batch its filters empty entirely counts as delivered, as in etcd.
   */
  private deliver(w: Watcher, events: readonly WatchEvent[], revision: number): boolean {
    const out: WatchEvent[] = [];
    for (const ev of events) {
      if (ev.type === EventType.PUT ? w.noPut : w.noDelete) continue;
      out.push(w.prevKv ? this.withPrev(ev) : this.stripPrev(ev));
    }
    if (out.length === 0) return true;
    if (this.isFull(w.stream)) return false;
    w.progressDue = false;
    const r = response(w.id, revision);
    r.events = out;
    if (w.fragment) this.sendFragments(w.stream, r);
    else this.send(w.stream, r);
    return true;
  }

  /** The event with its prev_kv: as given, or filled once (onApply's fillPrevKv) and shared. */
  private withPrev(ev: WatchEvent): WatchEvent {
    const fill = this.fillPrevKv;
    if (fill === undefined) return ev;
    let full = this.withPrevKv.get(ev);
    if (full === undefined) {
      assert(ev.prevKv === undefined, 'watch hub: an event to fill already has its prev_kv');
      full = fill(ev);
      this.withPrevKv.set(ev, full);
    }
    return full;
  }

  private stripPrev(ev: WatchEvent): WatchEvent {
    if (ev.prevKv === undefined) return ev;
    let bare = this.withoutPrev.get(ev);
    if (bare === undefined) {
      bare = { type: ev.type, kv: ev.kv };
      this.withoutPrev.set(ev, bare);
    }
    return bare;
  }

  /** etcd's sendFragments: greedy, every fragment under the limit unless one event alone is larger. */
  private sendFragments(s: Stream, r: WatchResponse): void {
    const sizes = r.events.map(eventFieldBytes);
    const base = responseBaseBytes({ ...r, fragment: true });
    const total = sizes.reduce((a, b) => a + b, base);
    if (total < this.fragmentLimitBytes || r.events.length < 2) {
      this.send(s, r);
      return;
    }
    let start = 0;
    while (start < r.events.length) {
      let size = base + (sizes[start] as number);
      let end = start + 1;
      while (end < r.events.length && size + (sizes[end] as number) < this.fragmentLimitBytes) size += sizes[end++] as number;
      const part: WatchResponse = { ...r, events: r.events.slice(start, end), fragment: end < r.events.length };
      this.send(s, part);
      start = end;
    }
  }
}

/** One client Watch stream: many watchers multiplexed over one sink. */
export class WatchStream {
  constructor(
    private readonly hub: WatchHub,
    private readonly state: Stream,
  ) {}

  get id(): number {
    return this.state.id;
  }

  /** Responses delivered to the sink and not yet acknowledged. */
  pending(): number {
    return this.state.pendingResponses;
  }

  /** The ids of this stream's live watchers, in creation order. */
  watchIds(): number[] {
    return [...this.state.watchers.keys()];
  }

  /** Dispatches a WatchRequest as the gRPC server receives it. */
  handle(req: WatchRequest): void {
    if ('createRequest' in req) this.watch(req.createRequest);
    else if ('cancelRequest' in req) this.cancel(req.cancelRequest.watchId);
    else this.requestProgress();
  }

  /** Creates a watcher; the created response goes to the sink first. Returns its id, or -1. */
  watch(req: WatchCreateRequest): number {
    return this.hub.createWatcher(this.state, req);
  }

  /** Cancels a watcher (a canceled response follows); false, and no response, if unknown. */
  cancel(watchId: number): boolean {
    return this.hub.cancelWatcher(this.state, watchId);
  }

  /** A header-only response (watchId -1) once every watcher of the stream is synced. */
  requestProgress(): void {
    this.hub.requestProgress(this.state);
  }

  /** The transport wrote `count` responses out: room for more. */
  ack(count = 1): void {
    this.hub.ack(this.state, count);
  }

  close(): void {
    this.hub.closeStream(this.state);
  }
}
