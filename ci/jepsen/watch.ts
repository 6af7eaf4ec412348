/**
 * The watch workload: clients put and delete keys under `w/` (etcd-shaped ops whose responses
 * carry revisions), while one watcher per member watches the whole prefix with prev_kv. Each
 * watch session is one op of the watcher's process, completed with every response it received:
 * `ok` when the watcher ended it (sessions last a few seconds, then resume from the next
 * revision), `info` when the stream broke (member killed). The watch checker then requires, per
 * watcher: revision order, no duplicates, no gaps against the committed writes, all events of a
 * revision together, correct prev_kv, and agreement between watchers.
 */
import type { EtcdGrpcClient, KeyValue, WatchResponse } from '../../src/grpc/index.js';
import { createGrpcClient, Event_EventType } from '../../src/grpc/index.js';
import type { HistoryRecorder, Value } from '../../histories/index.js';
import type { NodeName } from '../../nemesis/index.js';
import type { SeededRand } from '../../src/util/index.js';
import { neverSent } from './clients.js';
import type { Invocation, Outcome, Workload } from './clients.js';
import { text, utf8 } from './keys.js';

const PREFIX = 'w/';
/** The end of the `w/` prefix range: '/' + 1. */
const PREFIX_END = 'w0';
const WATCHER_PROCESS_BASE = 1000;

export class WatchWriteWorkload implements Workload {
  readonly name = 'watch';
  private nextValue = 1;

  constructor(
    private readonly rand: SeededRand,
    private readonly keys: number,
  ) {}

  next(): Invocation {
    const key = `${PREFIX}k${this.rand.int(this.keys)}`;
    if (this.rand.chance(0.15)) return { f: 'delete', value: { key } };
    return { f: 'put', value: { key, value: `v${this.nextValue++}` } };
  }

  async execute(client: EtcdGrpcClient, op: Invocation, deadlineMs: number): Promise<Outcome> {
    const req = op.value as { key: string; value?: string };
    try {
      if (op.f === 'put') {
        const r = await client.unary('put', { key: utf8(req.key), value: utf8(req.value ?? '') }, { deadlineMs });
        return { type: 'ok', value: { revision: Number(r.header?.revision ?? 0n) } };
      }
      const r = await client.unary('deleteRange', { key: utf8(req.key) }, { deadlineMs });
      return { type: 'ok', value: { revision: Number(r.header?.revision ?? 0n), deleted: Number(r.deleted) } };
    } catch (error) {
      // The etcd model reads fail and info alike (may have happened); keep `fail` for "never sent".
      return { type: neverSent(error) ? 'fail' : 'info', value: op.value, error: true };
    }
  }
}

function kvValue(kv: KeyValue): Value {
  return { key: text(kv.key), value: text(kv.value), createRevision: Number(kv.createRevision), modRevision: Number(kv.modRevision), version: Number(kv.version) };
}

function responseValue(r: WatchResponse): Value {
  const out: Record<string, Value> = {
    events: r.events.map((e) => ({
      type: e.type === Event_EventType.DELETE ? 'delete' : 'put',
      kv: e.kv === undefined ? null : kvValue(e.kv),
      prevKv: e.prevKv === undefined ? null : kvValue(e.prevKv),
    })),
    revision: Number(r.header?.revision ?? 0n),
  };
  if (r.compactRevision > 0n) out['compactRevision'] = Number(r.compactRevision);
  if (r.canceled) out['canceled'] = true;
  return out;
}

export interface WatcherConfig {
  readonly recorder: HistoryRecorder;
  readonly nowNs: () => number;
  readonly nodes: readonly NodeName[];
  readonly urlOf: (node: NodeName) => string;
  readonly rand: SeededRand;
  readonly sessionMsMin: number;
  readonly sessionMsMax: number;
}

/** One watcher per member, each a loop of sessions that resume where the last one stopped. */
export class Watchers {
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  /** Cancel functions of the open sessions. */
  private readonly sessions = new Set<() => void>();
  sessionsOpened = 0;
  sessionsBroken = 0;
  eventsReceived = 0;

  constructor(private readonly config: WatcherConfig) {}

  start(): void {
    this.config.nodes.forEach((node, i) => this.loops.push(this.loop(WATCHER_PROCESS_BASE + i, node)));
  }

  /** Ends every open session normally, so each watch op completes `ok`. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const cancel of this.sessions) cancel();
    await Promise.all(this.loops);
  }

  private async loop(process: number, node: NodeName): Promise<void> {
    let nextStart = 0;
    while (!this.stopped) {
      const brokenBefore = this.sessionsBroken;
      nextStart = await this.session(process, node, nextStart);
      // A member that is down breaks every new session at once: wait longer before the next.
      const pauseMs = this.sessionsBroken > brokenBefore ? 500 : 100;
      if (!this.stopped) await new Promise((r) => setTimeout(r, pauseMs + this.config.rand.int(100)));
    }
  }

  /** Runs one session; returns the revision the next one starts from. */
  private async session(process: number, node: NodeName, startRevision: number): Promise<number> {
    const { recorder, nowNs, rand } = this.config;
    const request: Record<string, Value> = { key: PREFIX, rangeEnd: PREFIX_END, prevKv: true };
    if (startRevision > 0) request['startRevision'] = startRevision;
    recorder.invoke(process, 'watch', request, nowNs(), node);
    this.sessionsOpened++;
    const client = createGrpcClient(this.config.urlOf(node), { ownConnection: true });
    const call = client.bidi('watch');
    const responses: Value[] = [];
    let next = startRevision;
    let endedByUs = false;
    const lengthMs = rand.between(this.config.sessionMsMin, this.config.sessionMsMax);
    const timer = setTimeout(() => ((endedByUs = true), call.cancel()), lengthMs);
    const session = (): void => ((endedByUs = true), call.cancel());
    this.sessions.add(session);
    call.send({ requestUnion: { case: 'createRequest', value: { key: utf8(PREFIX), rangeEnd: utf8(PREFIX_END), prevKv: true, startRevision: BigInt(startRevision) } } });
    let broken = false;
    try {
      for await (const r of call) {
        if (r.created && next === 0) next = Number(r.header?.revision ?? 0n) + 1;
        if (r.events.length > 0 || r.canceled || r.compactRevision > 0n) responses.push(responseValue(r));
        for (const e of r.events) next = Math.max(next, Number(e.kv?.modRevision ?? 0n) + 1);
        this.eventsReceived += r.events.length;
        if (r.canceled) break;
      }
    } catch {
      broken = !endedByUs;
    } finally {
      clearTimeout(timer);
      this.sessions.delete(session);
      client.close();
    }
    if (broken) this.sessionsBroken++;
    recorder.complete(process, broken ? 'info' : 'ok', 'watch', { responses }, nowNs(), node);
    return next;
  }
}
