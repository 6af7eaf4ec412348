/**
 * `npm run fuzz -- --seeds N [--from S] [--shard i/n] [--workload register|kv|mixed]
 *                 [--time-budget 10m] [--safety-ms 3000] [--jobs 2] [--shrink-budget 60s] [--mode seeds|schedule]`
 *
 * A failing seed's recorded fault schedule is saved as schedule.json and shrunk (delta debugging
 * by re-runs, within --shrink-budget) to shrunk.json, each with its `npm run sim -- --schedule`
 * command. --mode schedule draws schedules from nemesis/'s fast-check arbitrary instead, and
 * fast-check shrinks a failing one (ci/fuzz-schedule.ts).
 * Runs many simulator seeds in parallel worker processes, keeps every failing run under
 * histories/runs/<seed>/ with the command that replays it, prints a summary, and exits 0 only
 * if every seed that ran passed (1 on any failure, 2 on bad arguments, 130 when interrupted).
 * A time budget that runs out is not a failure: the summary says how many seeds ran.
 */
import { campaignCommand, FUZZ_USAGE, parseFuzzArgs, shardSeeds } from './fuzz-options.js';
import type { FuzzPlan } from './fuzz-options.js';
import { runFuzz } from './fuzz-driver.js';
import { failuresOf, formatDuration, formatSummary, ProgressReporter } from './fuzz-progress.js';
import { runScheduleCampaign } from './fuzz-schedule.js';

function header(plan: FuzzPlan, campaign: string): string[] {
  const seeds = shardSeeds(plan);
  const range = seeds.length === 0 ? 'no seeds' : `seeds ${seeds[0]}..${seeds[seeds.length - 1]}${plan.shardCount > 1 ? ` (every ${plan.shardCount}th)` : ''}`;
  return [
    `fuzz: ${seeds.length} seed(s) of a campaign of ${plan.seedCount} from ${plan.fromSeed} (${plan.fromSource}), shard ${plan.shardIndex}/${plan.shardCount}: ${range}`,
    `fuzz: workload ${plan.workload}${plan.membership ? ' + membership nemesis' : ''}, safety phase ${plan.safetyMs} ms, ${plan.jobs} job(s), time budget ${plan.timeBudgetMs === undefined ? 'none' : formatDuration(plan.timeBudgetMs)}, failures saved under ${plan.outDir}/`,
    `fuzz: ${plan.mode === 'schedule' ? 'schedules drawn from the nemesis arbitrary (fast-check), in this process' : 'each seed its own fault profile'}; shrink budget ${plan.shrinkBudgetMs === 0 ? 'off' : formatDuration(plan.shrinkBudgetMs)} per failure${plan.inject === undefined ? '' : `; TEST ONLY injected invariant ${plan.inject}`}`,
    `fuzz: rerun this shard with: ${campaign}`,
  ];
}

async function main(): Promise<number> {
  let plan: FuzzPlan;
  try {
    plan = parseFuzzArgs(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    console.error(FUZZ_USAGE);
    return 2;
  }
  const campaign = campaignCommand(plan);
  const reporter = new ProgressReporter((text) => process.stdout.write(text), process.stdout.isTTY === true, Date.now());
  for (const line of header(plan, campaign)) reporter.line(line);
  if (plan.mode === 'schedule') {
    const campaignResult = await runScheduleCampaign(plan, (line) => reporter.line(line), () => Date.now());
    for (const line of campaignResult.lines) reporter.line(line);
    reporter.line(`campaign: ${campaign}`);
    reporter.line(campaignResult.failed ? 'result: FAIL' : 'result: PASS');
    return campaignResult.failed ? 1 : 0;
  }
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  const summary = await runFuzz(plan, {
    campaign,
    signal: abort.signal,
    progress: (p) => reporter.update(p, Date.now(), p.done === p.total),
    failure: (o) => {
      reporter.line(`FAIL seed ${o.seed}: ${o.status} — ${o.message}${o.savedDir ? ` (saved to ${o.savedDir}/)` : ''}; reproduce: ${o.reproduce}`);
      for (const s of o.schedules ?? []) reporter.line(`  ${s}`);
    },
  });
  for (const line of formatSummary(plan, campaign, summary)) reporter.line(line);
  if (summary.stoppedBy === 'interrupt') return 130;
  return failuresOf(summary).length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`fuzz: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(2);
  },
);
