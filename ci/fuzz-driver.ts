/**
 * Runs a fuzz plan's seeds across worker processes. Each worker loads the simulator once and
 * pulls seeds one at a time, so a slow seed never holds up the others. A worker that dies or
 * overruns --seed-timeout fails its seed (a report.txt is written for it) and is replaced.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { reproduceCommand } from '../sim/report.js';
import { runOptionsFor, shardSeeds } from './fuzz-options.js';
import type { FuzzPlan } from './fuzz-options.js';
import type { FromWorker, FuzzStatus, SeedOutcome, ToWorker } from './fuzz-protocol.js';
import type { FuzzProgress, FuzzSummary } from './fuzz-progress.js';

export interface FuzzHooks {
  /** Called after every seed and once a second, for the progress line. */
  progress?(p: FuzzProgress): void;
  /** Called as soon as a seed fails, so CI logs show it before the summary. */
  failure?(outcome: SeedOutcome): void;
  /** Aborting stops starting seeds and kills the workers (Ctrl-C). */
  signal?: AbortSignal;
  /** Worker module to fork; the real one unless a test swaps it. */
  workerPath?: string;
  /** Written into every saved report so a failure names its campaign. */
  campaign?: string;
}

interface Slot {
  readonly child: ChildProcess;
  seed: number | undefined;
  startedMs: number;
  timer: NodeJS.Timeout | undefined;
  sawReady: boolean;
}

const WORKER_PATH = fileURLToPath(new URL('./fuzz-worker.ts', import.meta.url));

function tsxImport(): string {
  try {
    return import.meta.resolve('tsx');
  } catch {
    return 'tsx';
  }
}

export function runFuzz(plan: FuzzPlan, hooks: FuzzHooks = {}): Promise<FuzzSummary> {
  const seeds = shardSeeds(plan);
  const outcomes: SeedOutcome[] = [];
  const slots = new Set<Slot>();
  /** Seeds in flight when interrupted: killed, so neither passed nor failed. */
  const abandoned: number[] = [];
  const startedMs = Date.now();
  let next = 0;
  let stoppedBy: FuzzSummary['stoppedBy'];
  let fatal: Error | undefined;
  const workerPath = hooks.workerPath ?? WORKER_PATH;
  const execArgv = ['--import', tsxImport()];

  return new Promise<FuzzSummary>((resolve, reject) => {
    const progress = (): void =>
      hooks.progress?.({ done: outcomes.length, total: seeds.length, failed: outcomes.filter((o) => o.status !== 'pass').length, elapsedMs: Date.now() - startedMs });
    const ticker = setInterval(progress, 1_000);

    const finishIfIdle = (): void => {
      if (slots.size > 0) return;
      clearInterval(ticker);
      hooks.signal?.removeEventListener('abort', onAbort);
      if (fatal) return reject(fatal);
      progress();
      const notRun = [...abandoned, ...seeds.slice(next)].sort((a, b) => a - b);
      resolve({ planned: seeds.length, outcomes, wallMs: Date.now() - startedMs, stoppedBy: notRun.length > 0 ? stoppedBy : undefined, notRun });
    };

    const record = (outcome: SeedOutcome): void => {
      const saved = outcome.status !== 'pass' && outcome.savedDir === undefined ? { ...outcome, savedDir: saveDriverReport(plan, outcome, hooks.campaign) } : outcome;
      outcomes.push(saved);
      if (saved.status !== 'pass') hooks.failure?.(saved);
      progress();
    };

    const hasWork = (): boolean => {
      if (stoppedBy !== undefined || fatal) return false;
      if (plan.timeBudgetMs !== undefined && Date.now() - startedMs >= plan.timeBudgetMs && next < seeds.length) stoppedBy = 'budget';
      return stoppedBy === undefined && next < seeds.length;
    };

    const dispatch = (slot: Slot): void => {
      if (!hasWork()) {
        send(slot, { kind: 'exit' });
        return;
      }
      const seed = seeds[next++] as number;
      slot.seed = seed;
      slot.startedMs = Date.now();
      slot.timer = setTimeout(() => timeOut(slot), plan.seedTimeoutMs);
      const run = runOptionsFor(plan, seed);
      send(slot, { kind: 'run', run, injectFailure: plan.injectFailureSeeds.has(seed), outDir: plan.outDir, campaign: hooks.campaign ?? '', shrinkBudgetMs: plan.shrinkBudgetMs });
    };

    const timeOut = (slot: Slot): void => {
      if (slot.seed === undefined) return;
      const seed = slot.seed;
      slot.seed = undefined;
      record(failedOutcome(plan, seed, 'timeout', `still running after ${plan.seedTimeoutMs} ms of wall time; worker killed`, Date.now() - slot.startedMs));
      slot.child.kill('SIGKILL');
    };

    const launch = (): void => {
      const child = fork(workerPath, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const slot: Slot = { child, seed: undefined, startedMs: 0, timer: undefined, sawReady: false };
      slots.add(slot);
      child.on('message', (message: FromWorker) => {
        if (message.kind === 'shrinking') {
          // The seed failed and shrinks within its budget: a fresh limit, the budget plus the seed's own.
          clearTimeout(slot.timer);
          if (slot.seed !== undefined) slot.timer = setTimeout(() => timeOut(slot), plan.shrinkBudgetMs + plan.seedTimeoutMs);
          return;
        }
        if (message.kind === 'ready') slot.sawReady = true;
        else {
          clearTimeout(slot.timer);
          if (slot.seed === undefined) return; // already failed by the timeout
          slot.seed = undefined;
          record(message.outcome);
        }
        dispatch(slot);
      });
      child.on('exit', (code, signal) => {
        clearTimeout(slot.timer);
        slots.delete(slot);
        // Ctrl-C reaches the workers too, possibly before the driver's own handler has run.
        if (signal === 'SIGINT') stoppedBy = 'interrupt';
        if (!slot.sawReady && stoppedBy !== 'interrupt') {
          fatal ??= new Error(`fuzz worker ${workerPath} exited (code ${code}, signal ${signal}) before it was ready`);
        }
        if (slot.seed !== undefined && stoppedBy !== 'interrupt') {
          record(failedOutcome(plan, slot.seed, 'worker-died', `worker exited (code ${code}, signal ${signal}) during the run`, Date.now() - slot.startedMs));
        }
        if (hasWork()) launch();
        finishIfIdle();
      });
    };

    const onAbort = (): void => {
      stoppedBy = 'interrupt';
      for (const slot of slots) {
        if (slot.seed !== undefined) abandoned.push(slot.seed);
        slot.seed = undefined;
        slot.child.kill('SIGKILL');
      }
    };
    hooks.signal?.addEventListener('abort', onAbort);

    const workers = Math.max(1, Math.min(plan.jobs, seeds.length));
    if (seeds.length === 0) finishIfIdle();
    else for (let i = 0; i < workers; i++) launch();
  });
}

function send(slot: Slot, message: ToWorker): void {
  if (slot.child.connected) slot.child.send(message);
}

function failedOutcome(plan: FuzzPlan, seed: number, status: FuzzStatus, message: string, wallMs: number): SeedOutcome {
  return { seed, status, message, wallMs, reproduce: reproduceCommand(runOptionsFor(plan, seed)) };
}

/** For failures the worker could not save (it died or hung): the reason and the replay command. */
function saveDriverReport(plan: FuzzPlan, outcome: SeedOutcome, campaign: string | undefined): string {
  const dir = `${plan.outDir.replace(/\/+$/, '')}/${outcome.seed}`;
  mkdirSync(dir, { recursive: true });
  const lines = [`status: ${outcome.status}`, `message: ${outcome.message}`, `reproduce: ${outcome.reproduce}`];
  if (campaign) lines.push('', `fuzz campaign: ${campaign}`);
  writeFileSync(`${dir}/report.txt`, lines.join('\n') + '\n');
  return dir;
}
