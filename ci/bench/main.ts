/** The body of `npm run bench` (see ci/bench.ts): run, summarize, print, write JSON. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { BenchOptions } from './args.js';
import { checkerBench, simSeeds } from './extras.js';
import type { CheckerReport } from './extras.js';
import { loadAverage } from './procstat.js';
import { selfTimeByArea, topSelfTime } from './profile.js';
import { formatSummary, summarizeRuns } from './report.js';
import { runBench } from './run.js';
import { listProfiles } from './servers.js';
import type { SimSeedsReport } from './sim-seeds.js';
import { fmt } from './stats.js';

function profiles(dir: string): string {
  // Only main threads: node also profiles tsx's loader thread (CPU.<date>.<time>.<pid>.<thread>.<seq>).
  return listProfiles(dir).filter((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)).map((file) => {
    const p = topSelfTime(file);
    const lines = p.top.map((t) => `  ${fmt(t.share * 100, 1).padStart(5)}%  ${fmt(t.selfMs, 0).padStart(7)} ms  ${t.fn}  ${t.location}`);
    const areas = selfTimeByArea(file).slice(0, 12).map((a) => `${a.area} ${fmt(a.share * 100, 1)}%`).join(', ');
    return [`CPU profile ${file}: ${fmt(p.totalMs, 0)} ms busy, ${fmt(p.idleMs, 0)} ms idle; top self time:`, ...lines, `  by area: ${areas}`].join('\n');
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

/** Runs the bench in this process (with --rev, ci/bench.ts has already re-executed inside the snapshot). */
export async function benchMain(opts: BenchOptions, argv: readonly string[], sourceCommit: string | undefined): Promise<void> {
  const log = (s: string): void => void (opts.quiet || console.error(s));
  if (opts.cpuProfDir !== undefined) mkdirSync(opts.cpuProfDir, { recursive: true });
  if (sourceCommit !== undefined) log(`bench: source from commit ${sourceCommit} (git archive; current ci/bench overlaid)`);
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
    const raw = { argv, sourceCommit, node: process.version, cores: cpus().length, loadBefore, loadAfter, options: opts, runs, summary, extras: more };
    writeFileSync(opts.json, JSON.stringify(raw, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
  }
}
