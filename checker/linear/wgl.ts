import type { Operation } from '../../histories/index.js';
import { CacheFull, ConfigCache } from './cache.js';
import { REJECT, type Model } from './model.js';

const LOOKAHEAD_TARGETS = 256;
const NONE = 0;
const PUSHED = 1;
const DEAD = 2;

export interface SearchStats {
  /** Linearization steps taken (configurations pushed onto the stack). */
  steps: number;
  /** Distinct (linearized set, state) pairs in the cache. */
  cacheSize: number;
  /** Most ops linearized at once. */
  maxDepth: number;
}

export interface SearchResult {
  readonly verdict: 'ok' | 'fail' | 'unknown';
  /** Indexes into the searched ops of the longest linearization found, in order. */
  readonly longest: readonly number[];
  /** Model state after the longest linearization. */
  readonly longestState: number;
  readonly stats: SearchStats;
  /** Why the answer is unknown. */
  readonly reason?: string;
  /**
   * For a failure found by lookahead: ops (e.g. gets) that every possible next step after the
   * longest linearization would make impossible. Empty when the model has no lookahead.
   */
  readonly doomed: readonly number[];
}

// Zobrist hashing: the hash of a linearized set is the XOR of one random word per member, so
// adding or removing an op is O(1) instead of rehashing the bitset.
function zobristTable(n: number): Int32Array {
  const t = new Int32Array(n);
  let x = 0x9e3779b9 | 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    t[i] = x;
  }
  return t;
}

interface Entries {
  readonly opOf: Int32Array;
  readonly isCall: Uint8Array;
  readonly match: Int32Array;
  readonly next: Int32Array;
  readonly prev: Int32Array;
  readonly head: number;
}

/** Call and return events in real-time order as a doubly linked list (dancing links). */
function buildEntries(ops: readonly Operation[]): Entries {
  const n = ops.length;
  const evs: Array<{ at: number; op: number; call: boolean }> = [];
  ops.forEach((op, i) => {
    evs.push({ at: op.callIndex, op: i, call: true });
    evs.push({ at: op.returnIndex, op: i, call: false });
  });
  // Returns at Infinity (unknown outcome) sort last, in invocation order.
  evs.sort((a, b) => (a.at === b.at ? a.op - b.op : a.at - b.at));
  const head = 2 * n;
  const opOf = new Int32Array(head + 1);
  const isCall = new Uint8Array(head + 1);
  const match = new Int32Array(head + 1);
  const next = new Int32Array(head + 1).fill(-1);
  const prev = new Int32Array(head + 1).fill(-1);
  const callEntry = new Int32Array(n);
  evs.forEach((ev, e) => {
    opOf[e] = ev.op;
    isCall[e] = ev.call ? 1 : 0;
    if (ev.call) callEntry[ev.op] = e;
    else {
      match[callEntry[ev.op] as number] = e;
      match[e] = callEntry[ev.op] as number;
    }
    prev[e] = e === 0 ? head : e - 1;
    next[e] = e === head - 1 ? -1 : e + 1;
  });
  next[head] = n === 0 ? -1 : 0;
  return { opOf, isCall, match, next, prev, head };
}

/**
 * Identical ops with unknown outcome are interchangeable: both stay pending to the end, so any
 * linearization using the later one first is matched by one using the earlier one first. The
 * search only takes them in invocation order, which cuts the factorial blow-up of many timed-out
 * writes of the same value (common in Jepsen histories) without losing any linearization.
 */
function twinsOf<P>(model: Model<P>, prepared: readonly P[], ops: readonly Operation[]): Int32Array {
  const twin = new Int32Array(ops.length).fill(-1);
  if (model.opKey === undefined) return twin;
  const last = new Map<string, number>();
  const order = ops.map((_, i) => i).sort((a, b) => (ops[a] as Operation).callIndex - (ops[b] as Operation).callIndex);
  for (const i of order) {
    if ((ops[i] as Operation).returnIndex !== Infinity) continue;
    const k = model.opKey(prepared[i] as P);
    const prev = last.get(k);
    if (prev !== undefined) twin[i] = prev;
    last.set(k, i);
  }
  return twin;
}

/**
 * Wing & Gong's search with Lowe's memoization, as in porcupine: walk the event list, try to
 * linearize each pending call, backtrack at a return whose call is not yet linearized.
 * Resumable: `run` takes an iteration budget so a scheduler can interleave many keys.
 */
export class WglSearch<P> {
  private readonly e: Entries;
  private readonly zob: Int32Array;
  private readonly bits: Uint32Array;
  /** For an unknown-outcome op, the previous identical one (or -1); see twinsOf. */
  private readonly twin: Int32Array;
  private cache: ConfigCache | null;
  private readonly stackEntry: number[] = [];
  private readonly stackState: number[] = [];
  /** 1 for a step forced by read dominance: it has no alternatives to try. */
  private readonly stackForced: number[] = [];
  private readonly readOnly: Uint8Array;
  /** Unknown-free ops the lookahead checks (model.isTarget), by return order. */
  private readonly targetOps: number[];
  private readonly escapes: Array<number[] | undefined>;
  /** True on reaching a configuration, until its forced read (if any) is handled. */
  private fresh = true;
  private readonly stats: SearchStats = { steps: 0, cacheSize: 0, maxDepth: 0 };
  private longest: number[] = [];
  private longestState: number;
  private state: number;
  private zhash = 0;
  /** Unlinearized ops with a real return; at zero the rest have unknown outcomes and can wait. */
  private finiteLeft: number;
  private readonly finite: Uint8Array;
  private entry: number;
  private verdict: 'ok' | 'fail' | 'unknown' | undefined;
  private reason: string | undefined;

  constructor(
    private readonly model: Model<P>,
    private readonly prepared: readonly P[],
    private readonly ops: readonly Operation[],
    maxCacheBytes = 768 * 1024 * 1024,
  ) {
    this.e = buildEntries(ops);
    this.zob = zobristTable(ops.length);
    this.bits = new Uint32Array(Math.max(1, (ops.length + 31) >>> 5));
    this.twin = twinsOf(model, prepared, ops);
    this.finite = Uint8Array.from(ops, (op) => (op.returnIndex === Infinity ? 0 : 1));
    this.readOnly = Uint8Array.from(prepared, (p) => (model.readOnly?.(p) === true ? 1 : 0));
    this.targetOps = ops
      .map((_, i) => i)
      .filter((i) => (ops[i] as Operation).returnIndex !== Infinity && model.isTarget?.(prepared[i] as P) === true)
      .sort((a, b) => (ops[a] as Operation).returnIndex - (ops[b] as Operation).returnIndex);
    this.escapes = this.computeEscapes();
    this.finiteLeft = this.finite.reduce((a, b) => a + b, 0);
    this.cache = new ConfigCache(this.bits.length, maxCacheBytes);
    this.state = model.init();
    this.longestState = this.state;
    this.entry = this.e.next[this.e.head] as number;
  }

  done(): boolean {
    return this.verdict !== undefined;
  }

  /** Gives up: the answer becomes "unknown". */
  abandon(reason: string): void {
    if (this.verdict !== undefined) return;
    this.finish('unknown');
    this.reason = reason;
  }

  result(): SearchResult {
    const doomed = this.verdict === 'fail' ? this.doomedAfterLongest() : [];
    const base = { longest: this.longest, longestState: this.longestState, stats: this.stats, doomed };
    const verdict = this.verdict ?? 'unknown';
    return this.reason === undefined ? { verdict, ...base } : { verdict, ...base, reason: this.reason };
  }

  /** Replays the end of the longest linearization to name the ops the lookahead gave up on. */
  private doomedAfterLongest(): number[] {
    if (this.model.canReach === undefined) return [];
    const saved = this.bits.slice();
    this.bits.fill(0);
    for (const op of this.longest) this.bits[op >>> 5] = (this.bits[op >>> 5] as number) | (1 << (op & 31));
    const done = new Set(this.longest);
    const open = this.ops.map((_, i) => i).filter((i) => !done.has(i));
    const firstReturn = Math.min(...open.map((i) => (this.ops[i] as Operation).returnIndex));
    const doomed = new Set<number>();
    for (const c of open) {
      if ((this.ops[c] as Operation).callIndex > firstReturn || this.blocked(c)) continue;
      const next = this.model.step(this.longestState, this.prepared[c] as P);
      if (next === REJECT) continue;
      for (const t of this.targetOps) {
        if (t !== c && !done.has(t) && !this.canStillSucceed(c, next, t)) {
          doomed.add(t);
          break;
        }
      }
    }
    this.bits.set(saved);
    return [...doomed];
  }

  private finish(verdict: 'ok' | 'fail' | 'unknown'): void {
    if (this.stackEntry.length > this.longest.length) this.recordLongest(this.state);
    this.verdict = verdict;
    this.stats.cacheSize = this.cache?.size ?? this.stats.cacheSize;
    this.stats.maxDepth = this.longest.length;
    this.cache = null;
  }

  /** Runs at most `budget` iterations; returns true once the search has an answer. */
  run(budget: number): boolean {
    if (this.verdict !== undefined) return true;
    try {
      return this.loop(budget);
    } catch (err) {
      if (!(err instanceof CacheFull)) throw err;
      this.abandon('cache of visited configurations full');
      return true;
    }
  }

  private loop(budget: number): boolean {
    const { opOf, isCall, next, head } = this.e;
    const { readOnly, model, prepared } = this;
    for (let it = 0; it < budget; it++) {
      if (this.finiteLeft === 0) {
        this.finish('ok');
        return true;
      }
      if (this.fresh) {
        // A configuration reached for the first time: a read it can take is taken alone.
        this.fresh = false;
        const forced = this.forceRead();
        if (forced === PUSHED) this.fresh = true;
        else if (forced === DEAD && !this.backtrack()) return this.failed();
        else if (forced === NONE) this.entry = next[head] as number;
        continue;
      }
      const entry = this.entry;
      if (isCall[entry] === 1) {
        const op = opOf[entry] as number;
        // Reads were all tried by forceRead in this very state, and rejected.
        if (readOnly[op] === 1 || this.blocked(op)) {
          this.entry = next[entry] as number;
          continue;
        }
        const newState = model.step(this.state, prepared[op] as P);
        if (newState !== REJECT && this.reachable(op, newState) && this.push(entry, op, newState, 0)) this.fresh = true;
        else this.entry = next[entry] as number;
        continue;
      }
      if (!this.backtrack()) return this.failed();
    }
    return false;
  }

  private failed(): true {
    this.finish('fail');
    return true;
  }

  /**
   * Lookahead: every unlinearized target op (a get), pending or still to come, must still be
   * able to succeed from `newState`, directly or after a resetting op that may come before its
   * return. (A string only grows by appends: it must stay a prefix of what later gets read,
   * unless a put can intervene.) This cuts a doomed branch as soon as it is doomed instead of
   * when the search reaches the get.
   */
  private reachable(op: number, newState: number): boolean {
    if (this.model.canReach === undefined) return true;
    const bits = this.bits;
    // Checking any subset is sound; the nearest LOOKAHEAD_TARGETS bound the cost on long
    // single-part histories (etcd) while covering whole keys of typical per-key histories.
    let checked = 0;
    for (const t of this.targetOps) {
      if (t === op || ((bits[t >>> 5] as number) & (1 << (t & 31))) !== 0) continue;
      if (!this.canStillSucceed(op, newState, t)) return false;
      if (++checked >= LOOKAHEAD_TARGETS) break;
    }
    return true;
  }

  private canStillSucceed(op: number, newState: number, target: number): boolean {
    if ((this.model.canReach as (s: number, t: P) => boolean).call(this.model, newState, this.prepared[target] as P)) return true;
    const escapes = this.escapes[target];
    if (escapes === undefined) return false;
    for (const r of escapes) {
      if (r !== op && ((this.bits[r >>> 5] as number) & (1 << (r & 31))) === 0) return true;
    }
    return false;
  }

  /** For each target, the ops that could rescue it: invoked before it returns, per the model. */
  private computeEscapes(): Array<number[] | undefined> {
    const escapes: Array<number[] | undefined> = [];
    const rescues = this.model.rescues;
    if (this.model.canReach === undefined || rescues === undefined) return escapes;
    const candidates = this.ops.map((_, i) => i).filter((i) => this.targetOps.length > 0 && this.ops[i] !== undefined);
    for (const t of this.targetOps) {
      const returnAt = (this.ops[t] as Operation).returnIndex;
      const target = this.prepared[t] as P;
      const list = candidates.filter((r) => r !== t && (this.ops[r] as Operation).callIndex < returnAt && rescues.call(this.model, this.prepared[r] as P, target));
      if (list.length > 0) escapes[t] = list;
    }
    return escapes;
  }

  /** An unknown-outcome op waits for its identical earlier twin (see twinsOf). */
  private blocked(op: number): boolean {
    const t = this.twin[op] as number;
    return t !== -1 && ((this.bits[t >>> 5] as number) & (1 << (t & 31))) === 0;
  }

  /**
   * Reads dominate: if a read-only op can be linearized now, some linearization (if any exists)
   * takes it now, since it changes no state and every op that had to precede it already has.
   * So it is taken alone, and when its subtree fails this configuration fails too.
   */
  private forceRead(): number {
    const { opOf, isCall, next, head } = this.e;
    for (let e = next[head] as number; e !== -1 && isCall[e] === 1; e = next[e] as number) {
      const op = opOf[e] as number;
      if (this.readOnly[op] !== 1 || this.blocked(op)) continue;
      const newState = this.model.step(this.state, this.prepared[op] as P);
      if (newState === REJECT) continue;
      return this.push(e, op, newState, 1) ? PUSHED : DEAD;
    }
    return NONE;
  }

  /** Linearizes `op` next unless the resulting configuration was already explored. */
  private push(entry: number, op: number, newState: number, forced: number): boolean {
    const bits = this.bits;
    const w = op >>> 5;
    const bit = 1 << (op & 31);
    bits[w] = (bits[w] as number) | bit;
    const h = this.zhash ^ (this.zob[op] as number);
    if (!(this.cache as ConfigCache).add(h ^ Math.imul(newState + 1, 0x9e3779b1), bits, newState)) {
      bits[w] = (bits[w] as number) & ~bit;
      return false;
    }
    this.stackEntry.push(entry);
    this.stackState.push(this.state);
    this.stackForced.push(forced);
    this.state = newState;
    this.zhash = h;
    this.lift(entry);
    this.finiteLeft -= this.finite[op] as number;
    this.stats.steps++;
    return true;
  }

  /** Undoes steps up to the last one that has alternatives left; false when none has. */
  private backtrack(): boolean {
    const { opOf, next } = this.e;
    // The stack is at a local maximum just before it shrinks: snapshot it only then, so a long
    // straight run costs O(n) instead of a copy per step.
    if (this.stackEntry.length > this.longest.length) this.recordLongest(this.state);
    for (;;) {
      const top = this.stackEntry.pop();
      if (top === undefined) return false;
      this.state = this.stackState.pop() as number;
      const forced = this.stackForced.pop();
      const op = opOf[top] as number;
      this.bits[op >>> 5] = (this.bits[op >>> 5] as number) & ~(1 << (op & 31));
      this.zhash ^= this.zob[op] as number;
      this.unlift(top);
      this.finiteLeft += this.finite[op] as number;
      if (forced === 0) {
        this.entry = next[top] as number;
        return true;
      }
    }
  }

  private recordLongest(state: number): void {
    const opOf = this.e.opOf;
    this.longest = this.stackEntry.map((e) => opOf[e] as number);
    this.longestState = state;
  }

  private lift(e: number): void {
    const { next, prev, match } = this.e;
    next[prev[e] as number] = next[e] as number;
    if (next[e] !== -1) prev[next[e] as number] = prev[e] as number;
    const m = match[e] as number;
    next[prev[m] as number] = next[m] as number;
    if (next[m] !== -1) prev[next[m] as number] = prev[m] as number;
  }

  private unlift(e: number): void {
    const { next, prev, match } = this.e;
    const m = match[e] as number;
    if (next[m] !== -1) prev[next[m] as number] = m;
    next[prev[m] as number] = m;
    if (next[e] !== -1) prev[next[e] as number] = e;
    next[prev[e] as number] = e;
  }
}
