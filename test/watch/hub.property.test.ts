/**
 * Random writes, watchers, consumer speeds, catch-up rounds, progress requests and compactions:
 * every watcher receives exactly the events of its range from its start revision, in revision
 * order, with no gap or duplicate, each revision in one (possibly fragmented) response; a watcher
 * canceled for compaction received a gap-free prefix; a progress response at revision R comes
 * only after every watcher of its stream has received everything up to R.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventType } from '../../src/mvcc/index.js';
import { fromUtf8, utf8 } from '../../src/util/index.js';
import { FilterType, WatchHub, type WatchCreateRequest, type WatchEvent, type WatchResponse } from '../../src/watch/index.js';
import { FakeStore, type Op as WriteOp } from './fake.js';

const KEYS = ['a', 'ab', 'b', 'ba', 'c'];

type RangeKind = 'key' | 'prefix' | 'span' | 'fromKey' | 'all';
type Op =
  | { op: 'write'; writes: { key: number; del: boolean }[] }
  | { op: 'watch'; stream: number; key: number; range: RangeKind; start: number; noPut: boolean; noDelete: boolean; prevKv: boolean; fragment: boolean }
  | { op: 'cancel'; stream: number; pick: number }
  | { op: 'ack'; stream: number; count: number }
  | { op: 'sync' }
  | { op: 'progress'; stream: number }
  | { op: 'compact'; back: number };

const STREAMS = 3;
const streamArb = fc.integer({ min: 0, max: STREAMS - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ op: fc.constant('write' as const), writes: fc.array(fc.record({ key: fc.integer({ min: 0, max: KEYS.length - 1 }), del: fc.boolean() }), { minLength: 1, maxLength: 3 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('watch' as const),
      stream: streamArb,
      key: fc.integer({ min: 0, max: KEYS.length - 1 }),
      range: fc.constantFrom<RangeKind>('key', 'prefix', 'span', 'fromKey', 'all'),
      start: fc.integer({ min: -1, max: 12 }),
      noPut: fc.boolean(),
      noDelete: fc.boolean(),
      prevKv: fc.boolean(),
      fragment: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('cancel' as const), stream: streamArb, pick: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('ack' as const), stream: streamArb, count: fc.integer({ min: 0, max: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('sync' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('progress' as const), stream: streamArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('compact' as const), back: fc.integer({ min: 0, max: 15 }) }) },
);

interface Tracked {
  id: number;
  req: WatchCreateRequest;
  /** First revision it should see. */
  fromRev: number;
  received: WatchEvent[];
  /** Revisions of completed (non-fragment-terminated) responses, to check revisions never split. */
  revisionsDone: Set<number>;
  open: WatchEvent[];
  canceled: 'no' | 'client' | 'compacted';
  compactRevision: number;
}

function prefixEnd(key: Uint8Array): Uint8Array {
  const end = key.slice();
  end[end.length - 1] = (end[end.length - 1] as number) + 1;
  return end;
}

function createRequest(o: Extract<Op, { op: 'watch' }>, rev: number): WatchCreateRequest {
  const key = utf8(KEYS[o.key] as string);
  const filters = [...(o.noPut ? [FilterType.NOPUT] : []), ...(o.noDelete ? [FilterType.NODELETE] : [])];
  const start = o.start < 0 ? 0 : Math.max(1, rev - o.start); // mostly in the past, sometimes now
  const req: WatchCreateRequest = { key, startRevision: start, filters, prevKv: o.prevKv, fragment: o.fragment };
  if (o.range === 'prefix') req.rangeEnd = prefixEnd(key);
  if (o.range === 'span') req.rangeEnd = utf8((KEYS[o.key] as string) < 'bb' ? 'bb' : 'd'); // a plain [a, b)
  if (o.range === 'fromKey') req.rangeEnd = Uint8Array.of(0);
  if (o.range === 'all') {
    req.key = Uint8Array.of(0);
    req.rangeEnd = Uint8Array.of(0);
  }
  return req;
}

function matches(req: WatchCreateRequest, ev: WatchEvent): boolean {
  const key = fromUtf8(ev.kv.key);
  const k = fromUtf8(req.key as Uint8Array);
  if (req.rangeEnd === undefined) return key === k;
  if (req.rangeEnd.length === 1 && req.rangeEnd[0] === 0) return key >= k;
  return key >= k && key < fromUtf8(req.rangeEnd);
}

function expected(store: FakeStore, t: Tracked, uptoRev = Number.MAX_SAFE_INTEGER): WatchEvent[] {
  const filters = t.req.filters ?? [];
  return store.applied
    .filter((a) => a.rev >= t.fromRev && a.rev <= uptoRev)
    .flatMap((a) => a.events)
    .filter((ev) => matches(t.req, ev))
    .filter((ev) => !(ev.type === EventType.PUT ? filters.includes(FilterType.NOPUT) : filters.includes(FilterType.NODELETE)));
}

const digest = (evs: readonly WatchEvent[]): string[] => evs.map((e) => `${e.type}:${fromUtf8(e.kv.key)}@${e.kv.modRevision}/${e.prevKv === undefined ? '' : e.prevKv.modRevision}`);

function withPrev(t: Tracked, evs: WatchEvent[]): WatchEvent[] {
  return t.req.prevKv === true ? evs : evs.map((e) => ({ type: e.type, kv: e.kv }));
}

/** Across all runs: proof that the interesting paths were exercised. */
const seen = { events: 0, fragments: 0, compacted: 0, progress: 0, slow: 0, catchUps: 0 };

class World {
  readonly store = new FakeStore();
  readonly hub: WatchHub;
  readonly streams: ReturnType<WatchHub['openStream']>[] = [];
  readonly tracked: Map<number, Tracked>[] = [];
  private pendingCreate: Tracked | undefined;

  constructor(capacity: number, maxRevisionsPerSync: number) {
    this.hub = new WatchHub(this.store, { streamCapacity: capacity, maxRevisionsPerSync, maxRequestBytes: 120, fragmentOverheadBytes: 0 });
    this.store.onApply = (rev, events) => this.hub.onApply(rev, events);
    for (let i = 0; i < STREAMS; i++) {
      const mine = new Map<number, Tracked>();
      this.tracked.push(mine);
      this.streams.push(this.hub.openStream((r) => this.receive(mine, r)));
    }
  }

  private receive(mine: Map<number, Tracked>, r: WatchResponse): void {
    if (r.created) {
      const t = this.pendingCreate as Tracked;
      if (r.watchId < 0 || mine.has(r.watchId)) expect.fail(`bad created response ${r.watchId}`);
      t.id = r.watchId;
      mine.set(r.watchId, t);
      return;
    }
    if (r.watchId === -1) {
      seen.progress++;
      return this.checkProgress(mine, r.header.revision);
    }
    const t = mine.get(r.watchId);
    if (t === undefined) return expect.fail(`response for unknown watch ${r.watchId}`);
    if (t.canceled !== 'no') expect.fail(`response for canceled watch ${r.watchId}`);
    if (r.canceled) {
      t.canceled = r.compactRevision !== 0 ? 'compacted' : 'client';
      if (t.canceled === 'compacted') seen.compacted++;
      t.compactRevision = r.compactRevision;
      return;
    }
    for (const ev of r.events) if (ev.kv.modRevision > r.header.revision) expect.fail(`event at ${ev.kv.modRevision} in a response at ${r.header.revision}`);
    if (r.events.length === 0) return; // periodic progress (not used here)
    t.open.push(...r.events);
    seen.events += r.events.length;
    if (r.fragment) {
      seen.fragments++;
      return;
    }
    const revs = new Set(t.open.map((e) => e.kv.modRevision));
    for (const rev of revs) if (t.revisionsDone.has(rev)) expect.fail(`revision ${rev} split over responses`);
    for (const rev of revs) t.revisionsDone.add(rev);
    t.received.push(...t.open.splice(0));
  }

  private checkProgress(mine: Map<number, Tracked>, rev: number): void {
    if (rev !== this.hub.revision()) expect.fail(`progress at ${rev}, hub at ${this.hub.revision()}`);
    for (const t of mine.values()) {
      if (t.canceled !== 'no') continue;
      const got = digest(t.received);
      const want = digest(withPrev(t, expected(this.store, t, rev)));
      // expect() only on a mismatch: it is slow enough to dominate this test otherwise.
      if (got.join() !== want.join()) expect(got, `watch ${t.id} behind a progress at ${rev}`).toEqual(want);
    }
  }

  step(o: Op): void {
    switch (o.op) {
      case 'write':
        if (this.hub.stats().unsynced > 0) seen.slow++;
        this.store.txn(o.writes.map((w): WriteOp => (w.del ? { del: KEYS[w.key] as string } : { put: KEYS[w.key] as string })));
        return;
      case 'watch': {
        const req = createRequest(o, this.store.currentRevision());
        const fromRev = req.startRevision === 0 ? this.hub.revision() + 1 : (req.startRevision as number);
        this.pendingCreate = { id: -1, req, fromRev, received: [], revisionsDone: new Set(), open: [], canceled: 'no', compactRevision: 0 };
        if ((this.streams[o.stream]?.watch(req) ?? -1) < 0) expect.fail('watch refused');
        return;
      }
      case 'cancel': {
        const live = [...(this.tracked[o.stream] as Map<number, Tracked>).values()].filter((t) => t.canceled === 'no');
        if (live.length > 0) this.streams[o.stream]?.cancel((live[o.pick % live.length] as Tracked).id);
        return;
      }
      case 'ack': {
        const s = this.streams[o.stream]!;
        s.ack(Math.min(o.count, s.pending()));
        return;
      }
      case 'sync':
        if (this.hub.stats().unsynced > 0) seen.catchUps++;
        this.hub.syncWatchers();
        return;
      case 'progress':
        this.streams[o.stream]?.requestProgress();
        return;
      case 'compact':
        this.store.compact(Math.max(this.store.compactRevision(), this.store.currentRevision() - o.back));
        return;
    }
  }

  drain(): void {
    for (let round = 0; round < 10_000; round++) {
      for (const s of this.streams) s.ack(s.pending());
      if (this.hub.syncWatchers() === 0) break;
    }
    for (const s of this.streams) s.ack(s.pending());
    expect(this.hub.stats().unsynced).toBe(0);
  }

  verify(): void {
    for (const mine of this.tracked) {
      for (const t of mine.values()) {
        if (t.open.length !== 0) expect.fail(`watch ${t.id} ends inside a fragmented response`);
        const want = digest(withPrev(t, expected(this.store, t)));
        const got = digest(t.received);
        if (t.canceled === 'no') {
          if (got.join() !== want.join()) expect(got, `watch ${t.id} from ${t.fromRev}`).toEqual(want);
        } else {
          if (got.join() !== want.slice(0, got.length).join()) expect(got).toEqual(want.slice(0, got.length));
          if (t.canceled === 'compacted') {
            const lastRev = t.received.at(-1)?.kv.modRevision ?? t.fromRev - 1;
            expect(t.compactRevision).toBeGreaterThan(lastRev);
            expect(t.fromRev).toBeLessThan(t.compactRevision);
          }
        }
      }
    }
  }
}

describe('watch hub property', () => {
  it('every watcher gets exactly its events, in order, under random consumer speeds and compaction', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.array(opArb, { minLength: 40, maxLength: 120 }), (capacity, maxRevs, ops) => {
        const w = new World(capacity, maxRevs);
        for (const o of ops) w.step(o);
        w.drain();
        w.verify();
      }),
      { numRuns: 150 },
    );
    expect(seen.events).toBeGreaterThan(1000);
    for (const [what, n] of Object.entries(seen)) expect(n, what).toBeGreaterThan(20);
  });
});
