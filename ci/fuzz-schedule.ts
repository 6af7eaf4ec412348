/**
 * `npm run fuzz -- --mode schedule`: fault schedules drawn from nemesis/'s fast-check arbitrary
 * (scheduleArbitrary) instead of each seed's random profile, run through the simulator's schedule
 * interpreter under fc.check, in this process. A failing schedule shrinks the fast-check way
 * (fewer episodes, earlier, shorter), then the run parameters shrink by re-runs (fewer ops,
 * clients, nodes, background faults: sim/schedule-shrink.ts), and both are saved under
 * <out-dir>/<seed>/ as schedule.json (the first failing draw) and shrunk.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { FAULT_FAMILIES, scheduleArbitrary } from '../nemesis/index.js';
import type { FaultFamily, Schedule } from '../nemesis/index.js';
import { runSimulation } from '../sim/run.js';
import type { SimRunResult } from '../sim/run.js';
import { SCHEDULE_FORMAT, describeScheduleFile, failureClass, formatScheduleFile, scheduleRunOptions } from '../sim/schedule.js';
import type { ScheduleFile } from '../sim/schedule.js';
import { SHRINK_RUNS_MAX, runScheduleFile, scheduleCommand } from '../sim/schedule-save.js';
import { shrinkSchedule } from '../sim/schedule-shrink.js';
import type { FuzzPlan } from './fuzz-options.js';

export interface ScheduleCampaign {
  readonly runs: number;
  readonly failed: boolean;
  /** fast-check's seed and path, which replay the draw with fc.check. */
  readonly fcSeed: number;
  readonly lines: readonly string[];
}

const SEED_MAX = 2 ** 31 - 1;

/** A draw: the simulator seed (kept fixed while shrinking), the node count, and the schedule. */
interface Draw {
  readonly seed: number;
  readonly nodes: 3 | 5;
  readonly schedule: Schedule;
}

function drawArbitrary(plan: FuzzPlan): fc.Arbitrary<Draw> {
  // Membership steps need the simulator's spare machines, which --membership provides.
  const families: FaultFamily[] = FAULT_FAMILIES.filter((f) => f !== 'membership' || plan.membership);
  return fc.tuple(fc.noShrink(fc.integer({ min: 0, max: SEED_MAX })), fc.constantFrom<3 | 5>(3, 5)).chain(([seed, nodes]) =>
    scheduleArbitrary({ nodes: Array.from({ length: nodes }, (_, i) => `n${i + 1}`), durationMs: plan.safetyMs, families }).map((schedule) => ({ seed, nodes, schedule })),
  );
}

function fileOf(plan: FuzzPlan, draw: Draw, note: string): ScheduleFile {
  const workload = plan.workload === 'mixed' ? (draw.seed % 2 === 0 ? 'register' : 'kv') : plan.workload;
  return {
    format: SCHEDULE_FORMAT,
    seed: draw.seed,
    nodes: draw.nodes,
    workload,
    clients: 5,
    durationMs: plan.safetyMs,
    ...(plan.membership ? { membership: true } : {}),
    ...(plan.inject === undefined ? {} : { inject: plan.inject }),
    note,
    steps: draw.schedule.steps,
  };
}

export async function runScheduleCampaign(plan: FuzzPlan, progress: (line: string) => void, nowMs: () => number): Promise<ScheduleCampaign> {
  const startedMs = nowMs();
  let runs = 0;
  let firstFailure: { file: ScheduleFile; result: SimRunResult } | undefined;
  let failedAtMs: number | undefined;
  const property = fc.asyncProperty(drawArbitrary(plan), async (draw) => {
    // Shrink budget spent: fast-check takes every further candidate as passing, which ends its
    // shrinking at the smallest failing draw found so far.
    if (failedAtMs !== undefined && nowMs() - failedAtMs > plan.shrinkBudgetMs) return true;
    const file = fileOf(plan, draw, `fuzz --mode schedule, fast-check seed ${plan.fromSeed}`);
    const result = await runSimulation(scheduleRunOptions(file));
    runs++;
    if (runs % 10 === 0) progress(`fuzz: ${runs} schedule run(s), ${((nowMs() - startedMs) / 1000).toFixed(0)}s`);
    if (result.status !== 'pass' && firstFailure === undefined) {
      firstFailure = { file: { ...file, expect: failureClass(result) }, result };
      failedAtMs = nowMs();
      progress(`fuzz: seed ${draw.seed} failed (${firstFailure.file.expect ?? ''}) with ${file.steps.length} step(s); fast-check shrinks it`);
    }
    return result.status === 'pass';
  });
  const details = await fc.check(property, {
    seed: plan.fromSeed,
    numRuns: plan.seedCount,
    endOnFailure: plan.shrinkBudgetMs === 0,
    // A time budget interrupts (not a failure); a failure found before it still gets its shrink budget.
    ...(plan.timeBudgetMs === undefined ? {} : { interruptAfterTimeLimit: plan.timeBudgetMs + plan.shrinkBudgetMs }),
  });
  const lines = [`fuzz: fast-check ran ${details.numRuns} schedule(s) (seed ${details.seed}), ${details.numShrinks} shrink step(s)${details.interrupted ? ', interrupted by the time budget' : ''}`];
  const counterexample = details.counterexample?.[0];
  if (firstFailure === undefined) return { runs, failed: false, fcSeed: details.seed, lines };
  if (counterexample === undefined) {
    lines.push(`FAIL: ${firstFailure.file.expect ?? ''} at seed ${firstFailure.file.seed}, but fast-check kept no counterexample`);
    return { runs, failed: true, fcSeed: details.seed, lines };
  }
  const dir = `${plan.outDir.replace(/\/+$/, '')}/${counterexample.seed}`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/schedule.json`, formatScheduleFile(firstFailure.file));
  const expect = firstFailure.file.expect ?? failureClass(firstFailure.result);
  const fcShrunk: ScheduleFile = { ...fileOf(plan, counterexample, `fast-check counterexample (seed ${details.seed}, path ${details.counterexamplePath ?? ''})`), expect };
  const shrinkStartedMs = nowMs();
  const more = await shrinkSchedule(fcShrunk, {
    run: (f) => runScheduleFile(f),
    maxRuns: SHRINK_RUNS_MAX,
    outOfTime: () => nowMs() - shrinkStartedMs > plan.shrinkBudgetMs / 2,
  });
  const shrunk = more.failure === 'pass' ? fcShrunk : more.shrunk;
  writeFileSync(`${dir}/shrunk.json`, formatScheduleFile(shrunk));
  lines.push(
    `FAIL: ${expect} (first at seed ${firstFailure.file.seed} with ${firstFailure.file.steps.length} step(s))`,
    `schedule: ${scheduleCommand(`${dir}/schedule.json`)}`,
    `shrunk to ${shrunk.steps.length} step(s) (fast-check, then ${more.runs} re-run(s)): ${scheduleCommand(`${dir}/shrunk.json`)}`,
    describeScheduleFile(shrunk),
  );
  return { runs, failed: true, fcSeed: details.seed, lines };
}
