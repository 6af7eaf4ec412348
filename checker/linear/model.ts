import type { Operation } from '../../histories/index.js';

/**
 * A sequential specification for the linearizability search.
 *
 * States are small integers that the model interns (the search's cache then holds only typed
 * arrays); equal ids must mean equal states. `prepare` decodes an op once and may exclude it by
 * returning null: a failed write that certainly did not happen, or a read with no result, which
 * constrains nothing. Ops with status "info" have their return at the end of the history, so the
 * search may linearize them at any point after their invocation; since nothing observes the
 * state after the last op, linearizing one last is the same as "never happened". `step` must
 * therefore accept any state for an op whose result is unknown.
 */
export interface Model<P> {
  readonly name: string;
  prepare(op: Operation): P | null;
  init(): number;
  /** The state after applying `p`, or -1 when `p`'s recorded result is impossible in `state`. */
  step(state: number, p: P): number;
  /**
   * True when a "fail" completion may still have taken effect (etcd's robustness tests treat
   * client errors so); such ops are searched like "info" ones, with no return.
   */
  readonly failMeansUnknown?: boolean;
  /** True when `p` never changes any state (a read, a failed cas); enables read dominance. */
  readOnly?(p: P): boolean;
  /**
   * Lookahead pruning. `canReach(state, target)`: false only when no sequence of the model's
   * non-resetting ops can take `state` to one where `target` succeeds (e.g. an append-only
   * string that is not a prefix of what a pending get returned). `rescues(r, target)`: `r`
   * might, from some state, lead to one where `target` can succeed again (a put of a prefix);
   * such an op, still pending before the target returns, keeps the target alive.
   */
  canReach?(state: number, target: P): boolean;
  rescues?(r: P, target: P): boolean;
  /** The ops canReach is about (e.g. gets); only these are checked by the lookahead. */
  isTarget?(p: P): boolean;
  /** Equal keys for equal prepared ops (same input and recorded result); enables twin pruning. */
  opKey?(p: P): string;
  /** Splits the history into independent parts (per key); absent means one part. */
  partition?(ops: readonly Operation[]): Map<string, Operation[]>;
  describeOp(op: Operation): string;
  describeState(state: number): string;
}

export const REJECT = -1;

/** Interns values to small integers so states and comparisons are integer operations. */
export class Interner<T = string> {
  private readonly ids = new Map<string, number>();
  private readonly values: T[] = [];
  constructor(private readonly keyOf: (v: T) => string = (v) => v as unknown as string) {}
  id(v: T): number {
    const k = this.keyOf(v);
    let id = this.ids.get(k);
    if (id === undefined) {
      id = this.values.length;
      this.ids.set(k, id);
      this.values.push(v);
    }
    return id;
  }
  value(id: number): T {
    const v = this.values[id];
    if (v === undefined && !(id in this.values)) throw new Error(`no interned value ${id}`);
    return v as T;
  }
}
