/**
 * What a failing run adds to histories/runs/<seed>/ besides report.ts's files: schedule.json (the
 * fault steps it executed, as an explicit schedule) and, when shrunk, shrunk.json, with the
 * command that replays each. Shared by `npm run sim` and the fuzz workers. The caller owns the
 * wall clock (the budget) and the disk (a FileSink).
 */
import type { FileSink } from './report.js';
import { runSimulation } from './run.js';
import type { SimRunOptions, SimRunResult } from './run.js';
import { describeScheduleFile, formatScheduleFile, scheduleOfRun, scheduleRunOptions } from './schedule.js';
import type { ScheduleFile } from './schedule.js';
import { shrinkSchedule } from './schedule-shrink.js';
import type { ShrinkResult } from './schedule-shrink.js';

/** A run count no shrink goes past, whatever its wall-time budget. */
export const SHRINK_RUNS_MAX = 1_000;

export interface ShrinkBudget {
  readonly maxRuns: number;
  /** True once the wall-time budget is spent. */
  readonly outOfTime: () => boolean;
}

export function scheduleCommand(path: string): string {
  return `npm run sim -- --schedule ${path}`;
}

/** Runs a schedule file as the shrinker does (the checker bound as the run's). */
export function runScheduleFile(file: ScheduleFile, extra: Partial<SimRunOptions> = {}): Promise<SimRunResult> {
  return runSimulation({ ...scheduleRunOptions(file), ...extra });
}

/**
 * Writes schedule.json for a failing run into `dir`, shrinks it within `budget` when given, writes
 * shrunk.json, and returns report lines (with the replay commands) for report.txt and the console.
 */
export async function saveSchedules(
  dir: string,
  sink: FileSink,
  run: SimRunOptions,
  result: SimRunResult,
  budget: ShrinkBudget | undefined,
  log: (line: string) => void = () => undefined,
): Promise<{ lines: string[]; shrink?: ShrinkResult }> {
  const recorded = scheduleOfRun(run, result, run.schedule === undefined ? `recorded from seed ${run.seed}` : 'replayed schedule');
  sink.write(`${dir}/schedule.json`, formatScheduleFile(recorded));
  const lines = [`schedule (${recorded.steps.length} step(s), failure ${recorded.expect ?? 'none'}): ${scheduleCommand(`${dir}/schedule.json`)}`];
  if (budget === undefined) return { lines };
  const extra: Partial<SimRunOptions> = run.checkerTimeoutMs === undefined ? {} : { checkerTimeoutMs: run.checkerTimeoutMs };
  const shrink = await shrinkSchedule(recorded, { run: (f) => runScheduleFile(f, extra), maxRuns: budget.maxRuns, outOfTime: budget.outOfTime, log });
  if (shrink.failure === 'pass') {
    lines.push(`shrink: the recorded schedule did not reproduce the failure (${recorded.expect ?? ''}); nothing shrunk`);
    return { lines, shrink };
  }
  const shrunk: ScheduleFile = { ...shrink.shrunk, note: `shrunk from ${recorded.steps.length} step(s) in ${shrink.runs} run(s)${shrink.budgetSpent ? ', budget spent' : ''}` };
  sink.write(`${dir}/shrunk.json`, formatScheduleFile(shrunk));
  lines.push(
    `shrunk to ${shrunk.steps.length} step(s) in ${shrink.runs} run(s)${shrink.budgetSpent ? ' (budget spent, may shrink further)' : ''}: ${scheduleCommand(`${dir}/shrunk.json`)}`,
    describeScheduleFile(shrunk),
  );
  return { lines, shrink };
}
