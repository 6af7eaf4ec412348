/**
 * The simulator's one event queue on virtual time.
 *
 * Events are ordered by (atMs, seq): seq is a global counter assigned at schedule time, so two
 * events due at the same millisecond run in the order they were scheduled. Virtual time is an
 * integer number of milliseconds and only moves forward, to the time of the event being run.
 *
 * Microtasks. Node code is written with Promises (the server loop awaits proposals, the API awaits
 * reads). After each event the loop yields `microtaskTurns` times (`await undefined`); every
 * microtask queued before one of those yields runs before the yield resumes, so any Promise chain
 * up to that many hops deep, started by the event, settles before the next event runs. Deeper
 * chains are not lost: they keep advancing during the following events' yields, still in a fixed
 * order, because nothing in the simulator ever waits on a real timer or real IO. (A "full" drain
 * would need setImmediate, a real macrotask, which the determinism lint bans in sim/.)
 *
 * Trace hash. Every processed event folds (time, kind, node, seq) into a rolling 2x32-bit hash,
 * and so does every random draw of an observed SeededRand family: the same seed run twice must
 * give the same hash, and the per-event hash prefixes name the first event where two runs part.
 */
import { assert, fmix32, hashString32, mixWord } from '../src/util/index.js';
import type { NodeId, SeededRand } from '../src/util/index.js';

export interface EventHandle {
  readonly seq: number;
}

interface QueuedEvent extends EventHandle {
  readonly atMs: number;
  readonly kind: string;
  readonly nodeId: NodeId | undefined;
  readonly fn: () => void;
  readonly detail: string | (() => string) | undefined;
  state: 'queued' | 'cancelled' | 'ran';
}

export interface TraceLine {
  /** 0-based index among processed events. */
  readonly eventIndex: number;
  /** 't=<ms>ms <kind> node=<id> seq=<n> h=<hash after it>[ <detail>]' (no index: it is above). */
  readonly text: string;
}

export interface SimLoopOptions {
  /** Yields after each event, so Promise chains this deep settle before the next event. */
  readonly microtaskTurns?: number;
  /** Keep the last N processed events as text for failure reports; 0 turns the log off. */
  readonly traceLogCapacity?: number;
  /** Log only events from this index on: rerun a seed with it to zoom in on a divergence. */
  readonly traceLogFromEvent?: number;
  /**
   * Record, for every event, the hash after it plus its time, kind and node (16 bytes per event),
   * so a divergence can be located and named even when the trace log no longer holds it.
   */
  readonly recordEventHashes?: boolean;
}

export interface Divergence {
  readonly eventIndex: number;
  /** Each run's line for that event: the log line, else its recorded time, kind and node. */
  readonly a: string | undefined;
  readonly b: string | undefined;
}

/** What firstDivergence needs from a run; a SimLoop provides it, and so can a saved trace. */
export interface TraceSource {
  eventHashes(): Uint32Array;
  traceLog(): readonly TraceLine[];
  /** Time, kind and node of any recorded event, for when the log no longer holds it. */
  describeEvent?(eventIndex: number): string | undefined;
}

const TWO_POW_32 = 4294967296;

export class SimLoop {
  private heap: QueuedEvent[] = [];
  private nextSeq = 0;
  private live = 0;
  private now = 0;
  private processed = 0;
  private h1 = 0x811c9dc5;
  private h2 = 0x01000193;
  private readonly stringHashes = new Map<string, number>();
  private hashes: Uint32Array;
  private eventTimes: Float64Array;
  /** Per event: interned kind id (high 16 bits) and node id (low 16 bits). */
  private eventWho: Uint32Array;
  private readonly internedNames: string[] = [];
  private readonly internIds = new Map<string, number>();
  /** Ring of the last events, formatted only when asked for: formatting every event costs more than running it. */
  private readonly log: LoggedEvent[] = [];
  private logStart = 0;
  private failure: unknown = undefined;
  private readonly microtaskTurns: number;
  private readonly logCapacity: number;
  private readonly logFromEvent: number;
  private readonly recordHashes: boolean;

  constructor(options: SimLoopOptions = {}) {
    this.microtaskTurns = options.microtaskTurns ?? 64;
    this.logCapacity = options.traceLogCapacity ?? 256;
    this.logFromEvent = options.traceLogFromEvent ?? 0;
    this.recordHashes = options.recordEventHashes ?? true;
    const initial = this.recordHashes ? 1024 : 0;
    this.hashes = new Uint32Array(initial);
    this.eventTimes = new Float64Array(initial);
    this.eventWho = new Uint32Array(initial);
    assert(Number.isInteger(this.microtaskTurns) && this.microtaskTurns >= 0, 'microtaskTurns must be a non-negative integer');
    assert(Number.isInteger(this.logCapacity) && this.logCapacity >= 0, 'traceLogCapacity must be a non-negative integer');
  }

  /** Virtual time in ms: the time of the event being run, or of the last one run. */
  get nowMs(): number {
    return this.now;
  }

  /** Events processed so far (cancelled ones not counted). */
  get eventCount(): number {
    return this.processed;
  }

  /** Events waiting (cancelled ones not counted). */
  get pendingCount(): number {
    return this.live;
  }

  /**
   * Runs `fn` at virtual time `atMs` (>= now). `kind` and `nodeId` go into the trace hash.
   * `detail` only feeds the trace log; a function is called only if the log is read, possibly
   * long after the event, so it should capture values that do not change.
   */
  schedule(atMs: number, kind: string, nodeId: NodeId | undefined, fn: () => void, detail?: string | (() => string)): EventHandle {
    assert(Number.isSafeInteger(atMs), () => `schedule(${kind}): time ${atMs} is not an integer ms`);
    assert(atMs >= this.now, () => `schedule(${kind}): time ${atMs} is in the past (now ${this.now})`);
    const event: QueuedEvent = { seq: this.nextSeq++, atMs, kind, nodeId, fn, detail, state: 'queued' };
    this.push(event);
    this.live++;
    return event;
  }

  /** schedule() relative to now. */
  after(delayMs: number, kind: string, nodeId: NodeId | undefined, fn: () => void, detail?: string | (() => string)): EventHandle {
    assert(delayMs >= 0, () => `after(${kind}): negative delay ${delayMs}`);
    return this.schedule(this.now + delayMs, kind, nodeId, fn, detail);
  }

  /** Returns false if the event already ran or was cancelled. */
  cancel(handle: EventHandle): boolean {
    const event = handle as QueuedEvent;
    assert(typeof event.state === 'string', 'cancel(): not a handle of this loop');
    if (event.state !== 'queued') return false;
    event.state = 'cancelled';
    this.live--;
    return true;
  }

  /**
   * Records a failure seen where it cannot be thrown (a Promise chain's catch, a callback); the
   * current or next step() throws it after draining microtasks. The failure is sticky: a failed
   * run stays failed, and every later step() throws the same error.
   */
  fail(error: unknown): void {
    if (this.failure === undefined) this.failure = error ?? new Error('SimLoop.fail(undefined)');
  }

  /** Runs the next event (if any), then drains microtasks. Resolves false when none is left. */
  async step(): Promise<boolean> {
    this.throwIfFailed();
    const event = this.popLive();
    if (event === undefined) return false;
    this.now = event.atMs;
    event.state = 'ran';
    this.foldEvent(event);
    event.fn();
    for (let i = 0; i < this.microtaskTurns; i++) await undefined;
    this.finishEvent(event);
    this.throwIfFailed();
    return true;
  }

  /** Runs every event due at or before `untilMs`, then sets the time to `untilMs`. */
  async run(untilMs: number): Promise<number> {
    assert(untilMs >= this.now, () => `run(${untilMs}): time is already ${this.now}`);
    let count = 0;
    for (;;) {
      const next = this.peekLive();
      if (next === undefined || next.atMs > untilMs) break;
      await this.step();
      count++;
    }
    this.now = untilMs;
    return count;
  }

  /** Runs events until `done()` holds (checked after each event) or time would pass `untilMs`. */
  async runUntil(done: () => boolean, untilMs: number): Promise<boolean> {
    if (done()) return true;
    for (;;) {
      const next = this.peekLive();
      if (next === undefined || next.atMs > untilMs) break;
      await this.step();
      if (done()) return true;
    }
    this.now = Math.max(this.now, untilMs);
    return false;
  }

  /** Folds every draw of `rand`'s family (root and all forks) into the trace hash. */
  observeRand(rand: SeededRand): void {
    rand.setOnDraw((value, stream) => {
      this.fold(stream.labelHash);
      this.fold(value);
    });
  }

  /** Folds one 32-bit word into the trace hash (for facts that are not events or draws). */
  fold(word: number): void {
    this.h1 = mixWord(this.h1, word);
    this.h2 = fmix32((this.h2 ^ Math.imul(word | 0, 0x9e3779b1)) + ((this.h2 << 11) | (this.h2 >>> 21)));
  }

  foldString(text: string): void {
    this.fold(this.hashOf(text));
  }

  /** The rolling trace hash as 16 hex digits. */
  traceHash(): string {
    return hex32(this.h2) + hex32(this.h1);
  }

  eventHashes(): Uint32Array {
    return this.hashes.slice(0, this.recordHashes ? this.processed : 0);
  }

  describeEvent(eventIndex: number): string | undefined {
    if (!this.recordHashes || eventIndex < 0 || eventIndex >= this.processed) return undefined;
    const who = this.eventWho[eventIndex] as number;
    const kind = this.internedNames[who >>> 16] ?? '?';
    const node = this.internedNames[who & 0xffff] ?? '?';
    return `t=${this.eventTimes[eventIndex]}ms ${kind} node=${node} h=${hex32(this.hashes[eventIndex] as number)}`;
  }

  traceLog(): readonly TraceLine[] {
    const ordered = [...this.log.slice(this.logStart), ...this.log.slice(0, this.logStart)];
    return ordered.map(formatLogged);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private hashOf(text: string): number {
    let h = this.stringHashes.get(text);
    if (h === undefined) {
      h = hashString32(text, 0x7f4a7c15);
      this.stringHashes.set(text, h);
    }
    return h;
  }

  private foldEvent(event: QueuedEvent): void {
    this.fold(event.atMs >>> 0);
    this.fold(Math.floor(event.atMs / TWO_POW_32));
    this.fold(this.hashOf(event.kind));
    this.fold(event.nodeId === undefined ? 0 : this.hashOf(event.nodeId));
    this.fold(event.seq);
  }

  private finishEvent(event: QueuedEvent): void {
    const index = this.processed++;
    if (this.recordHashes) this.recordEvent(event, index);
    if (this.logCapacity > 0 && index >= this.logFromEvent) this.appendLog(event, index);
  }

  private recordEvent(event: QueuedEvent, index: number): void {
    if (index >= this.hashes.length) {
      const size = this.hashes.length * 2;
      const hashes = new Uint32Array(size);
      const times = new Float64Array(size);
      const who = new Uint32Array(size);
      hashes.set(this.hashes);
      times.set(this.eventTimes);
      who.set(this.eventWho);
      this.hashes = hashes;
      this.eventTimes = times;
      this.eventWho = who;
    }
    this.hashes[index] = this.h1;
    this.eventTimes[index] = event.atMs;
    this.eventWho[index] = (this.intern(event.kind) << 16) | this.intern(event.nodeId ?? '-');
  }

  /** Small ids for kinds and node names; past 65535 distinct names they share the last id. */
  private intern(name: string): number {
    let id = this.internIds.get(name);
    if (id === undefined) {
      id = Math.min(this.internedNames.length, 0xffff);
      if (id < 0xffff) this.internedNames.push(name);
      this.internIds.set(name, id);
    }
    return id;
  }

  private appendLog(event: QueuedEvent, index: number): void {
    const entry: LoggedEvent = { event, index, hash: this.h1 };
    if (this.log.length < this.logCapacity) {
      this.log.push(entry);
      return;
    }
    if (this.logFromEvent > 0) return; // zoomed in: keep the first lines from the chosen event
    this.log[this.logStart] = entry;
    this.logStart = (this.logStart + 1) % this.logCapacity;
  }

  private peekLive(): QueuedEvent | undefined {
    while (this.heap.length > 0 && this.heap[0]!.state === 'cancelled') this.pop();
    return this.heap[0];
  }

  private popLive(): QueuedEvent | undefined {
    const event = this.peekLive();
    if (event === undefined) return undefined;
    this.pop();
    this.live--;
    return event;
  }

  private push(event: QueuedEvent): void {
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!before(event, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = event;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    assert(last !== undefined, 'pop() on an empty heap');
    if (heap.length === 0) return;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(heap[right]!, heap[left]!) ? right : left;
      if (!before(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}

interface LoggedEvent {
  readonly event: QueuedEvent;
  readonly index: number;
  readonly hash: number;
}

function formatLogged({ event, index, hash }: LoggedEvent): TraceLine {
  const detail = typeof event.detail === 'function' ? event.detail() : event.detail;
  const node = event.nodeId ?? '-';
  const text = `t=${event.atMs}ms ${event.kind} node=${node} seq=${event.seq} h=${hex32(hash)}${detail === undefined ? '' : ' ' + detail}`;
  return { eventIndex: index, text };
}

function before(a: QueuedEvent, b: QueuedEvent): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}

function hex32(x: number): string {
  return (x >>> 0).toString(16).padStart(8, '0');
}

/**
 * The first event index at which two runs' traces differ, with each run's log line for it (or,
 * once the log has moved past it, its recorded time, kind and node); undefined if the traces are identical. Runs of different lengths that
 * agree on the shorter one diverge at the shorter one's length.
 */
export function firstDivergence(a: TraceSource, b: TraceSource): Divergence | undefined {
  const ha = a.eventHashes();
  const hb = b.eventHashes();
  const n = Math.min(ha.length, hb.length);
  let index = -1;
  for (let i = 0; i < n; i++) {
    if (ha[i] !== hb[i]) {
      index = i;
      break;
    }
  }
  if (index < 0) {
    if (ha.length === hb.length) return undefined;
    index = n;
  }
  const lineAt = (source: TraceSource): string | undefined =>
    source.traceLog().find((l) => l.eventIndex === index)?.text ?? source.describeEvent?.(index);
  return { eventIndex: index, a: lineAt(a), b: lineAt(b) };
}
