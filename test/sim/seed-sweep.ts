import { expect } from 'vitest';
import { runSimulation } from '../../sim/run.js';
import type { SimRunResult, WorkloadName } from '../../sim/run.js';

/** Short runs keep 200+ seeds inside the test budget; `npm run fuzz` runs long ones. */
export const SWEEP_SAFETY_MS = 3_000;

function failureText(r: SimRunResult, workload: WorkloadName, safetyMs: number): string {
  return `seed ${r.seed} ${r.status}: ${r.message}\nreproduce: npm run sim -- --seed ${r.seed} --nodes ${r.profile.nodeCount} --time ${safetyMs} --workload ${workload}\n${r.profileText}\n${r.clusterState}`;
}

/**
 * Runs seeds [from, to) on `nodes`-member clusters; every one must pass (safety invariants,
 * liveness after healing, linearizable history). A failure names the seed and the command
 * that replays it.
 */
export async function sweep(from: number, to: number, nodes: 3 | 5 | undefined, workload: WorkloadName = 'register', safetyMs = SWEEP_SAFETY_MS): Promise<void> {
  const failures: string[] = [];
  let faultActions = 0;
  let ops = 0;
  for (let seed = from; seed < to; seed++) {
    const r = await runSimulation({ seed, ...(nodes === undefined ? {} : { nodes }), workload, safetyMs, checkerTimeoutMs: 10_000 });
    faultActions += r.nemesisActions.length;
    ops += r.opsCompleted;
    if (r.status !== 'pass') failures.push(failureText(r, workload, safetyMs));
  }
  expect(failures).toEqual([]);
  // The sweep must actually exercise faults and clients, or it proves nothing.
  expect(faultActions).toBeGreaterThan(to - from);
  expect(ops).toBeGreaterThan((to - from) * 50);
}
