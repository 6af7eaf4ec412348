/**
 * Simulator throughput for `npm run bench`: runs `count` seeds of runSimulation in this process
 * (as a fuzz driver would) and prints one JSON line: seeds/s, virtual-to-wall ratio, statuses.
 *
 *   npx tsx ci/bench/sim-seeds.ts [count=10] [safetyMs=5000] [workload=register]
 */
import { performance } from 'node:perf_hooks';
import { runSimulation } from '../../sim/run.js';

export interface SimSeedsReport {
  readonly seeds: number;
  readonly safetyMs: number;
  readonly workload: 'register' | 'kv';
  readonly wallMs: number;
  readonly seedsPerSec: number;
  /** Virtual ms simulated per wall ms, over all seeds. */
  readonly virtualPerWall: number;
  readonly events: number;
  readonly statuses: Readonly<Record<string, number>>;
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 10);
  const safetyMs = Number(process.argv[3] ?? 5000);
  const workload = process.argv[4] === 'kv' ? 'kv' : 'register';
  const statuses: Record<string, number> = {};
  let virtualMs = 0;
  let events = 0;
  const startedMs = performance.now();
  for (let seed = 1; seed <= count; seed++) {
    const r = await runSimulation({ seed, safetyMs, workload });
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    virtualMs += r.virtualMs;
    events += r.events;
  }
  const wallMs = performance.now() - startedMs;
  const report: SimSeedsReport = {
    seeds: count, safetyMs, workload, wallMs,
    seedsPerSec: (count * 1000) / wallMs,
    virtualPerWall: virtualMs / wallMs,
    events,
    statuses,
  };
  console.log(JSON.stringify(report));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
