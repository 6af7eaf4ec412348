/**
 * The real runner's schedule: quiet, fault, quiet, fault ... as Jepsen's nemesis generators do,
 * cycling through the enabled fault kinds so that every kind runs in a short test. Targets and
 * partition shapes come from the seed; the result is the vocabulary's Schedule, printed and
 * recorded like the simulator's.
 */
import type { NemesisAction, NodeName, NodeSelector, Partition, Schedule, TimedAction } from '../../nemesis/index.js';
import type { SeededRand } from '../../src/util/index.js';
import type { FaultKind } from './options.js';

export interface PeriodicConfig {
  readonly nodes: readonly NodeName[];
  readonly kinds: readonly FaultKind[];
  readonly durationMs: number;
  readonly quietMs: number;
  readonly faultMs: number;
}

function shuffled<T>(rand: SeededRand, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rand.int(i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

function partitionOf(rand: SeededRand, nodes: readonly NodeName[]): Partition {
  const order = shuffled(rand, nodes);
  const shapes: Partition[] = [{ kind: 'isolate-leader' }];
  if (nodes.length >= 2) {
    // A minority on one side, so the majority side can keep serving.
    const cut = 1 + rand.int(Math.max(1, Math.floor((nodes.length - 1) / 2)));
    shapes.push({ kind: 'halves', sides: [order.slice(0, cut), order.slice(cut)] });
  }
  if (nodes.length >= 3) {
    const [bridge, ...rest] = order;
    const half = Math.max(1, Math.floor(rest.length / 2));
    shapes.push({ kind: 'bridge', left: rest.slice(0, half), bridge: bridge as NodeName, right: rest.slice(half) });
  }
  return rand.pick(shapes);
}

/** The start and end actions of one fault episode. */
function episode(rand: SeededRand, kind: FaultKind, nodes: readonly NodeName[]): { start: NemesisAction; end: NemesisAction[] } {
  const byLeader = rand.chance(0.5);
  const node: NodeSelector = byLeader ? { by: 'leader' } : { by: 'id', id: rand.pick(nodes) };
  // The leader may change during the episode: end it on every node (the actions are idempotent).
  const ends = (f: 'restart' | 'resume'): NemesisAction[] => (byLeader ? nodes.map((id) => ({ f, node: { by: 'id', id } })) : [{ f, node }]);
  switch (kind) {
    case 'kill':
      return { start: { f: 'kill', node }, end: ends('restart') };
    case 'pause':
      return { start: { f: 'pause', node }, end: ends('resume') };
    case 'partition':
      return { start: { f: 'partition', partition: partitionOf(rand, nodes) }, end: [{ f: 'heal' }] };
  }
}

export function periodicSchedule(rand: SeededRand, config: PeriodicConfig): Schedule {
  const steps: TimedAction[] = [];
  const order = shuffled(rand, config.kinds);
  let atMs = config.quietMs;
  for (let i = 0; order.length > 0 && atMs < config.durationMs; i++) {
    const kind = order[i % order.length] as FaultKind;
    const { start, end } = episode(rand, kind, config.nodes);
    const endMs = Math.min(config.durationMs, atMs + config.faultMs);
    steps.push({ atMs, action: start }, ...end.map((action) => ({ atMs: endMs, action })));
    atMs = endMs + config.quietMs;
  }
  return { nodes: [...config.nodes], durationMs: config.durationMs, steps };
}
