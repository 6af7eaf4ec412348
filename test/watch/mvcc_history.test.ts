import { describe, expect, it } from 'vitest';
import { EventType, MemoryBackend, MvccStore } from '../../src/mvcc/index.js';
import { fromUtf8, utf8 } from '../../src/util/index.js';
import { MvccWatchHistory, WatchHub, connectHubToStore, feedHubFromStore, type WatchEvent, type WatchResponse } from '../../src/watch/index.js';
import { Recorder } from './fake.js';

const b = (s: string): Uint8Array => utf8(s);
const show = (evs: readonly WatchEvent[]): string[] =>
  evs.map(
    (e) =>
      `${e.type === EventType.PUT ? 'PUT' : 'DEL'} ${fromUtf8(e.kv.key)}=${fromUtf8(e.kv.value)}@${e.kv.modRevision}` +
      (e.prevKv === undefined ? '' : ` prev=${fromUtf8(e.prevKv.value)}@${e.prevKv.modRevision}`),
  );

function setup(): { store: MvccStore; history: MvccWatchHistory; hub: WatchHub; live: WatchEvent[] } {
  const backend = new MemoryBackend();
  const store = MvccStore.open(backend);
  const history = new MvccWatchHistory(store, backend);
  const hub = new WatchHub(history);
  const live: WatchEvent[] = [];
  feedHubFromStore(store, history, (rev, events) => {
    live.push(...events);
    hub.onApply(rev, events);
  });
  return { store, history, hub, live };
}

function writeSome(store: MvccStore): void {
  store.put({ key: b('a'), value: b('1') }); // 2
  store.put({ key: b('b'), value: b('1') }); // 3
  store.put({ key: b('a'), value: b('2') }); // 4
  store.deleteRange({ key: b('a') }); // 5
  store.txn({ success: [{ requestPut: { key: b('c'), value: b('1') } }, { requestPut: { key: b('b'), value: b('2') } }] }); // 6
  store.deleteKeys([b('b'), b('c')]); // 7: a lease revoke
}

describe('MvccWatchHistory over the real store', () => {
  it('replays exactly what the live feed delivered, prev_kv included', () => {
    const { store, history, live } = setup();
    writeSome(store);
    expect(show(live)).toEqual([
      'PUT a=1@2',
      'PUT b=1@3',
      'PUT a=2@4 prev=1@2',
      'DEL a=@5 prev=2@4',
      'PUT c=1@6',
      'PUT b=2@6 prev=1@3',
      'DEL b=@7 prev=2@6',
      'DEL c=@7 prev=1@6',
    ]);
    expect(show(history.eventsBetween(2, 7))).toEqual(show(live));
    expect(show(history.eventsBetween(4, 6))).toEqual(show(live.slice(2, 6)));
  });

  it('drives a hub end to end: replay from the past, then live, then compaction', () => {
    const { store, hub } = setup();
    writeSome(store);
    const rec = new Recorder();
    const stream = hub.openStream(rec.sink);
    stream.watch({ key: b('a'), rangeEnd: b('z'), startRevision: 3, prevKv: true });
    hub.syncWatchers();
    store.put({ key: b('a'), value: b('3') }); // 8
    expect(rec.events(0)).toEqual(['0:+b@3', '0:+a@4', '0:-a@5', '0:+c@6', '0:+b@6', '0:-b@7', '0:-c@7', '0:+a@8']);
    store.compact({ revision: 6 });
    stream.watch({ key: b('a'), rangeEnd: b('z'), startRevision: 5 });
    stream.watch({ key: b('a'), rangeEnd: b('z'), startRevision: 7 });
    hub.syncWatchers();
    const byId = (id: number) => rec.responses.filter((r) => r.watchId === id && !r.created);
    expect(byId(1)).toMatchObject([{ canceled: true, compactRevision: 6 }]);
    expect(rec.events(2)).toEqual(['2:-b@7', '2:-c@7', '2:+a@8']);
  });

  it('prev_kv is absent when the revision before was compacted, as in etcd', () => {
    const { store, history } = setup();
    writeSome(store);
    store.put({ key: b('a'), value: b('x') }); // 8
    store.put({ key: b('a'), value: b('y') }); // 9
    store.compact({ revision: 9 });
    expect(show(history.eventsBetween(9, 9))).toEqual(['PUT a=y@9']);
  });

  it('keeps a delete at exactly the compaction revision for a watcher resuming there (etcd-io/etcd#18089)', () => {
    const backend = new MemoryBackend();
    const store = MvccStore.open(backend);
    writeSome(store);
    store.compact({ revision: 5 }); // 5 is the delete of a, whose puts (2, 4) are compacted
    const history = new MvccWatchHistory(store, backend);
    expect(show(history.eventsBetween(5, 7))).toEqual(['DEL a=@5', 'PUT c=1@6', 'PUT b=2@6 prev=1@3', 'DEL b=@7 prev=2@6', 'DEL c=@7 prev=1@6']);
    // Reopening rebuilds the index from the backend: the kept tombstone survives and hashes alike.
    const reopened = MvccStore.open(backend);
    expect(reopened.hashKV().hash).toBe(store.hashKV().hash);
    expect(show(new MvccWatchHistory(reopened, backend).eventsBetween(5, 5))).toEqual(['DEL a=@5']);
    expect(reopened.range({ key: b('a'), revision: 5 }).count).toBe(0);
    // The next compaction past it drops the tombstone, as before.
    store.compact({ revision: 6 });
    expect(show(history.eventsBetween(6, 6))).toEqual(['PUT c=1@6', 'PUT b=2@6']);
  });

  it('connectHubToStore delivers what the eager feed does, reading prev_kv only for prev_kv watchers', () => {
    const run = (lazy: boolean, withPrevWatcher: boolean): { out: WatchResponse[]; prevReads: number } => {
      const backend = new MemoryBackend();
      const store = MvccStore.open(backend);
      const history = new MvccWatchHistory(store, backend);
      let prevReads = 0;
      const counted = history.withPrevKv.bind(history);
      history.withPrevKv = (ev) => {
        prevReads++;
        return counted(ev);
      };
      const hub = new WatchHub(history);
      if (lazy) connectHubToStore(store, history, hub);
      else feedHubFromStore(store, history, (rev, events) => hub.onApply(rev, events));
      const rec = new Recorder();
      const stream = hub.openStream(rec.sink);
      store.put({ key: b('a'), value: b('0') }); // 2: nobody watches yet
      stream.watch({ key: b('a'), rangeEnd: b('z') });
      stream.watch({ key: b('b') });
      if (withPrevWatcher) stream.watch({ key: b('a'), prevKv: true });
      writeSome(store);
      return { out: rec.responses, prevReads };
    };
    for (const withPrevWatcher of [false, true]) {
      const eager = run(false, withPrevWatcher);
      const lazy = run(true, withPrevWatcher);
      expect(lazy.out).toEqual(eager.out);
      // Eager reads every change's prev_kv (9 events, the unwatched first put too); lazy only for
      // the 3 events of key a that the prev_kv watcher receives, and none without it.
      expect(eager.prevReads).toBe(9);
      expect(lazy.prevReads).toBe(withPrevWatcher ? 3 : 0);
    }
    const full = run(true, true).out.flatMap((r) => r.events).filter((e) => e.prevKv !== undefined);
    expect(show(full)).toEqual(['PUT a=1@3 prev=0@2', 'PUT a=2@5 prev=1@3', 'DEL a=@6 prev=2@5']);
  });
});
