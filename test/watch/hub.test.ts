import { describe, expect, it } from 'vitest';
import { EventType } from '../../src/mvcc/index.js';
import { utf8 } from '../../src/util/index.js';
import {
  ErrEmptyWatcherRange,
  ErrWatcherDuplicateID,
  FilterType,
  INVALID_WATCH_ID,
  WatchHub,
  responseBytes,
  type WatchHubOptions,
  type WatchResponse,
} from '../../src/watch/index.js';
import { encodeWatchResponse } from '../../src/grpc/generated/etcdserverpb.js';
import type { KeyValue } from '../../src/mvcc/index.js';

const wireKv = (kv: KeyValue) => ({ ...kv, createRevision: BigInt(kv.createRevision), modRevision: BigInt(kv.modRevision), version: BigInt(kv.version) });
import { FakeStore, Recorder, digest } from './fake.js';

const b = (s: string): Uint8Array => utf8(s);

function setup(options: WatchHubOptions = {}): { store: FakeStore; hub: WatchHub; rec: Recorder; stream: ReturnType<WatchHub['openStream']> } {
  const store = new FakeStore();
  const hub = new WatchHub(store, options);
  store.onApply = (rev, events) => hub.onApply(rev, events);
  const rec = new Recorder();
  const stream = hub.openStream(rec.sink);
  return { store, hub, rec, stream };
}

describe('creating and canceling watchers', () => {
  it('watch from now: a created response, then one response per revision', () => {
    const { store, rec, stream } = setup();
    store.put('a');
    expect(stream.watch({ key: b('a') })).toBe(0);
    const [created] = rec.take();
    expect(created).toMatchObject({ watchId: 0, created: true, canceled: false, cancelReason: '', events: [] });
    expect(created?.header.revision).toBe(2);
    store.put('a');
    store.put('b');
    store.txn([{ put: 'a' }, { del: 'a' }]);
    const rs = rec.take();
    expect(rs.map((r) => r.header.revision)).toEqual([3, 5]);
    expect(rs.flatMap(digest)).toEqual(['0:+a@3', '0:+a@5', '0:-a@5']);
  });

  it('ids: per stream from 0, client-chosen ids, duplicates and empty ranges rejected as etcd does', () => {
    const { hub, rec, stream } = setup();
    expect(stream.watch({ key: b('a') })).toBe(0);
    expect(stream.watch({ key: b('a'), watchId: 2 })).toBe(2);
    expect(stream.watch({ key: b('a') })).toBe(1);
    expect(stream.watch({ key: b('a') })).toBe(3); // 2 is taken
    rec.take();
    expect(stream.watch({ key: b('a'), watchId: 2 })).toBe(INVALID_WATCH_ID);
    expect(stream.watch({ key: b('b'), rangeEnd: b('a') })).toBe(INVALID_WATCH_ID);
    expect(stream.watch({ key: b('b'), rangeEnd: b('b') })).toBe(INVALID_WATCH_ID);
    const [dup, empty1, empty2] = rec.take();
    expect(dup).toMatchObject({ watchId: -1, created: true, canceled: true, cancelReason: ErrWatcherDuplicateID });
    expect(ErrWatcherDuplicateID).toBe('mvcc: duplicate watch ID provided on the WatchStream');
    expect(empty1).toMatchObject({ watchId: -1, created: true, canceled: true, cancelReason: ErrEmptyWatcherRange });
    expect(empty2?.cancelReason).toBe('mvcc: watcher range is empty');
    expect(stream.watchIds()).toEqual([0, 2, 1, 3]);
    // Ids are per stream.
    expect(hub.openStream(() => {}).watch({ key: b('a') })).toBe(0);
  });

  it('cancel: a canceled response, then silence; unknown ids get no response', () => {
    const { store, rec, stream } = setup();
    stream.watch({ key: b('a') });
    rec.take();
    expect(stream.cancel(0)).toBe(true);
    expect(rec.take()).toMatchObject([{ watchId: 0, canceled: true, created: false }]);
    store.put('a');
    expect(stream.cancel(0)).toBe(false);
    expect(stream.cancel(42)).toBe(false);
    expect(rec.take()).toEqual([]);
  });

  it('handle() dispatches WatchRequest messages', () => {
    const { store, rec, stream } = setup();
    stream.handle({ createRequest: { key: b('a') } });
    store.put('a');
    stream.handle({ progressRequest: {} });
    stream.handle({ cancelRequest: { watchId: 0 } });
    expect(rec.take().map((r) => [r.watchId, r.created, r.canceled, r.events.length, r.header.revision])).toEqual([
      [0, true, false, 0, 1],
      [0, false, false, 1, 2],
      [-1, false, false, 0, 2],
      [0, false, true, 0, 2],
    ]);
  });

  it('a sink may cancel watchers or close its stream while events fan out', () => {
    const store = new FakeStore();
    const hub = new WatchHub(store);
    store.onApply = (rev, events) => hub.onApply(rev, events);
    const got: string[] = [];
    let closeOnEvent = false;
    const s1 = hub.openStream((r) => {
      got.push(...digest(r));
      if (r.events.length > 0 && r.watchId === 0) s1.cancel(1);
    });
    const s2 = hub.openStream((r) => {
      got.push(...digest(r).map((d) => `s2/${d}`));
      if (r.events.length > 0 && closeOnEvent) s2.close();
    });
    s1.watch({ key: b('a') });
    s1.watch({ key: b('a') });
    s2.watch({ key: b('a') });
    s2.watch({ key: b('a'), rangeEnd: b('b') });
    closeOnEvent = true;
    store.put('a');
    expect(got).toEqual(['0:+a@2', 's2/0:+a@2']);
    expect(hub.stats()).toEqual({ streams: 1, synced: 1, unsynced: 0 });
  });

  it('closing a stream removes its watchers', () => {
    const { store, hub, rec, stream } = setup();
    stream.watch({ key: b('a') });
    stream.watch({ key: b('a'), rangeEnd: b('z') });
    expect(hub.stats()).toEqual({ streams: 1, synced: 2, unsynced: 0 });
    stream.close();
    expect(hub.stats()).toEqual({ streams: 0, synced: 0, unsynced: 0 });
    rec.take();
    store.put('a');
    expect(rec.take()).toEqual([]);
  });
});

describe('key ranges', () => {
  it('single key, prefix, from-key and the whole keyspace', () => {
    const { store, rec, stream } = setup();
    stream.watch({ key: b('foo') }); // 0: exactly foo
    stream.watch({ key: b('foo'), rangeEnd: b('fop') }); // 1: prefix foo
    stream.watch({ key: b('foo'), rangeEnd: Uint8Array.of(0) }); // 2: >= foo
    stream.watch({ key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0) }); // 3: everything
    stream.watch({ rangeEnd: b('b') }); // 4: empty key is "\0": [\0, b)
    rec.take();
    for (const k of ['a', 'foo', 'foo/bar', 'fop', 'zzz']) store.put(k);
    expect(rec.events(0)).toEqual(['0:+foo@3']);
    expect(rec.events(1)).toEqual(['1:+foo@3', '1:+foo/bar@4']);
    expect(rec.events(2)).toEqual(['2:+foo@3', '2:+foo/bar@4', '2:+fop@5', '2:+zzz@6']);
    expect(rec.events(3)).toHaveLength(5);
    expect(rec.events(4)).toEqual(['4:+a@2']);
  });

  it('compares keys as bytes', () => {
    const { store, rec, stream } = setup();
    stream.watch({ key: Uint8Array.of(0x7f), rangeEnd: Uint8Array.of(0xff) });
    rec.take();
    store.put('\u007f');
    store.put('\u00e9'); // UTF-8 c3 a9: inside [7f, ff)
    store.put('~'); // 7e: outside
    expect(rec.events()).toHaveLength(2);
  });

  it('prefix watchers are indexed by prefix, including prefixes ending in 0xff, and agree with plain ranges', () => {
    let rev = 1;
    const hub = new WatchHub({ currentRevision: () => rev, compactRevision: () => -1, eventsBetween: () => [] });
    const rec = new Recorder();
    const s = hub.openStream(rec.sink);
    s.watch({ key: Uint8Array.of(0x61, 0xff), rangeEnd: Uint8Array.of(0x62) }); // 0: prefix "a\xff"
    s.watch({ key: Uint8Array.of(0x61, 0xff), rangeEnd: Uint8Array.of(0x62, 0x00) }); // 1: a plain range
    s.watch({ key: Uint8Array.of(0xff, 0xff), rangeEnd: Uint8Array.of(0) }); // 2: prefix of 0xff bytes is from-key
    s.watch({ key: b('a'), rangeEnd: b('b') }); // 3: prefix "a"
    rec.take();
    const keys = [[0x61], [0x61, 0xff], [0x61, 0xff, 0x00], [0x61, 0xfe, 0xff], [0x62], [0xff, 0xff, 0x01]];
    for (const k of keys) {
      rev++;
      const kv = { key: Uint8Array.from(k), value: b('v'), createRevision: rev, modRevision: rev, version: 1, lease: 0n };
      hub.onApply(rev, [{ type: EventType.PUT, kv }]);
    }
    const revsOf = (id: number) => rec.responses.filter((r) => r.watchId === id).map((r) => r.header.revision);
    expect(revsOf(0)).toEqual([3, 4]);
    expect(revsOf(1)).toEqual([3, 4, 6]);
    expect(revsOf(2)).toEqual([7]);
    expect(revsOf(3)).toEqual([2, 3, 4, 5]);
  });

  it('every event of a revision arrives in one response', () => {
    const { store, rec, stream } = setup();
    stream.watch({ key: b('k'), rangeEnd: b('l') });
    rec.take();
    store.txn([{ put: 'k1' }, { put: 'x' }, { put: 'k2' }, { put: 'k3' }]);
    const rs = rec.take();
    expect(rs).toHaveLength(1);
    expect(digest(rs[0]!)).toEqual(['0:+k1@2', '0:+k2@2', '0:+k3@2']);
  });
});

describe('filters and prev_kv', () => {
  it('NOPUT and NODELETE drop events; a batch filtered to nothing sends nothing', () => {
    const { store, rec, stream } = setup();
    stream.watch({ key: b('a'), filters: [FilterType.NOPUT] });
    stream.watch({ key: b('a'), filters: [FilterType.NODELETE] });
    stream.watch({ key: b('a'), filters: [FilterType.NOPUT, FilterType.NODELETE] });
    rec.take();
    store.put('a');
    store.del('a');
    store.put('a');
    expect(rec.events(0)).toEqual(['0:-a@3']);
    expect(rec.events(1)).toEqual(['1:+a@2', '1:+a@4']);
    expect(rec.responses.filter((r) => r.watchId === 2)).toEqual([]);
  });

  it('prev_kv only when asked; event objects are shared between watchers, never copied per watcher', () => {
    const { store, rec, stream } = setup();
    store.put('a', 'old');
    stream.watch({ key: b('a'), prevKv: true });
    stream.watch({ key: b('a'), prevKv: true });
    stream.watch({ key: b('a') });
    stream.watch({ key: b('a'), rangeEnd: b('b') });
    rec.take();
    const [put] = store.put('a', 'new');
    const rs = rec.take();
    expect(rs).toHaveLength(4);
    const evs = rs.map((r) => r.events[0]!);
    expect(evs[0]).toBe(put);
    expect(evs[1]).toBe(put);
    expect(evs[0]?.prevKv?.value).toEqual(b('old'));
    expect(evs[2]).not.toHaveProperty('prevKv');
    expect(evs[3]).toBe(evs[2]); // one stripped copy, shared
    expect(evs[2]?.kv).toBe(put?.kv);
    store.del('a');
    const dels = rec.take().map((r) => r.events[0]!);
    expect(dels[0]?.type).toBe(EventType.DELETE);
    expect(dels[0]?.prevKv?.value).toEqual(b('new'));
    expect(dels[2]?.prevKv).toBeUndefined();
  });
});

describe('history: replay, future starts, compaction', () => {
  it('a watcher from a past revision is caught up from history, then follows live', () => {
    const { store, hub, rec, stream } = setup();
    store.put('a'); // 2
    store.put('b'); // 3
    store.put('a'); // 4
    expect(stream.watch({ key: b('a'), startRevision: 3 })).toBe(0);
    expect(hub.stats().unsynced).toBe(1);
    store.put('a'); // 5: the unsynced watcher gets nothing live
    expect(rec.take().map((r) => r.created)).toEqual([true]);
    expect(hub.syncWatchers()).toBe(0);
    expect(rec.events()).toEqual(['0:+a@4', '0:+a@5']);
    expect(rec.take()[0]?.header.revision).toBe(5);
    store.put('a');
    expect(rec.events()).toEqual(['0:+a@6']);
  });

  it('catch-up runs in bounded batches of revisions', () => {
    const { store, hub, rec, stream } = setup({ maxRevisionsPerSync: 3 });
    for (let i = 0; i < 8; i++) store.put('a'); // revs 2..9
    stream.watch({ key: b('a'), startRevision: 2 });
    rec.take();
    store.eventsBetweenCalls = [];
    expect(hub.syncWatchers()).toBe(1);
    expect(hub.syncWatchers()).toBe(1);
    expect(hub.syncWatchers()).toBe(0);
    expect(store.eventsBetweenCalls).toEqual([
      [2, 4],
      [5, 7],
      [8, 9],
    ]);
    const rs = rec.take();
    expect(rs.map((r) => r.header.revision)).toEqual([4, 7, 9]);
    expect(rs.flatMap(digest)).toEqual(['0:+a@2', '0:+a@3', '0:+a@4', '0:+a@5', '0:+a@6', '0:+a@7', '0:+a@8', '0:+a@9']);
  });

  it('watchers lagging by more than one round take turns', () => {
    const { store, hub, rec, stream } = setup({ maxRevisionsPerSync: 2, maxWatchersPerSync: 1 });
    for (let i = 0; i < 6; i++) store.put('a'); // 2..7
    stream.watch({ key: b('a'), startRevision: 2 });
    stream.watch({ key: b('a'), startRevision: 2 });
    rec.take();
    const order: number[] = [];
    while (hub.syncWatchers() > 0) order.push(...rec.take().map((r) => r.watchId));
    order.push(...rec.take().map((r) => r.watchId));
    expect(order).toEqual([0, 1, 0, 1, 0, 1]);
    expect(rec.events()).toEqual([]);
  });

  it('a start revision in the future skips events before it', () => {
    const { store, hub, rec, stream } = setup();
    stream.watch({ key: b('a'), startRevision: 4 });
    expect(hub.stats().synced).toBe(1);
    rec.take();
    store.put('a'); // 2
    store.put('a'); // 3
    store.put('a'); // 4
    expect(rec.events()).toEqual(['0:+a@4']);
  });

  it('a watcher whose start was compacted gets compact_revision and is canceled; at the compaction revision it is not', () => {
    const { store, hub, rec, stream } = setup();
    for (let i = 0; i < 5; i++) store.put('a'); // 2..6
    store.compact(4);
    stream.watch({ key: b('a'), startRevision: 3 });
    stream.watch({ key: b('a'), startRevision: 4 });
    expect(rec.take().map((r) => r.watchId)).toEqual([0, 1]);
    hub.syncWatchers();
    const rs = rec.take();
    expect(rs[0]).toMatchObject({ watchId: 0, canceled: true, compactRevision: 4, events: [] });
    expect(rs.slice(1).flatMap(digest)).toEqual(['1:+a@4', '1:+a@5', '1:+a@6']);
    expect(stream.watchIds()).toEqual([1]);
    expect(hub.stats()).toMatchObject({ synced: 1, unsynced: 0 });
  });

  it('restore moves synced watchers back to catch up from the new history, without duplicates', () => {
    const { store, hub, rec, stream } = setup();
    stream.watch({ key: b('a') });
    store.put('a'); // 2, delivered
    rec.take();
    // The store is replaced by a newer snapshot: revisions 3 and 4 happened elsewhere.
    store.onApply = undefined;
    store.put('a'); // 3
    store.put('b'); // 4
    store.compact(3);
    hub.restore();
    expect(hub.stats()).toMatchObject({ synced: 0, unsynced: 1 });
    hub.syncWatchers();
    expect(rec.events()).toEqual(['0:+a@3']);
    expect(hub.revision()).toBe(4);
  });
});

describe('slow consumers', () => {
  it('a full stream drops its watchers to unsynced; after acks they catch up without loss', () => {
    const { store, hub, rec, stream } = setup({ streamCapacity: 2 });
    stream.watch({ key: b('a') });
    stream.watch({ key: b('b') });
    expect(stream.pending()).toBe(2); // two created responses, not acknowledged: full
    store.put('a'); // 2
    store.put('b'); // 3
    store.put('a'); // 4
    expect(hub.stats()).toMatchObject({ synced: 0, unsynced: 2 });
    expect(hub.syncWatchers()).toBe(2); // still full: nothing read, nothing sent
    expect(rec.responses).toHaveLength(2);
    stream.ack(2);
    expect(hub.syncWatchers()).toBe(0);
    expect(rec.events()).toEqual(['0:+a@2', '0:+a@4', '1:+b@3']);
    stream.ack(2);
    store.put('a'); // 5: synced again, delivered live
    expect(rec.events(0)).toEqual(['0:+a@2', '0:+a@4', '0:+a@5']);
  });

  it('one slow stream does not hold up another', () => {
    const { store, hub, rec, stream } = setup({ streamCapacity: 1 });
    const fast = new Recorder();
    const fastStream = hub.openStream(fast.sink);
    stream.watch({ key: b('a') }); // slow: never acks
    fastStream.watch({ key: b('a') });
    fastStream.ack(1);
    for (let i = 0; i < 3; i++) {
      store.put('a');
      fastStream.ack(1);
    }
    expect(fast.events()).toEqual(['0:+a@2', '0:+a@3', '0:+a@4']);
    expect(rec.events()).toEqual([]);
  });
});

describe('progress', () => {
  it('on request: a header-only response with the revision once every watcher of the stream is synced', () => {
    const { store, hub, rec, stream } = setup();
    store.put('a');
    stream.requestProgress(); // no watchers: answered at once
    stream.watch({ key: b('a') });
    stream.watch({ key: b('a'), startRevision: 1 }); // unsynced
    rec.take();
    stream.requestProgress();
    stream.requestProgress(); // already deferred: ignored
    expect(rec.take()).toEqual([]);
    hub.syncWatchers();
    const rs = rec.take();
    expect(rs.map((r) => [r.watchId, r.events.length])).toEqual([
      [1, 1],
      [-1, 0],
    ]);
    expect(rs[1]?.header.revision).toBe(2);
  });

  it('periodic: only for progress_notify watchers that are synced and got no events in the interval', () => {
    const { store, hub, rec, stream } = setup({ progressIntervalMs: 1000 });
    stream.watch({ key: b('a'), progressNotify: true });
    stream.watch({ key: b('b'), progressNotify: true });
    stream.watch({ key: b('c') });
    rec.take();
    hub.tick(0);
    hub.tick(999);
    expect(rec.take()).toEqual([]);
    store.put('a');
    rec.take();
    hub.tick(1000); // a had an event: skipped this interval
    const rs = rec.take();
    expect(rs.map((r) => [r.watchId, r.events.length, r.header.revision])).toEqual([[1, 0, 2]]);
    hub.tick(2000);
    expect(rec.take().map((r) => r.watchId)).toEqual([0, 1]);
  });
});

describe('fragmentation', () => {
  function bigTxn(store: FakeStore, n: number, bytes: number): void {
    store.txn(Array.from({ length: n }, (_, i) => ({ put: `k${String(i).padStart(3, '0')}`, value: 'x'.repeat(bytes) })));
  }

  it('splits a large response for watchers that asked, every fragment under the limit but the last flagged off', () => {
    const limit = 1000;
    const { store, rec, stream } = setup({ maxRequestBytes: limit, fragmentOverheadBytes: 0 });
    stream.watch({ key: b('k'), rangeEnd: b('l'), fragment: true });
    stream.watch({ key: b('k'), rangeEnd: b('l') });
    rec.take();
    bigTxn(store, 20, 200);
    const frags = rec.responses.filter((r) => r.watchId === 0);
    const whole = rec.responses.filter((r) => r.watchId === 1);
    expect(whole).toHaveLength(1);
    expect(whole[0]?.fragment).toBe(false);
    expect(responseBytes(whole[0]!)).toBeGreaterThan(limit);
    expect(frags.length).toBeGreaterThan(3);
    expect(frags.map((r) => r.fragment)).toEqual([...frags.slice(1).map(() => true), false]);
    for (const f of frags) expect(responseBytes({ ...f, fragment: true })).toBeLessThan(limit);
    expect(frags.flatMap((r) => r.events)).toEqual(whole[0]?.events);
    expect(new Set(frags.map((r) => r.header.revision))).toEqual(new Set([2]));
  });

  it('a single event larger than the limit goes alone; small responses are never split', () => {
    const { store, rec, stream } = setup({ maxRequestBytes: 500, fragmentOverheadBytes: 0 });
    stream.watch({ key: b('k'), rangeEnd: b('l'), fragment: true });
    rec.take();
    bigTxn(store, 3, 600);
    expect(rec.responses.map((r) => [r.events.length, r.fragment])).toEqual([
      [1, true],
      [1, true],
      [1, false],
    ]);
    rec.take();
    bigTxn(store, 2, 10);
    expect(rec.responses.map((r) => [r.events.length, r.fragment])).toEqual([[2, false]]);
  });

  it('the size estimate equals the real encoding with the largest header ids, and bounds it otherwise', () => {
    const { store, rec, stream } = setup();
    stream.watch({ key: b('a'), rangeEnd: b('z'), prevKv: true });
    stream.watch({ key: b('a'), rangeEnd: b('z'), watchId: -7 });
    store.put('a', 'xyz');
    store.txn([{ put: 'a', value: 'x'.repeat(300) }, { put: 'b' }, { del: 'a' }]);
    stream.cancel(-7);
    const max = (1n << 64n) - 1n;
    const encoded = (r: WatchResponse, id: bigint): number =>
      encodeWatchResponse({
        ...r,
        header: { clusterId: id, memberId: id, raftTerm: id, revision: BigInt(r.header.revision) },
        watchId: BigInt(r.watchId),
        compactRevision: BigInt(r.compactRevision),
        events: r.events.map((e) => ({ ...e, kv: wireKv(e.kv), prevKv: e.prevKv === undefined ? undefined : wireKv(e.prevKv) })),
      }).length;
    expect(rec.responses.length).toBe(7); // 2 created, 2 x 2 event responses, 1 canceled
    for (const r of rec.responses) {
      expect(responseBytes(r)).toBe(encoded(r, max));
      expect(responseBytes(r)).toBeGreaterThanOrEqual(encoded(r, 1n));
    }
  });
});
