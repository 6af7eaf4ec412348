/** Messages between the fuzz driver and its worker processes (over the fork IPC channel). */
import type { SimRunOptions, SimStatus } from '../sim/run.js';

/** A simulator outcome, or what the driver saw when the worker itself failed. */
export type FuzzStatus = SimStatus | 'timeout' | 'worker-died';

export type ToWorker =
  | {
      readonly kind: 'run';
      readonly run: SimRunOptions;
      readonly injectFailure: boolean;
      readonly outDir: string;
      readonly campaign: string;
      /** Wall time a failure may spend shrinking its schedule; 0: record schedule.json only. */
      readonly shrinkBudgetMs: number;
    }
  | { readonly kind: 'exit' };

export interface SeedOutcome {
  readonly seed: number;
  readonly status: FuzzStatus;
  /** First line of the run's message. */
  readonly message: string;
  readonly wallMs: number;
  readonly reproduce: string;
  /** histories/runs/<seed> for a failure. */
  readonly savedDir?: string;
  readonly traceHash?: string;
  /** The linearizability checker's verdict; 'unknown' means it hit its deadline (the seed still passes). */
  readonly linearizability?: 'valid' | 'invalid' | 'unknown';
  /** For a failure: the replay commands of its recorded and shrunk schedules. */
  readonly schedules?: readonly string[];
}

/** 'shrinking': the seed failed and its schedule is being shrunk (the driver extends its time limit). */
export type FromWorker = { readonly kind: 'ready' } | { readonly kind: 'shrinking'; readonly seed: number } | { readonly kind: 'done'; readonly outcome: SeedOutcome };
