/**
 * The fuzz driver's command line, parsed into a plan: which seeds, how each runs, how many
 * workers. Pure apart from `seedFromCommit`, so the seed arithmetic (range, shards) is testable.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import type { SimRunOptions } from '../sim/run.js';
import { INJECTED_INVARIANTS } from '../sim/schedule-options.js';
import type { InjectedInvariant } from '../sim/schedule-options.js';

/** seeds: each seed's own random fault profile; schedule: fault schedules drawn from nemesis/'s fast-check arbitrary. */
export type FuzzMode = 'seeds' | 'schedule';

export type FuzzWorkload = 'register' | 'kv' | 'mixed';

export interface FuzzPlan {
  /** Size of the whole campaign, before sharding. */
  readonly seedCount: number;
  readonly fromSeed: number;
  /** Where fromSeed came from, for the header ("--from", "commit abc123..."). */
  readonly fromSource: string;
  /** 1-based shard index and shard count (1/1 when unsharded). */
  readonly shardIndex: number;
  readonly shardCount: number;
  readonly workload: FuzzWorkload;
  readonly safetyMs: number;
  /** Adds the simulator's membership nemesis (learners, promotion, removal, leader transfer). */
  readonly membership: boolean;
  readonly jobs: number;
  /** Stop starting seeds after this much wall time (undefined: no budget). */
  readonly timeBudgetMs: number | undefined;
  /** A seed still running after this much wall time is killed and counted as a failure. */
  readonly seedTimeoutMs: number;
  readonly outDir: string;
  /** Test hook: these seeds run normally, then report 'correctness' (proves failures are kept). */
  readonly injectFailureSeeds: ReadonlySet<number>;
  readonly mode: FuzzMode;
  /** Wall time a failing seed may spend shrinking its schedule (0: no shrinking). */
  readonly shrinkBudgetMs: number;
  /** Test only: every run checks this deliberately failing invariant (sim/schedule-options.ts). */
  readonly inject: InjectedInvariant | undefined;
}

export const FUZZ_USAGE = `usage: npm run fuzz -- --seeds N [--from S] [--shard i/n] [--workload register|kv|mixed]
                     [--time-budget 10m] [--safety-ms 3000] [--jobs N] [--seed-timeout 300s]
                     [--out-dir histories/runs] [--mode seeds|schedule] [--shrink-budget 60s|0]
  --seeds N         size of the campaign (all shards together)
  --from S          first seed (default: derived from the current git commit, so each commit fuzzes fresh seeds)
  --shard i/n       run every n-th seed of the campaign starting at the i-th (1 <= i <= n)
  --workload W      register, kv, or mixed (even seeds register, odd seeds kv); default mixed
  --time-budget T   stop starting seeds after T (e.g. 90s, 10m, 1h); seeds in flight finish
  --safety-ms MS    virtual length of each run's fault phase (default 3000)
  --membership      add the simulator's membership nemesis (learners, promotion, removal, leader transfer)
  --jobs N          worker processes (default: available cores)
  --seed-timeout T  wall time after which a seed's worker is killed and the seed fails (default 300s)
  --inject-failure S,S  test only: report these seeds as correctness failures after running them
  --mode M          seeds (default): each seed's random fault profile; schedule: fault schedules drawn
                    from nemesis/'s fast-check arbitrary (fc.assert, in this process), shrunk by fast-check
  --shrink-budget T wall time a failing seed spends shrinking its recorded schedule to shrunk.json
                    (default 60s; 0 turns shrinking off; the seed timeout is extended by it)
  --inject I        test only: every run checks a deliberately failing invariant (${INJECTED_INVARIANTS.join(', ')})`;

const DEFAULT_SAFETY_MS = 3_000;
const DEFAULT_SEED_TIMEOUT_MS = 300_000;
const DEFAULT_SHRINK_BUDGET_MS = 60_000;
const MAX_FROM_SEED = 2 ** 31;

export function parseFuzzArgs(argv: readonly string[], defaultFrom: () => { seed: number; source: string } = seedFromCommit): FuzzPlan {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      seeds: { type: 'string' },
      from: { type: 'string' },
      shard: { type: 'string' },
      workload: { type: 'string' },
      'time-budget': { type: 'string' },
      'safety-ms': { type: 'string' },
      jobs: { type: 'string' },
      'seed-timeout': { type: 'string' },
      'out-dir': { type: 'string' },
      'inject-failure': { type: 'string' },
      membership: { type: 'boolean', default: false },
      mode: { type: 'string' },
      'shrink-budget': { type: 'string' },
      inject: { type: 'string' },
    },
    strict: true,
  });
  if (values.seeds === undefined) throw new Error('--seeds is required');
  const seedCount = positiveInt('--seeds', values.seeds);
  const from = values.from === undefined ? defaultFrom() : { seed: nonNegativeInt('--from', values.from), source: '--from' };
  if (!Number.isSafeInteger(from.seed + seedCount)) throw new Error(`--from ${from.seed} + --seeds ${seedCount} overflows`);
  const [shardIndex, shardCount] = values.shard === undefined ? [1, 1] : parseShard(values.shard);
  const workload = values.workload ?? 'mixed';
  if (workload !== 'register' && workload !== 'kv' && workload !== 'mixed') throw new Error(`--workload must be register, kv or mixed, got ${workload}`);
  const mode = values.mode ?? 'seeds';
  if (mode !== 'seeds' && mode !== 'schedule') throw new Error(`--mode must be seeds or schedule, got ${mode}`);
  const inject = values.inject;
  if (inject !== undefined && !(INJECTED_INVARIANTS as readonly string[]).includes(inject)) throw new Error(`--inject must be one of ${INJECTED_INVARIANTS.join(', ')}, got ${inject}`);
  const shrinkText = values['shrink-budget'];
  return {
    seedCount,
    fromSeed: from.seed,
    fromSource: from.source,
    shardIndex,
    shardCount,
    workload,
    safetyMs: values['safety-ms'] === undefined ? DEFAULT_SAFETY_MS : positiveInt('--safety-ms', values['safety-ms']),
    membership: values.membership,
    jobs: values.jobs === undefined ? availableParallelism() : positiveInt('--jobs', values.jobs),
    timeBudgetMs: values['time-budget'] === undefined ? undefined : parseDurationMs('--time-budget', values['time-budget']),
    seedTimeoutMs: values['seed-timeout'] === undefined ? DEFAULT_SEED_TIMEOUT_MS : parseDurationMs('--seed-timeout', values['seed-timeout']),
    outDir: values['out-dir'] ?? 'histories/runs',
    injectFailureSeeds: new Set((values['inject-failure'] ?? '').split(',').filter((s) => s !== '').map((s) => nonNegativeInt('--inject-failure', s))),
    mode,
    shrinkBudgetMs: shrinkText === undefined ? DEFAULT_SHRINK_BUDGET_MS : shrinkText.trim() === '0' ? 0 : parseDurationMs('--shrink-budget', shrinkText),
    inject: inject as InjectedInvariant | undefined,
  };
}

/** This shard's seeds, in the order they are started. */
export function shardSeeds(plan: Pick<FuzzPlan, 'seedCount' | 'fromSeed' | 'shardIndex' | 'shardCount'>): number[] {
  const seeds: number[] = [];
  for (let offset = plan.shardIndex - 1; offset < plan.seedCount; offset += plan.shardCount) seeds.push(plan.fromSeed + offset);
  return seeds;
}

/** The single-seed options for one seed of the campaign; `mixed` alternates by seed so a replay needs only the seed. */
export function runOptionsFor(
  plan: Pick<FuzzPlan, 'workload' | 'safetyMs'> & { readonly membership?: boolean; readonly inject?: InjectedInvariant | undefined },
  seed: number,
): SimRunOptions {
  const workload = plan.workload === 'mixed' ? (seed % 2 === 0 ? 'register' : 'kv') : plan.workload;
  return { seed, workload, safetyMs: plan.safetyMs, ...(plan.membership ? { membership: true } : {}), ...(plan.inject === undefined ? {} : { inject: plan.inject }) };
}

/** The command that reruns exactly this shard of the campaign (same seeds, same settings). */
export function campaignCommand(plan: FuzzPlan): string {
  const parts = ['npm run fuzz --', `--seeds ${plan.seedCount}`, `--from ${plan.fromSeed}`];
  if (plan.shardCount > 1) parts.push(`--shard ${plan.shardIndex}/${plan.shardCount}`);
  parts.push(`--workload ${plan.workload}`, `--safety-ms ${plan.safetyMs}`);
  if (plan.membership) parts.push('--membership');
  if (plan.mode === 'schedule') parts.push('--mode schedule');
  if (plan.inject !== undefined) parts.push(`--inject ${plan.inject}`);
  return parts.join(' ');
}

/**
 * A seed below 2^31 from the first 8 hex digits of `git rev-parse HEAD`: fresh seeds per commit,
 * stable for a rerun. Without git (a tarball checkout) it falls back to a fixed seed and says so,
 * rather than failing the CI step.
 */
export function seedFromCommit(): { seed: number; source: string } {
  let head: string;
  try {
    head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return { seed: NO_GIT_FROM_SEED, source: 'no git commit found: fixed default, pass --from S for other seeds' };
  }
  return { seed: seedFromCommitHash(head), source: `commit ${head.slice(0, 12)}` };
}

const NO_GIT_FROM_SEED = 1;

export function seedFromCommitHash(hexHash: string): number {
  if (!/^[0-9a-f]{8,}$/i.test(hexHash)) throw new Error(`not a commit hash: '${hexHash}'`);
  return Number.parseInt(hexHash.slice(0, 8), 16) % MAX_FROM_SEED;
}

/** '90s', '10m', '1h', '1500ms'; a bare number is seconds. */
export function parseDurationMs(flag: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new Error(`${flag} must look like 90s, 10m or 1h, got '${text}'`);
  const unitMs = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = Math.round(Number(match[1]) * unitMs);
  if (ms <= 0) throw new Error(`${flag} must be positive, got '${text}'`);
  return ms;
}

function parseShard(text: string): [number, number] {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index < 1 || index > count) throw new Error(`--shard must be i/n with 1 <= i <= n, got '${text}'`);
  return [index, count];
}

function positiveInt(flag: string, text: string): number {
  const n = nonNegativeInt(flag, text);
  if (n === 0) throw new Error(`${flag} must be positive, got ${text}`);
  return n;
}

function nonNegativeInt(flag: string, text: string): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(n)) throw new Error(`${flag} must be a non-negative integer, got '${text}'`);
  return n;
}
