/**
 * `npm run bench`: tsetcd against real etcd, side by side, in the manner of etcd's benchmark
 * tool. Starts the target(s) itself, drives them from forked worker processes, prints a table
 * (medians over rounds, tsetcd/etcd ratios), optionally the simulator's seeds/s, the checker's
 * time and the top self-time functions of a tsetcd CPU profile. See docs/bench.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { BENCH_USAGE, BenchFlagError, parseBenchArgs } from './bench/args.js';
import type { BenchOptions } from './bench/args.js';
import { checkerBench, simSeeds } from './bench/extras.js';
import type { CheckerReport } from './bench/extras.js';
import { loadAverage } from './bench/procstat.js';
import { topSelfTime } from './bench/profile.js';
import { formatSummary, summarizeRuns } from './bench/report.js';
import { runBench } from './bench/run.js';
import { listProfiles } from './bench/servers.js';
import type { SimSeedsReport } from './bench/sim-seeds.js';
import { fmt } from './bench/stats.js';

function profiles(dir: string): string {
  return listProfiles(dir).map((file) => {
    const p = topSelfTime(file);
    const lines = p.top.map((t) => `  ${fmt(t.share * 100, 1).padStart(5)}%  ${fmt(t.selfMs, 0).padStart(7)} ms  ${t.fn}  ${t.location}`);
    return [`CPU profile ${file}: ${fmt(p.totalMs, 0)} ms busy, ${fmt(p.idleMs, 0)} ms idle; top self time:`, ...lines].join('\n');
  }).join('\n\n');
}

async function extras(options: BenchOptions, log: (s: string) => void): Promise<{ sim?: SimSeedsReport; checker?: CheckerReport }> {
  const out: { sim?: SimSeedsReport; checker?: CheckerReport } = {};
  if (options.simSeeds > 0) {
    log(`simulator: ${options.simSeeds} seeds...`);
    out.sim = await simSeeds(options.simSeeds);
  }
  if (options.checker) {
    log('checker: porcupine histories...');
    const c = await checkerBench().catch((e: unknown) => ({ summary: `failed: ${e instanceof Error ? e.message : String(e)}` }));
    if (c !== undefined) out.checker = c;
  }
  return out;
}

async function main(): Promise<void> {
  let options: BenchOptions | 'help';
  try {
    options = parseBenchArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof BenchFlagError)) throw e;
    console.error(`bench: ${e.message}\n\n${BENCH_USAGE}`);
    process.exit(2);
  }
  if (options === 'help') return console.log(BENCH_USAGE);
  const opts = options;
  const log = (s: string): void => void (opts.quiet || console.error(s));
  if (opts.cpuProfDir !== undefined) mkdirSync(opts.cpuProfDir, { recursive: true });
  const loadBefore = loadAverage();
  log(`bench: load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} cores`);
  const runs = await runBench(opts, log);
  const loadAfter = loadAverage();
  const summary = summarizeRuns(opts, runs);
  const more = await extras(opts, log);
  const lines = [formatSummary(opts, summary)];
  if (more.sim !== undefined)
    lines.push(`simulator: ${more.sim.seeds} seeds (register workload, ${more.sim.safetyMs / 1000} s virtual safety phase) in ` +
      `${fmt(more.sim.wallMs / 1000, 1)} s: ${fmt(more.sim.seedsPerSec)} seeds/s, ${fmt(more.sim.virtualPerWall, 1)}x real time, ${JSON.stringify(more.sim.statuses)}`);
  if (more.checker !== undefined) lines.push(`checker (checker/bench.ts, porcupine histories, 1 run): ${more.checker.summary}`);
  if (opts.cpuProfDir !== undefined) lines.push(profiles(opts.cpuProfDir));
  lines.push(`load average before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(' ')} (${cpus().length} cores)`);
  console.log(lines.join('\n\n'));
  if (opts.json !== undefined) {
    const raw = { argv: process.argv.slice(2), node: process.version, cores: cpus().length, loadBefore, loadAfter, options: opts, runs, summary, extras: more };
    writeFileSync(opts.json, JSON.stringify(raw, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
