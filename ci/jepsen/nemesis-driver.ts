/**
 * Runs a schedule against the real cluster in real time and records each action in the history
 * as an op of process "nemesis" (invoke, then an `info` completion saying what happened), so
 * the checker's timeline and the summary show faults on the same axis as client operations.
 */
import { actionToOp, applyAction, describeAction } from '../../nemesis/index.js';
import type { NemesisAction, Schedule } from '../../nemesis/index.js';
import { NEMESIS } from '../../histories/index.js';
import type { HistoryRecorder, Value } from '../../histories/index.js';
import type { RealCluster } from './cluster.js';

export interface FaultRecord {
  /** Milliseconds since the workload started. */
  readonly atMs: number;
  readonly action: string;
  /** False when a leader selector found no leader, or the action failed. */
  readonly applied: boolean;
  readonly notes: readonly string[];
}

export class NemesisDriver {
  readonly faults: FaultRecord[] = [];
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly cluster: RealCluster,
    private readonly recorder: HistoryRecorder,
    private readonly nowNs: () => number,
    private readonly log: (line: string) => void,
  ) {}

  async apply(action: NemesisAction): Promise<FaultRecord> {
    const { f, value } = actionToOp(action);
    this.recorder.invoke(NEMESIS, f, value, this.nowNs());
    const atMs = Math.round(this.nowNs() / 1e6);
    const resolved = applyAction(this.cluster, action);
    const notes = await this.cluster.settle();
    const failed = notes.some((n) => n.includes(' failed: '));
    const result = resolved ? notes : ['no leader to resolve the selector: skipped'];
    const done: Value = { ...(value as Record<string, Value>), result: result.join('; ') };
    this.recorder.complete(NEMESIS, 'info', f, done, this.nowNs());
    const record: FaultRecord = { atMs, action: describeAction(action), applied: resolved && !failed, notes: result };
    this.faults.push(record);
    this.log(`  ${(atMs / 1000).toFixed(1).padStart(6)}s nemesis ${record.action}: ${result.join('; ')}`);
    return record;
  }

  /** Sleeps until each step's time (relative to `startNs`) and applies it; stop() cuts it short. */
  async run(schedule: Schedule, startNs: number): Promise<void> {
    for (const step of schedule.steps) {
      const waitMs = startNs / 1e6 + step.atMs - this.nowNs() / 1e6;
      if (waitMs > 0) await new Promise<void>((r) => {
        const t = setTimeout(r, waitMs);
        this.wake = () => (clearTimeout(t), r());
      });
      if (this.stopped) return;
      await this.apply(step.action);
    }
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  /** Faults actually applied: started a fault (not its end, not a no-op). */
  faultsApplied(): number {
    const starts = new Set(['kill', 'pause', 'partition']);
    return this.faults.filter((r) => r.applied && starts.has(r.action.split(' ')[0] ?? '') && !r.notes.every((n) => /was not|already|not running/.test(n))).length;
  }
}
