import { fromUtf8, utf8 } from '../src/util/index.js';
import type { NodeId, SeededRand } from '../src/util/index.js';
import type { KeyValue } from '../src/mvcc/index.js';
import type { WatchResponse as ApiWatchResponse } from '../src/watch/index.js';
import type { WatchSession as ApiSession } from '../src/api/index.js';
import type { HistoryRecorder, Value } from '../histories/index.js';
import type { SimCluster } from './cluster.js';
import type { KvMachine } from './kv-machine.js';
import type { SimLoop } from './loop.js';
import type { MemberServices, ServiceRegistry } from './services.js';
import type { ApplyResult } from '../src/apply/index.js';

export interface WatchWorkloadOptions {
  readonly watchers: number;
  readonly keys: number;
  /** A session lasts between these before the watcher disconnects on purpose. */
  readonly sessionMsMin: number;
  readonly sessionMsMax: number;
  /** Mean interval of compactions (0: none). */
  readonly compactEveryMs: number;
  /** Compactions keep this many recent revisions. */
  readonly compactKeepRevisions: number;
}

/** Watcher processes are numbered from here, clear of the KV clients' numbers. */
export const WATCHER_PROCESS_BASE = 100_000;

const LIVENESS_POLL_MS = 50;

interface Watcher {
  readonly process: number;
  readonly key: string;
  readonly rangeEnd: string | undefined;
  readonly prevKv: boolean;
  /** Where the next session starts: 0 until the first session learnt a revision. */
  nextStart: number;
  session: { target: NodeId; services: MemberServices; api: ApiSession; responses: Value[]; ended: boolean } | undefined;
}

/**
 * Simulated watchers next to the KV clients: each opens a WatchApi session on a random member,
 * records every response (histories/watch.ts format), disconnects on purpose or because the
 * member crashed, and resumes from its last revision + 1 on another member, as clientv3 does. A
 * compactor compacts the store now and then, so some resumptions meet a compacted revision and
 * must be told so (then resume from the compact revision). checker/watch.ts judges the result
 * against the KV clients' committed writes.
 */
export class WatchWorkload {
  private readonly watchers: Watcher[] = [];
  private stopped = false;
  private compactedTo = 0;
  readonly compactions: string[] = [];
  sessions = 0;
  /** Sessions the server ended with a compaction notice. */
  compactNotices = 0;

  constructor(
    private readonly loop: SimLoop,
    private readonly cluster: SimCluster<ApplyResult, KvMachine>,
    private readonly services: ServiceRegistry,
    private readonly recorder: HistoryRecorder,
    private readonly rand: SeededRand,
    private readonly options: WatchWorkloadOptions,
  ) {}

  start(): void {
    for (let w = 0; w < this.options.watchers; w++) {
      // Half watch one key, half the whole k* prefix (every key the KV clients write).
      const single = this.rand.chance(0.5);
      const watcher: Watcher = {
        process: WATCHER_PROCESS_BASE + w,
        key: single ? `k${this.rand.int(this.options.keys)}` : 'k',
        rangeEnd: single ? undefined : 'l',
        prevKv: this.rand.chance(0.5),
        nextStart: 0,
        session: undefined,
      };
      this.watchers.push(watcher);
      this.loop.after(this.rand.between(0, 200), 'watch-open', undefined, () => this.open(watcher));
    }
    this.loop.after(LIVENESS_POLL_MS, 'watch-poll', undefined, () => this.poll());
    if (this.options.compactEveryMs > 0) this.scheduleCompaction();
  }

  /** Ends every session normally (the run is over) so each watch op completes. */
  stop(): void {
    this.stopped = true;
    for (const w of this.watchers) this.end(w, 'ok');
  }

  private open(w: Watcher): void {
    if (this.stopped || w.session !== undefined) return;
    const up = this.cluster.ids.filter((id) => this.services.get(id) !== undefined);
    if (up.length === 0) {
      this.loop.after(100, 'watch-open', undefined, () => this.open(w));
      return;
    }
    const target = this.rand.pick(up);
    const services = this.services.get(target) as MemberServices;
    const request: Record<string, Value> = { key: w.key, prevKv: w.prevKv };
    if (w.rangeEnd !== undefined) request['rangeEnd'] = w.rangeEnd;
    if (w.nextStart > 0) request['startRevision'] = w.nextStart;
    this.recorder.invoke(w.process, 'watch', request, this.loop.nowMs * 1e6, target);
    this.sessions++;
    const responses: Value[] = [];
    const session = { target, services, api: undefined as unknown as ApiSession, responses, ended: false };
    w.session = session;
    session.api = services.watch.open((r) => this.receive(w, session, r));
    session.api.handle({
      createRequest: {
        key: utf8(w.key),
        ...(w.rangeEnd === undefined ? {} : { rangeEnd: utf8(w.rangeEnd) }),
        startRevision: w.nextStart,
        prevKv: w.prevKv,
      },
    });
    const lengthMs = this.rand.between(this.options.sessionMsMin, this.options.sessionMsMax);
    this.loop.after(lengthMs, 'watch-close', target, () => {
      if (w.session === session) this.end(w, 'ok');
    });
  }

  private receive(w: Watcher, session: NonNullable<Watcher['session']>, r: ApiWatchResponse): void {
    if (session.ended) return;
    // The client acknowledges after the response crossed the link, never from inside the send.
    this.loop.after(1, 'watch-ack', session.target, () => {
      if (!session.ended) session.api.ack(1);
    });
    if (r.created && w.nextStart === 0) w.nextStart = r.header.revision + 1;
    const recorded: Record<string, Value> = { events: r.events.map((e) => eventValue(e.type, e.kv, e.prevKv, w.prevKv)), revision: r.header.revision };
    if (r.compactRevision > 0) recorded['compactRevision'] = r.compactRevision;
    if (r.canceled) recorded['canceled'] = true;
    if (r.events.length > 0 || r.compactRevision > 0 || r.canceled) session.responses.push(recorded);
    for (const e of r.events) w.nextStart = Math.max(w.nextStart, e.kv.modRevision + 1);
    if (r.compactRevision > 0) {
      // clientv3 reports ErrCompacted; the application resumes from the compact revision.
      this.compactNotices++;
      w.nextStart = r.compactRevision;
      this.end(w, 'ok');
    } else if (r.canceled) this.end(w, 'ok');
  }

  /** Ends the watcher's session: `info` when the stream broke under it. */
  private end(w: Watcher, type: 'ok' | 'info'): void {
    const session = w.session;
    if (session === undefined) return;
    session.ended = true;
    w.session = undefined;
    if (type === 'ok') session.api.close();
    this.recorder.complete(w.process, type, 'watch', { responses: session.responses }, this.loop.nowMs * 1e6, session.target);
    if (!this.stopped) this.loop.after(this.rand.between(0, 100), 'watch-open', undefined, () => this.open(w));
  }

  /** A session whose member crashed (or restarted as a new incarnation) is a broken stream. */
  private poll(): void {
    if (this.stopped) return;
    for (const w of this.watchers) {
      const s = w.session;
      if (s === undefined) continue;
      const alive = this.cluster.state(s.target) === 'paused' || this.services.get(s.target) === s.services;
      if (!alive) this.end(w, 'info');
    }
    this.loop.after(LIVENESS_POLL_MS, 'watch-poll', undefined, () => this.poll());
  }

  private scheduleCompaction(): void {
    const gapMs = this.rand.between(this.options.compactEveryMs / 2, (this.options.compactEveryMs * 3) / 2);
    this.loop.after(gapMs, 'compact', undefined, () => {
      if (this.stopped) return;
      this.compact();
      this.scheduleCompaction();
    });
  }

  private compact(): void {
    const leader = this.cluster.leader();
    const services = leader === undefined ? undefined : this.services.get(leader);
    if (services === undefined || leader === undefined) return;
    const machine = this.cluster.machine(leader);
    const revision = (machine?.applier.store.rev() ?? 0) - this.options.compactKeepRevisions;
    if (revision <= this.compactedTo) return;
    this.compactedTo = revision;
    this.compactions.push(`${this.loop.nowMs}ms compact ${revision} via ${leader}`);
    // In the history too: a watcher that catches up after a compaction gets no prev_kv for an
    // event whose previous version was compacted, and the checker must know compactions to allow it.
    const process = `compactor-${this.compactions.length}`;
    this.recorder.invoke(process, 'compact', { revision }, this.loop.nowMs * 1e6, leader);
    services.kv.compact({ revision }).then(
      () => this.recorder.complete(process, 'ok', 'compact', { revision }, this.loop.nowMs * 1e6, leader),
      () => this.recorder.complete(process, 'info', 'compact', { revision }, this.loop.nowMs * 1e6, leader),
    );
  }
}

function kvValue(kv: KeyValue): Value {
  return { key: fromUtf8(kv.key), value: fromUtf8(kv.value), createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version };
}

function eventValue(type: number, kv: KeyValue, prevKv: KeyValue | undefined, wantPrev: boolean): Value {
  const out: Record<string, Value> = { type: type === 1 ? 'delete' : 'put', kv: kvValue(kv) };
  if (wantPrev) out['prevKv'] = prevKv === undefined ? null : kvValue(prevKv);
  return out;
}
