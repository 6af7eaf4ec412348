/**
 * `npm run sim -- --seed N [--nodes 3|5] [--time ms] [--no-faults] [--check-determinism] [--shrink]`
 * `npm run sim -- --schedule file.json [--shrink]`
 *
 * Runs one seeded simulation, prints the seed and everything it chose, the outcome and the trace
 * hash, and exits 0 pass / 127 crash / 128 liveness / 129 correctness. A failing run is saved to
 * histories/runs/<seed>/ with the one command that reproduces it, and the fault steps it ran as an
 * explicit schedule (schedule.json); --shrink also shrinks that to shrunk.json. This file may read the wall
 * clock (to report speed) and write files; nothing it does feeds back into the run.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { firstDivergence } from './loop.js';
import { EXIT_CODES, WORKLOAD_NAMES, runSimulation } from './run.js';
import type { SimRunOptions, SimRunResult, WorkloadName } from './run.js';
import { RUNS_DIR, failureFiles, reproduceCommand } from './report.js';
import type { FileSink } from './report.js';
import { describeScheduleFile, failureClass, parseScheduleFile, scheduleRunOptions } from './schedule.js';
import type { ScheduleFile } from './schedule.js';
import { INJECTED_INVARIANTS, QUIET_FAMILIES } from './schedule-options.js';
import type { InjectedInvariant, QuietFamily } from './schedule-options.js';
import { SHRINK_RUNS_MAX, saveSchedules, scheduleCommand } from './schedule-save.js';

const NODE_FILES: FileSink = {
  mkdirp: (dir) => mkdirSync(dir, { recursive: true }),
  write: (path, text) => writeFileSync(path, text),
};

const USAGE = `usage: npm run sim -- [--seed N] [--nodes 3|5] [--time ms] [--clients N] [--workload register|kv|watch|lease|lock] [--membership] [--no-faults] [--check-determinism]
                      [--ops N] [--quiet ${QUIET_FAMILIES.join(',')}] [--inject ${INJECTED_INVARIANTS.join('|')}] [--shrink] [--shrink-budget 120s]
       npm run sim -- --schedule file.json [--shrink] [--shrink-budget 120s] [--check-determinism]
  --schedule F      replay an explicit schedule (tsetcd-schedule/1 JSON: run parameters and timed nemesis steps)
  --shrink          on failure, shrink the run's schedule by re-running it; saved as histories/runs/<seed>/shrunk.json
  --ops N           clients stop after N completed ops
  --quiet F,F       turn the seed's background faults off (network loss, disk faults, clock skew)
  --inject I        test only: a deliberately failing invariant (proves recording and shrinking)`;

interface Cli {
  run: SimRunOptions;
  checkDeterminism: boolean;
  scheduleFile: ScheduleFile | undefined;
  schedulePath: string | undefined;
  shrink: boolean;
  shrinkBudgetMs: number;
}

function parseOptions(argv: string[]): Cli {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string' },
      nodes: { type: 'string' },
      time: { type: 'string' },
      clients: { type: 'string' },
      workload: { type: 'string' },
      'no-faults': { type: 'boolean', default: false },
      membership: { type: 'boolean', default: false },
      'check-determinism': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
      schedule: { type: 'string' },
      shrink: { type: 'boolean', default: false },
      'shrink-budget': { type: 'string' },
      ops: { type: 'string' },
      quiet: { type: 'string' },
      inject: { type: 'string' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const shrinkBudgetMs = values['shrink-budget'] === undefined ? 120_000 : durationMs('--shrink-budget', values['shrink-budget']);
  const common = { checkDeterminism: values['check-determinism'], shrink: values.shrink, shrinkBudgetMs };
  if (values.schedule !== undefined) {
    const file = parseScheduleFile(readFileSync(values.schedule, 'utf8'));
    return { run: scheduleRunOptions(file), scheduleFile: file, schedulePath: values.schedule, ...common };
  }
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer, got ${values.seed}`);
  const nodes = values.nodes === undefined ? undefined : Number(values.nodes);
  if (nodes !== undefined && nodes !== 3 && nodes !== 5) throw new Error(`--nodes must be 3 or 5, got ${values.nodes}`);
  const workload = values.workload ?? 'register';
  if (!(WORKLOAD_NAMES as readonly string[]).includes(workload)) throw new Error(`--workload must be one of ${WORKLOAD_NAMES.join('|')}, got ${workload}`);
  const run: SimRunOptions = {
    seed,
    workload: workload as WorkloadName,
    ...(values.membership ? { membership: true } : {}),
    ...(nodes === undefined ? {} : { nodes }),
    ...(values.time === undefined ? {} : { safetyMs: positive('--time', values.time) }),
    ...(values.clients === undefined ? {} : { clients: positive('--clients', values.clients) }),
    noFaults: values['no-faults'],
    ...(values.ops === undefined ? {} : { opsMax: positive('--ops', values.ops) }),
    ...(values.quiet === undefined ? {} : { quiet: listOf('--quiet', values.quiet, QUIET_FAMILIES) }),
    ...(values.inject === undefined ? {} : { inject: listOf('--inject', values.inject, INJECTED_INVARIANTS)[0] as InjectedInvariant }),
  };
  return { run, scheduleFile: undefined, schedulePath: undefined, ...common };
}

function listOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  const items = text.split(',').map((s) => s.trim());
  for (const item of items) if (!(allowed as readonly string[]).includes(item)) throw new Error(`${flag} takes ${allowed.join(',')}, got ${item}`);
  return items as T[];
}

/** '90s', '2m', '1500ms'; a bare number is seconds. */
function durationMs(flag: string, text: string): number {
  const match = /^(\d+)(ms|s|m)?$/.exec(text.trim());
  if (!match) throw new Error(`${flag} must look like 90s or 2m, got '${text}'`);
  return Number(match[1]) * { ms: 1, s: 1_000, m: 60_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm'];
}

function positive(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${flag} must be a positive integer, got ${text}`);
  return n;
}

function summary(result: SimRunResult, wallMs: number): string {
  const simSeconds = result.virtualMs / 1000;
  return [
    `result: ${result.status.toUpperCase()} — ${result.message.split('\n')[0]}`,
    `ops completed ${result.opsCompleted}, committed entries ${result.committedEntries}, leader terms ${result.leaderTerms}, nemesis actions ${result.nemesisActions.length}`,
    `linearizability: ${result.linearizability?.verdict ?? 'not checked'}`,
    ...(result.verdict ? [result.verdict.summary, ...result.verdict.findings.slice(0, 10).map((f) => `finding: ${f}`)] : []),
    `events ${result.events}, virtual ${simSeconds.toFixed(1)}s, wall ${(wallMs / 1000).toFixed(2)}s (${(simSeconds / Math.max(wallMs / 1000, 1e-3)).toFixed(1)} simulated s per wall s)`,
    `trace hash ${result.traceHash}`,
  ].join('\n');
}

async function main(): Promise<number> {
  const { run, checkDeterminism, scheduleFile, schedulePath, shrink, shrinkBudgetMs } = parseOptions(process.argv.slice(2));
  if (scheduleFile !== undefined) console.log(describeScheduleFile(scheduleFile));
  const started = Date.now();
  const result = await runSimulation(run);
  const wallMs = Date.now() - started;
  console.log(result.profileText);
  console.log(summary(result, wallMs));
  if (checkDeterminism) {
    const again = await runSimulation(run);
    if (again.traceHash !== result.traceHash) {
      const at = firstDivergence(result.loop, again.loop);
      console.log(`DETERMINISM FAILURE: second run trace hash ${again.traceHash}`);
      if (at) console.log(`first divergence at event #${at.eventIndex}:\n  run 1: ${at.a ?? '(not in trace log)'}\n  run 2: ${at.b ?? '(not in trace log)'}`);
      return EXIT_CODES.crash;
    }
    console.log(`determinism: second run gave the same trace hash ${again.traceHash}`);
  }
  if (scheduleFile !== undefined) {
    for (const skipped of result.skippedSteps) console.log(`skipped step: ${skipped}`);
    const got = failureClass(result);
    if (scheduleFile.expect !== undefined) console.log(`expected ${scheduleFile.expect}: ${got === scheduleFile.expect ? 'reproduced' : `NOT reproduced (got ${got})`}`);
  }
  if (result.status !== 'pass') {
    console.log(result.message);
    // A replayed schedule is reproduced by its file; a seed by its command.
    const reproduce = schedulePath !== undefined ? scheduleCommand(schedulePath) : reproduceCommand(run);
    // A replay must not overwrite the failure it replays: it goes next to its file (runs/<seed>/replay-shrunk/).
    const dir = schedulePath === undefined ? `${RUNS_DIR}/${run.seed}` : join(dirname(schedulePath), `replay-${basename(schedulePath, '.json')}`);
    NODE_FILES.mkdirp(dir);
    const shrinkStarted = Date.now();
    const budget = shrink ? { maxRuns: SHRINK_RUNS_MAX, outOfTime: () => Date.now() - shrinkStarted > shrinkBudgetMs } : undefined;
    const saved = await saveSchedules(dir, NODE_FILES, run, result, budget, (line) => console.log(line));
    for (const [name, text] of failureFiles(run, result, saved.lines, reproduce)) NODE_FILES.write(`${dir}/${name}`, text);
    console.log(`saved to ${dir}/`);
    for (const line of saved.lines) console.log(line);
    console.log(`reproduce: ${reproduce}`);
  }
  return EXIT_CODES[result.status];
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    console.error(USAGE);
    process.exit(2);
  },
);
