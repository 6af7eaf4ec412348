import { check, NEMESIS, type Op, type OpType, type Process, type Value } from './op.js';

/**
 * Checks the well-formedness rules every history must satisfy, op by op, so that a recorder
 * bug fails at the line that breaks the rule rather than as a confusing checker verdict.
 */
export class WellFormedness {
  private readonly open = new Map<Process, Op>();
  private lastIndex = -1;

  accept(op: Op): void {
    check(op.index > this.lastIndex, () => `op index ${op.index} does not increase (previous ${this.lastIndex})`);
    const pending = this.open.get(op.process);
    if (op.type === 'invoke') {
      // The nemesis may run overlapping actions; clients may not.
      check(
        pending === undefined || op.process === NEMESIS,
        () => `process ${String(op.process)} invokes ${op.f} at index ${op.index} while op ${pending?.index} is open`,
      );
      this.open.set(op.process, op);
      this.lastIndex = op.index;
      return;
    }
    check(
      pending !== undefined,
      () => `process ${String(op.process)} completes ${op.f} (${op.type}) at index ${op.index} without an open invoke`,
    );
    check(
      pending.f === op.f,
      () => `process ${String(op.process)} completes f=${op.f} at index ${op.index} but invoked f=${pending.f}`,
    );
    this.open.delete(op.process);
    this.lastIndex = op.index;
  }

  openOps(): Op[] {
    return [...this.open.values()];
  }
}

/** Append-only history recorder; every append is checked for well-formedness. */
export class HistoryRecorder {
  private readonly ops: Op[] = [];
  private readonly rules = new WellFormedness();

  invoke(process: Process, f: string, value: Value, time: number, node?: string): Op {
    return this.append(process, 'invoke', f, value, time, node);
  }

  complete(process: Process, type: Exclude<OpType, 'invoke'>, f: string, value: Value, time: number, node?: string): Op {
    return this.append(process, type, f, value, time, node);
  }

  append(process: Process, type: OpType, f: string, value: Value, time: number, node?: string): Op {
    const op: Op = {
      index: this.ops.length,
      process,
      type,
      f,
      value,
      time,
      ...(node === undefined ? {} : { node }),
    };
    this.rules.accept(op);
    this.ops.push(op);
    return op;
  }

  /** Ops still waiting for a completion (they count as `info` when checked). */
  openOps(): Op[] {
    return this.rules.openOps();
  }

  history(): readonly Op[] {
    return this.ops;
  }
}

/** Throws HistoryError at the first op that breaks the rules. */
export function assertWellFormed(ops: readonly Op[]): void {
  const rules = new WellFormedness();
  for (const op of ops) rules.accept(op);
}
