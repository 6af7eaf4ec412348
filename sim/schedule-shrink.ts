/**
 * Shrinking a failing explicit schedule by deterministic re-runs: a candidate is kept when its
 * run fails with the same failure class (sim/schedule.ts failureClass). Passes, repeated until a
 * whole round changes nothing or the budget is spent:
 * - steps after the moment the run failed are dropped (they never ran);
 * - delta debugging (ddmin) over the steps: drop chunks, then single steps;
 * - shorter safety phase, fewer client ops, fewer clients, 3 nodes instead of 5, no membership
 *   nemesis (with --membership it runs as a seeded background, not as steps);
 * - background faults of the seed's profile off (network, disk, clock), one family at a time;
 * - earlier ends: a heal, restart or resume moves halfway towards the fault it ends;
 * - an earlier schedule: every step moves earlier (the first to time 0, or all times halved).
 * Every run is a pure function of the candidate file, so the same input and the same run budget
 * give the same shrunk schedule on every machine (a wall-time budget may stop earlier or later).
 */
import type { NemesisAction, NodeName, NodeSelector, Partition, TimedAction } from '../nemesis/index.js';
import type { SimRunResult } from './run.js';
import { QUIET_FAMILIES } from './schedule-options.js';
import type { QuietFamily } from './schedule-options.js';
import { failureClass } from './schedule.js';
import type { ScheduleFile } from './schedule.js';

/** What the shrinker needs to know of a run. */
export type ShrinkRun = Pick<SimRunResult, 'status' | 'message' | 'virtualMs' | 'opsCompleted'>;

export interface ShrinkOptions {
  /** Runs one candidate (runSimulation(scheduleRunOptions(file)) outside tests). */
  readonly run: (file: ScheduleFile) => Promise<ShrinkRun>;
  /** Re-runs allowed, the first (confirming) run included. */
  readonly maxRuns: number;
  /** Checked before each run: true stops shrinking (a wall-time budget; the caller owns the clock). */
  readonly outOfTime?: () => boolean;
  readonly log?: (line: string) => void;
}

export interface ShrinkResult {
  readonly original: ScheduleFile;
  readonly shrunk: ScheduleFile;
  /** The failure class every kept candidate reproduced; 'pass' if the original did not fail. */
  readonly failure: string;
  readonly runs: number;
  /** The budget ran out before a round changed nothing. */
  readonly budgetSpent: boolean;
}

class BudgetSpent extends Error {}

/** Shrinks `original`, which must fail; returns it unchanged if its first run does not. */
export async function shrinkSchedule(original: ScheduleFile, options: ShrinkOptions): Promise<ShrinkResult> {
  let runs = 0;
  const log = options.log ?? (() => undefined);
  const attempt = async (file: ScheduleFile): Promise<ShrinkRun> => {
    if (runs >= options.maxRuns || options.outOfTime?.()) throw new BudgetSpent();
    runs++;
    return options.run(file);
  };
  const first = await attempt(original);
  const failure = failureClass(first);
  if (failure === 'pass') return { original, shrunk: original, failure, runs, budgetSpent: false };
  log(`shrink: reproducing ${failure} with ${original.steps.length} step(s), ${original.durationMs}ms`);
  let best = withoutLateSteps(original, first);
  let lastFail = first;
  /** Keeps `candidate` if it fails the same way. */
  const tryKeep = async (candidate: ScheduleFile, what: string): Promise<boolean> => {
    if (JSON.stringify(candidate) === JSON.stringify(best)) return false;
    const r = await attempt(candidate);
    if (failureClass(r) !== failure) return false;
    best = withoutLateSteps(candidate, r);
    lastFail = r;
    log(`shrink: ${what}: ${best.steps.length} step(s), ${best.durationMs}ms (run ${runs})`);
    return true;
  };
  let budgetSpent = false;
  try {
    for (let changed = true; changed; ) {
      changed = false;
      changed = (await ddmin(best, tryKeep)) || changed;
      changed = (await shrinkRunParameters(() => best, () => lastFail, tryKeep)) || changed;
      changed = (await earlierEnds(() => best, tryKeep)) || changed;
      changed = (await earlierSchedule(() => best, tryKeep)) || changed;
    }
  } catch (error) {
    if (!(error instanceof BudgetSpent)) throw error;
    budgetSpent = true;
    log(`shrink: budget spent after ${runs} run(s)`);
  }
  return { original, shrunk: { ...best, expect: failure }, failure, runs, budgetSpent };
}

type TryKeep = (candidate: ScheduleFile, what: string) => Promise<boolean>;

/** A run that failed at time t never ran the steps after t: they go, and the phase ends there. */
function withoutLateSteps(file: ScheduleFile, failed: ShrinkRun): ScheduleFile {
  const steps = file.steps.filter((s) => s.atMs <= failed.virtualMs);
  return steps.length === file.steps.length ? file : { ...file, steps };
}

/** Zeller's ddmin over the steps: remove chunks of 1/n, doubling n until single steps. */
async function ddmin(start: ScheduleFile, tryKeep: TryKeep): Promise<boolean> {
  let current = start;
  let changed = false;
  let n = 2;
  while (current.steps.length > 0) {
    const steps = current.steps;
    const size = Math.ceil(steps.length / n);
    let removed = false;
    for (let from = 0; from < steps.length; from += size) {
      const rest = [...steps.slice(0, from), ...steps.slice(from + size)];
      const candidate = { ...current, steps: rest };
      if (await tryKeep(candidate, `dropped step(s) ${from}..${Math.min(steps.length, from + size) - 1}`)) {
        current = candidate;
        removed = true;
        changed = true;
        break;
      }
    }
    if (removed) {
      n = Math.max(2, n - 1);
      continue;
    }
    if (size <= 1) break;
    n = Math.min(steps.length, n * 2);
  }
  return changed;
}

async function shrinkRunParameters(best: () => ScheduleFile, lastFail: () => ShrinkRun, tryKeep: TryKeep): Promise<boolean> {
  let changed = false;
  // Shorter safety phase: never before the last step.
  for (const fraction of [0.25, 0.5, 0.75]) {
    const f = best();
    const lastStepMs = f.steps.reduce((m, s) => Math.max(m, s.atMs), 0);
    const durationMs = Math.max(lastStepMs + 1, Math.floor(f.durationMs * fraction));
    if (durationMs < f.durationMs && (await tryKeep({ ...f, durationMs }, `safety phase ${durationMs}ms`))) changed = true;
  }
  for (const fraction of [0, 0.25, 0.5]) {
    const f = best();
    const opsMax = Math.max(1, Math.floor(Math.min(f.opsMax ?? Infinity, lastFail().opsCompleted) * fraction));
    if (opsMax < (f.opsMax ?? Infinity) && (await tryKeep({ ...f, opsMax }, `at most ${opsMax} client op(s)`))) changed = true;
  }
  for (const clients of [1, 2]) {
    const f = best();
    if (clients < f.clients && (await tryKeep({ ...f, clients }, `${clients} client(s)`))) changed = true;
  }
  if (best().nodes === 5) {
    // As is (steps naming n4 or n5 are skipped), then with n4 and n5 renamed onto the least used of n1..n3.
    if (await tryKeep({ ...best(), nodes: 3 }, '3 nodes')) changed = true;
    else if (await tryKeep({ ...best(), nodes: 3, steps: best().steps.map((st) => ({ ...st, action: renamed(st.action, ontoThree(best().steps)) })) }, '3 nodes, n4 and n5 renamed')) changed = true;
  }
  if (best().membership) {
    const { membership: _, ...rest } = best();
    if (await tryKeep(rest, 'no membership nemesis')) changed = true;
  }
  for (const family of QUIET_FAMILIES) {
    const f = best();
    const quiet: QuietFamily[] = [...(f.quiet ?? [])];
    if (quiet.includes(family)) continue;
    if (await tryKeep({ ...f, quiet: [...quiet, family] }, `background ${family} faults off`)) changed = true;
  }
  return changed;
}

/** For each step that ends a fault, the earlier step that started it (same partition id or node). */
function startOf(steps: readonly TimedAction[], i: number): number | undefined {
  const end = steps[i]?.action;
  if (end === undefined) return undefined;
  for (let j = i - 1; j >= 0; j--) {
    const a = (steps[j] as TimedAction).action;
    if (end.f === 'heal' && (a.f === 'partition' || a.f === 'slow-link') && (end.id === undefined || a.id === end.id)) return j;
    if ((end.f === 'restart' || end.f === 'resume') && 'node' in end && end.node.by === 'id') {
      const starts = end.f === 'restart' ? ['kill', 'disk'] : ['pause'];
      if (starts.includes(a.f) && 'node' in a && a.node.by === 'id' && a.node.id === end.node.id) return j;
    }
  }
  return undefined;
}

async function earlierEnds(best: () => ScheduleFile, tryKeep: TryKeep): Promise<boolean> {
  let changed = false;
  for (let i = 0; i < best().steps.length; i++) {
    const f = best();
    const j = startOf(f.steps, i);
    const end = f.steps[i];
    const start = j === undefined ? undefined : f.steps[j];
    if (end === undefined || start === undefined) continue;
    const atMs = start.atMs + Math.floor((end.atMs - start.atMs) / 2);
    if (atMs >= end.atMs) continue;
    const steps = f.steps.map((s, k) => (k === i ? { ...s, atMs } : s));
    steps.sort((a, b) => a.atMs - b.atMs);
    if (await tryKeep({ ...f, steps }, `step ${i} (${end.action.f}) at ${atMs}ms`)) changed = true;
  }
  return changed;
}

/** The whole schedule earlier: first step at 0, then every time halved. */
async function earlierSchedule(best: () => ScheduleFile, tryKeep: TryKeep): Promise<boolean> {
  let changed = false;
  const firstMs = best().steps[0]?.atMs ?? 0;
  if (firstMs > 0) {
    const f = best();
    const candidate = { ...f, durationMs: Math.max(1, f.durationMs - firstMs), steps: f.steps.map((s) => ({ ...s, atMs: s.atMs - firstMs })) };
    if (await tryKeep(candidate, `steps ${firstMs}ms earlier`)) changed = true;
  }
  const f = best();
  const lastMs = f.steps.reduce((m, s) => Math.max(m, s.atMs), 0);
  if (lastMs > 1) {
    const candidate = { ...f, steps: f.steps.map((s) => ({ ...s, atMs: Math.floor(s.atMs / 2) })) };
    if (await tryKeep(candidate, 'step times halved')) changed = true;
  }
  return changed;
}

/** n4 and n5 onto the two of n1..n3 the steps name least (ties: the higher name), so faults stay apart. */
function ontoThree(steps: readonly TimedAction[]): ReadonlyMap<NodeName, NodeName> {
  const text = JSON.stringify(steps);
  const uses = (n: string): number => text.split(`"${n}"`).length - 1;
  const targets = ['n3', 'n2', 'n1'].sort((a, b) => uses(a) - uses(b));
  return new Map([
    ['n4', targets[0] as string],
    ['n5', targets[1] as string],
  ]);
}

/** The action with node names mapped; lists lose the duplicates a merge makes. */
export function renamed(a: NemesisAction, map: ReadonlyMap<NodeName, NodeName>): NemesisAction {
  const n = (x: NodeName): NodeName => map.get(x) ?? x;
  const list = (xs: readonly NodeName[]): NodeName[] => [...new Set(xs.map(n))];
  const sel = (x: NodeSelector): NodeSelector => (x.by === 'id' ? { by: 'id', id: n(x.id) } : x);
  const cut = (p: Partition): Partition => {
    switch (p.kind) {
      case 'halves': {
        const left = list(p.sides[0]);
        return { kind: 'halves', sides: [left, list(p.sides[1]).filter((x) => !left.includes(x))] };
      }
      case 'isolate-leader':
        return p;
      case 'bridge':
        return { kind: 'bridge', left: list(p.left), bridge: n(p.bridge), right: list(p.right) };
      case 'ring':
        return { kind: 'ring', order: list(p.order) };
      case 'one-way':
        return { kind: 'one-way', from: list(p.from), to: list(p.to) };
    }
  };
  switch (a.f) {
    case 'partition':
      return { ...a, partition: cut(a.partition) };
    case 'slow-link':
      return { ...a, a: n(a.a), b: n(a.b) };
    case 'heal':
    case 'add-learner':
    case 'promote':
      return a;
    case 'transfer-leader':
      return { ...a, to: sel(a.to) };
    default:
      return { ...a, node: sel(a.node) };
  }
}
