import type { Operation } from '../../histories/index.js';
import type { Model } from './model.js';
import { shrinkFailure } from './shrink.js';
import { WglSearch, type SearchStats } from './wgl.js';

export interface PartitionReport {
  readonly key: string;
  readonly verdict: 'ok' | 'fail' | 'unknown';
  /** The ops of this part that the model checks (excluded ops left out). */
  readonly ops: readonly Operation[];
  /** The longest linearization found, in order. */
  readonly longest: readonly Operation[];
  readonly longestState: string;
  /** For a failure: the op that could not be linearized after `longest` (earliest return). */
  readonly stuck: Operation | undefined;
  /** For a failure: the ops not in `longest` concurrent with `stuck`, which were tried too. */
  readonly concurrent: readonly Operation[];
  /**
   * For a failure found by lookahead: later ops (gets) that every next step would have made
   * impossible, e.g. a get returning a string the current one can no longer grow into.
   */
  readonly doomed: readonly Operation[];
  readonly stats: SearchStats;
  readonly reason?: string;
  /**
   * For a failure: a small set of this part's ops whose recorded results cannot all hold even
   * when every other op up to the failure may or may not have happened (see shrink.ts).
   */
  readonly minimal?: readonly Operation[];
}

export interface LinearizabilityReport {
  readonly kind: 'linearizability';
  readonly model: string;
  readonly verdict: 'valid' | 'invalid' | 'unknown';
  readonly partitions: readonly PartitionReport[];
  readonly elapsedMs: number;
}

export interface LinearizabilityOptions {
  /** Wall-clock budget for the whole check; past it unfinished parts answer "unknown". */
  readonly timeoutMs?: number;
  /**
   * Once one part has failed the verdict is known; the other unfinished parts get at most this
   * much longer (default 5 s) so that every failing key can still be named without hanging.
   */
  readonly afterFailureMs?: number;
  /** Time for shrinking failing parts to small failing sub-histories (default 2 s; 0: off). */
  readonly shrinkMs?: number;
}

interface Part<P> {
  readonly key: string;
  readonly ops: Operation[];
  readonly search: WglSearch<P>;
}

function preparePart<P>(model: Model<P>, key: string, all: readonly Operation[]): Part<P> {
  const ops: Operation[] = [];
  const prepared: P[] = [];
  for (const op of all) {
    const p = model.prepare(op);
    if (p === null) continue;
    ops.push(op.status === 'fail' && model.failMeansUnknown === true ? { ...op, returnIndex: Infinity } : op);
    prepared.push(p);
  }
  return { key, ops, search: new WglSearch(model, prepared, ops) };
}

function report<P>(model: Model<P>, part: Part<P>): PartitionReport {
  const r = part.search.result();
  const ops = part.ops;
  const longest = r.longest.map((i) => ops[i] as Operation);
  let stuck: Operation | undefined;
  const concurrent: Operation[] = [];
  if (r.verdict === 'fail') {
    const done = new Set(r.longest);
    const rest = ops.filter((_, i) => !done.has(i));
    for (const op of rest) if (stuck === undefined || op.returnIndex < stuck.returnIndex) stuck = op;
    for (const op of rest) if (stuck !== undefined && op !== stuck && op.callIndex < stuck.returnIndex) concurrent.push(op);
  }
  const doomed = r.doomed.map((i) => ops[i] as Operation);
  const base = { key: part.key, verdict: r.verdict, ops, longest, longestState: model.describeState(r.longestState), stuck, concurrent, doomed, stats: r.stats };
  return r.reason === undefined ? base : { ...base, reason: r.reason };
}

function withMinimal<P>(model: Model<P>, part: Part<P>, r: PartitionReport, untilMs: number): PartitionReport {
  if (r.verdict !== 'fail' || r.stuck === undefined || Date.now() >= untilMs) return r;
  const cut = Math.max(r.stuck.returnIndex, ...r.doomed.map((o) => o.returnIndex));
  const minimal = shrinkFailure(model, part.ops, cut, untilMs);
  return minimal === undefined ? r : { ...r, minimal };
}

/**
 * Checks every part (key) of the history, unlike porcupine which stops at the first failure,
 * so a report names all failing keys. Parts are searched round-robin with growing slices, so
 * one hard key cannot starve the others of the time budget.
 */
export function checkLinearizability<P>(model: Model<P>, ops: readonly Operation[], options: LinearizabilityOptions = {}): LinearizabilityReport {
  const started = Date.now();
  let deadlineMs = options.timeoutMs === undefined ? Infinity : started + options.timeoutMs;
  const afterFailureMs = options.afterFailureMs ?? 5000;
  const groups = model.partition === undefined ? new Map([['', [...ops]]]) : model.partition(ops);
  const parts = [...groups].map(([key, partOps]) => preparePart(model, key, partOps));
  let pending = parts.filter((p) => !p.search.done());
  let slice = 20_000;
  let failed = false;
  while (pending.length > 0) {
    for (const part of pending) {
      if (Date.now() > deadlineMs) part.search.abandon('deadline passed');
      else if (part.search.run(slice) && part.search.result().verdict === 'fail' && !failed) {
        failed = true;
        deadlineMs = Math.min(deadlineMs, Date.now() + afterFailureMs);
      }
    }
    pending = pending.filter((p) => !p.search.done());
    slice = Math.min(slice * 2, 250_000);
  }
  const shrinkUntil = Date.now() + (options.shrinkMs ?? 2000);
  const partitions = parts.map((p) => withMinimal(model, p, report(model, p), shrinkUntil));
  const verdict = partitions.some((p) => p.verdict === 'fail') ? 'invalid' : partitions.some((p) => p.verdict === 'unknown') ? 'unknown' : 'valid';
  return { kind: 'linearizability', model: model.name, verdict, partitions, elapsedMs: Date.now() - started };
}
