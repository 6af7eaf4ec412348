import type { Operation } from '../../histories/index.js';
import type { Model } from './model.js';
import { WglSearch } from './wgl.js';

/** The op as if its outcome were never seen: a cut through the history leaves it pending. */
function pendingAt(op: Operation): Operation {
  return { ...op, status: 'info', output: undefined, complete: undefined, returnIndex: Infinity };
}

function searchable<P>(model: Model<P>, op: Operation): Operation {
  return op.status === 'fail' && model.failMeansUnknown === true ? { ...op, returnIndex: Infinity } : op;
}

/** True when the search proves these ops non-linearizable within its budget. */
function fails<P>(model: Model<P>, ops: readonly Operation[], budget: number): boolean {
  const kept: Operation[] = [];
  const prepared: P[] = [];
  for (const op of ops) {
    const p = model.prepare(op);
    if (p === null) continue;
    kept.push(searchable(model, op));
    prepared.push(p);
  }
  const search = new WglSearch(model, prepared, kept, 64 * 1024 * 1024);
  return search.run(budget) && search.result().verdict === 'fail';
}

/**
 * A small set of observations that cannot all be true. The history is cut just after the
 * failure point (later ops dropped, ops open there made unknown-outcome); then ever smaller
 * chunks of ops are "forgotten": their results are dropped and they become unknown-outcome ops
 * (a forgotten write may still happen, at any time after its invocation, or never). Forgetting
 * only weakens a history, so if what remains still fails, so does the original: the ops whose
 * results are kept are a sound explanation. Returns undefined when even the cut could not be
 * confirmed within the budget.
 */
export function shrinkFailure<P>(model: Model<P>, ops: readonly Operation[], cutIndex: number, deadlineMs: number, budget = 100_000): Operation[] | undefined {
  const cut = ops.filter((o) => o.callIndex <= cutIndex).map((o) => (o.returnIndex > cutIndex ? pendingAt(o) : o));
  const keep = cut.map((o) => o.status !== 'info');
  const build = (): Operation[] => cut.map((o, i) => (keep[i] === true ? o : pendingAt(o)));
  if (!fails(model, build(), budget)) return undefined;
  const kept = (): number[] => keep.flatMap((k, i) => (k ? [i] : []));
  for (let chunk = Math.max(1, kept().length >> 1); ; chunk >>= 1) {
    const idx = kept();
    for (let end = idx.length; end > 0; end -= chunk) {
      if (Date.now() > deadlineMs) return cut.filter((_, i) => keep[i] === true);
      const group = idx.slice(Math.max(0, end - chunk), end);
      for (const i of group) keep[i] = false;
      if (!fails(model, build(), budget)) for (const i of group) keep[i] = true;
    }
    if (chunk <= 1) break;
  }
  return cut.filter((_, i) => keep[i] === true);
}
