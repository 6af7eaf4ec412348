import { check, NEMESIS, type Op, type Process, type Value } from './op.js';

/**
 * An invocation joined with its completion. `status` is "info" both for an explicit info
 * completion and for an op still open when the history ends: either way its outcome is unknown.
 */
export interface Operation {
  /** Dense id, 0..n-1 in invocation order. */
  readonly id: number;
  readonly process: Process;
  readonly f: string;
  readonly status: 'ok' | 'fail' | 'info';
  readonly input: Value;
  /** The completion's value; undefined when the op never completed. */
  readonly output: Value | undefined;
  readonly invoke: Op;
  readonly complete: Op | undefined;
  /** Position of the invocation in the history (its `index`). */
  readonly callIndex: number;
  /** Position of the completion; Infinity when the outcome is unknown. */
  readonly returnIndex: number;
}

export interface PairOptions {
  /** Keep nemesis ops (default false: they are faults, not client operations). */
  readonly includeNemesis?: boolean;
}

/** Joins invocations with completions. Throws HistoryError on a malformed history. */
export function pairOps(ops: readonly Op[], options: PairOptions = {}): Operation[] {
  const open = new Map<Process, number>();
  type Draft = { invoke: Op; complete: Op | undefined };
  const drafts: Draft[] = [];
  let lastIndex = -Infinity;
  for (const op of ops) {
    check(op.index > lastIndex, () => `op index ${op.index} does not increase`);
    lastIndex = op.index;
    if (op.process === NEMESIS && options.includeNemesis !== true) continue;
    if (op.type === 'invoke') {
      check(!open.has(op.process), () => `process ${String(op.process)} invokes at index ${op.index} with an op open`);
      open.set(op.process, drafts.length);
      drafts.push({ invoke: op, complete: undefined });
      continue;
    }
    const at = open.get(op.process);
    check(at !== undefined, () => `process ${String(op.process)} completes at index ${op.index} without an invoke`);
    const draft = drafts[at] as Draft;
    check(draft.invoke.f === op.f, () => `index ${op.index}: completion f=${op.f} does not match invoke f=${draft.invoke.f}`);
    draft.complete = op;
    open.delete(op.process);
  }
  return drafts.map((d, id) => toOperation(id, d.invoke, d.complete));
}

function toOperation(id: number, invoke: Op, complete: Op | undefined): Operation {
  const status = complete === undefined ? 'info' : complete.type === 'invoke' ? 'info' : complete.type;
  return {
    id,
    process: invoke.process,
    f: invoke.f,
    status,
    input: invoke.value,
    output: complete?.value,
    invoke,
    complete,
    callIndex: invoke.index,
    returnIndex: status === 'info' || complete === undefined ? Infinity : complete.index,
  };
}
