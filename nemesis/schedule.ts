/**
 * Schedules: timed lists of nemesis actions, and a seeded generator built from fast-check
 * arbitraries, so that a schedule that makes a run fail shrinks to a small one (fewer episodes,
 * earlier, shorter) with fc.check / fc.assert.
 *
 * The generator thinks in episodes (a fault and, for faults that last, the action that ends it),
 * so shrinking drops a fault together with its end. Episodes that hit the leader end by
 * restarting or resuming every node: the leader may have changed meanwhile, and those actions
 * are idempotent.
 */
import fc from 'fast-check';
import { PARTITION_KINDS } from './vocabulary.js';
import type { NemesisAction, NodeName, NodeSelector, Partition, PartitionKind } from './vocabulary.js';
import { describeAction } from './vocabulary.js';

export interface TimedAction {
  readonly atMs: number;
  readonly action: NemesisAction;
}

export interface Schedule {
  readonly nodes: readonly NodeName[];
  readonly durationMs: number;
  /** Sorted by atMs; all within [0, durationMs]. */
  readonly steps: readonly TimedAction[];
}

export type FaultFamily = 'partition' | 'crash' | 'pause' | 'clock' | 'disk' | 'membership';

export const FAULT_FAMILIES: readonly FaultFamily[] = ['partition', 'crash', 'pause', 'clock', 'disk', 'membership'];

export interface ScheduleConfig {
  readonly nodes: readonly NodeName[];
  /** Length of the fault phase the schedule covers. */
  readonly durationMs: number;
  readonly maxEpisodes?: number;
  readonly maxEpisodeMs?: number;
  readonly families?: readonly FaultFamily[];
  /** Only these cuts in the partition family (and no slow links); default: every kind and slow links. */
  readonly partitionKinds?: readonly PartitionKind[];
  readonly clockSkewMsMax?: number;
  readonly clockJumpMsMax?: number;
  readonly slowFsyncMsMax?: number;
  readonly slowLinkMsMax?: number;
}

/** One fault as generated: its start action, and its end action(s) if it lasts. */
interface Episode {
  readonly atMs: number;
  readonly lengthMs: number;
  readonly start: NemesisAction;
  readonly end: readonly NemesisAction[];
}

const DEFAULTS = { maxEpisodes: 8, maxEpisodeMs: 5_000, clockSkewMsMax: 2_000, clockJumpMsMax: 5_000, slowFsyncMsMax: 500, slowLinkMsMax: 500 };

/** Placeholder id in generated add-learner/promote episodes; numbered n<k> when flattened. */
const NEW_LEARNER = '\u0000learner';

export function scheduleArbitrary(config: ScheduleConfig): fc.Arbitrary<Schedule> {
  if (config.nodes.length < 1) throw new Error('a schedule needs at least one node');
  if (!(config.durationMs > 0)) throw new Error(`durationMs must be positive, got ${config.durationMs}`);
  const settings = { ...DEFAULTS, ...config };
  const families = config.families ?? FAULT_FAMILIES;
  if (families.length === 0) return fc.constant({ nodes: [...config.nodes], durationMs: config.durationMs, steps: [] });
  const episode = fc
    .record({
      atMs: fc.integer({ min: 0, max: config.durationMs }),
      lengthMs: fc.integer({ min: 0, max: settings.maxEpisodeMs }),
      fault: fc.oneof(...families.map((f) => familyArbitrary(f, settings))),
    })
    .map(({ atMs, lengthMs, fault }): Episode => ({ atMs, lengthMs, ...fault }));
  return fc.array(episode, { maxLength: settings.maxEpisodes }).map((episodes) => flatten(config, episodes));
}

/** The schedule seed `seed` draws: the same seed gives the same schedule on every machine. */
export function generateSchedule(seed: number, config: ScheduleConfig): Schedule {
  const [schedule] = fc.sample(scheduleArbitrary(config), { seed, numRuns: 1 });
  if (schedule === undefined) throw new Error('fast-check drew no schedule');
  return schedule;
}

export function formatSchedule(schedule: Schedule): string {
  const head = `schedule over ${schedule.durationMs}ms on ${schedule.nodes.join(',')}: ${schedule.steps.length} action(s)`;
  return [head, ...schedule.steps.map((s) => `  ${String(s.atMs).padStart(6)}ms ${describeAction(s.action)}`)].join('\n');
}

type Settings = typeof DEFAULTS & ScheduleConfig;
type Fault = Pick<Episode, 'start' | 'end'>;

function familyArbitrary(family: FaultFamily, s: Settings): fc.Arbitrary<Fault> {
  const nodes = s.nodes;
  const id = fc.constantFrom(...nodes);
  const byId = id.map((n): NodeSelector => ({ by: 'id', id: n }));
  const everyNode = (f: 'restart' | 'resume'): NemesisAction[] => nodes.map((n) => ({ f, node: { by: 'id', id: n } }));
  switch (family) {
    case 'partition': {
      const cut = partitionArbitrary(nodes, s.partitionKinds ?? PARTITION_KINDS).map((partition): Fault => ({ start: { f: 'partition', partition }, end: [{ f: 'heal' }] }));
      // A slow link rather than a cut one, a quarter of the time, unless the cuts were chosen.
      if (nodes.length < 2 || s.partitionKinds !== undefined) return cut;
      const slow = fc.tuple(fc.shuffledSubarray([...nodes], { minLength: 2, maxLength: 2 }), fc.integer({ min: 1, max: s.slowLinkMsMax })).map(
        ([[a, b], extraMs]): Fault => ({ start: { f: 'slow-link', a: a as NodeName, b: b as NodeName, extraMs }, end: [{ f: 'heal' }] }),
      );
      return fc.oneof({ arbitrary: cut, weight: 3 }, { arbitrary: slow, weight: 1 });
    }
    case 'crash':
      return fc.oneof(
        byId.map((node): Fault => ({ start: { f: 'kill', node }, end: [{ f: 'restart', node }] })),
        fc.constant<Fault>({ start: { f: 'kill', node: { by: 'leader' } }, end: everyNode('restart') }),
      );
    case 'pause':
      return fc.oneof(
        byId.map((node): Fault => ({ start: { f: 'pause', node }, end: [{ f: 'resume', node }] })),
        fc.constant<Fault>({ start: { f: 'pause', node: { by: 'leader' } }, end: everyNode('resume') }),
      );
    case 'clock':
      return fc.oneof(
        fc.tuple(byId, fc.integer({ min: -s.clockSkewMsMax, max: s.clockSkewMsMax })).map(([node, skewMs]): Fault => ({
          start: { f: 'clock-skew', node, skewMs },
          end: [{ f: 'clock-skew', node, skewMs: 0 }],
        })),
        fc.tuple(byId, fc.integer({ min: -s.clockJumpMsMax, max: s.clockJumpMsMax })).map(([node, deltaMs]): Fault => ({ start: { f: 'clock-jump', node, deltaMs }, end: [] })),
      );
    case 'disk':
      return diskArbitrary(byId, s);
    case 'membership':
      return fc.oneof(
        fc.constant<Fault>({ start: { f: 'add-learner', id: NEW_LEARNER }, end: [{ f: 'promote', id: NEW_LEARNER }] }),
        byId.map((node): Fault => ({ start: { f: 'remove-member', node }, end: [] })),
        byId.map((to): Fault => ({ start: { f: 'transfer-leader', to }, end: [] })),
      );
  }
}

function diskArbitrary(byId: fc.Arbitrary<NodeSelector>, s: Settings): fc.Arbitrary<Fault> {
  return fc.oneof(
    byId.map((node): Fault => ({ start: { f: 'disk', node, fault: { kind: 'lose-unsynced' } }, end: [{ f: 'restart', node }] })),
    byId.map((node): Fault => ({ start: { f: 'disk', node, fault: { kind: 'torn-write' } }, end: [{ f: 'restart', node }] })),
    byId.map((node): Fault => ({ start: { f: 'disk', node, fault: { kind: 'corruption', pathPrefix: 'member/snap/' } }, end: [] })),
    fc.tuple(byId, fc.integer({ min: 1, max: s.slowFsyncMsMax }), fc.integer({ min: 1, max: s.maxEpisodeMs })).map(
      ([node, extraMs, durationMs]): Fault => ({ start: { f: 'disk', node, fault: { kind: 'slow-fsync', extraMs, durationMs } }, end: [] }),
    ),
  );
}

function partitionArbitrary(nodes: readonly NodeName[], kinds: readonly PartitionKind[]): fc.Arbitrary<Partition> {
  // Kinds that need more nodes than the cluster has are left out rather than degenerate.
  const usable = kinds.filter((k) => (k === 'bridge' || k === 'ring' ? nodes.length >= 3 : k === 'isolate-leader' || nodes.length >= 2));
  if (usable.length === 0) return fc.constant<Partition>({ kind: 'isolate-leader' });
  const order = fc.shuffledSubarray([...nodes], { minLength: nodes.length, maxLength: nodes.length });
  const split = fc.tuple(order, fc.integer({ min: 1, max: Math.max(1, nodes.length - 1) }));
  const one = (kind: PartitionKind): fc.Arbitrary<Partition> => {
    switch (kind) {
      case 'halves':
        return split.map(([o, cut]): Partition => ({ kind, sides: [o.slice(0, cut), o.slice(cut)] }));
      case 'isolate-leader':
        return fc.constant<Partition>({ kind });
      case 'bridge':
        return order.map(([bridge, ...rest]): Partition => {
          const half = Math.max(1, Math.floor(rest.length / 2));
          return { kind, left: rest.slice(0, half), bridge: bridge as NodeName, right: rest.slice(half) };
        });
      case 'ring':
        return order.map((o): Partition => ({ kind, order: o }));
      case 'one-way':
        return split.map(([o, cut]): Partition => ({ kind, from: o.slice(0, cut), to: o.slice(cut) }));
    }
  };
  return fc.oneof(...usable.map(one));
}

function flatten(config: ScheduleConfig, episodes: readonly Episode[]): Schedule {
  const taken = new Set(config.nodes);
  const freshName = (): NodeName => {
    let k = config.nodes.length + 1;
    while (taken.has(`n${k}`)) k++;
    taken.add(`n${k}`);
    return `n${k}`;
  };
  const steps: TimedAction[] = [];
  for (const e of episodes) {
    const learner = e.start.f === 'add-learner' ? freshName() : undefined;
    const named = (a: NemesisAction): NemesisAction => (learner !== undefined && (a.f === 'add-learner' || a.f === 'promote') ? { ...a, id: learner } : a);
    steps.push({ atMs: e.atMs, action: named(e.start) });
    const endMs = Math.min(config.durationMs, e.atMs + e.lengthMs);
    for (const a of e.end) steps.push({ atMs: endMs, action: named(a) });
  }
  // A stable sort keeps each episode's start before its end when both fall on the same ms.
  steps.sort((a, b) => a.atMs - b.atMs);
  return { nodes: [...config.nodes], durationMs: config.durationMs, steps };
}
