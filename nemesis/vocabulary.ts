/**
 * The fault vocabulary shared by the simulator and the real-process (Jepsen-style) runner: every
 * fault a schedule can name, as plain data. Nothing here does a fault; a FaultTarget does.
 *
 * Every action is idempotent and makes sense in any state ("restart" a node that is running is a
 * no-op, "heal" with no partition is a no-op). Shrinking removes arbitrary actions from a failing
 * schedule, so any subsequence of a valid schedule must still be valid.
 *
 * Node ids are plain strings ('n1', ...): nemesis/ imports only histories/, never src/.
 */
import type { Value } from '../histories/index.js';

export type NodeName = string;

/** Which node an action hits: a fixed one, or whoever leads when the action runs. */
export type NodeSelector = { readonly by: 'id'; readonly id: NodeName } | { readonly by: 'leader' };

/**
 * Network partitions. Sides list node names; a node on no side keeps all its links.
 * - halves: two groups that cannot talk to each other (both directions).
 * - isolate-leader: the leader at the time of the action is cut off from everyone.
 * - bridge: two groups that cannot talk, except through one node that sees both (Jepsen's bridge).
 * - ring: each node reaches only its neighbours in `order` (every node sees a majority in a
 *   5-ring, yet no two majorities agree: Jepsen's majorities-ring).
 * - one-way: messages from `from` to `to` are dropped; replies still flow.
 */
export type Partition =
  | { readonly kind: 'halves'; readonly sides: readonly [readonly NodeName[], readonly NodeName[]] }
  | { readonly kind: 'isolate-leader' }
  | { readonly kind: 'bridge'; readonly left: readonly NodeName[]; readonly bridge: NodeName; readonly right: readonly NodeName[] }
  | { readonly kind: 'ring'; readonly order: readonly NodeName[] }
  | { readonly kind: 'one-way'; readonly from: readonly NodeName[]; readonly to: readonly NodeName[] };

export type PartitionKind = Partition['kind'];

export const PARTITION_KINDS: readonly PartitionKind[] = ['halves', 'isolate-leader', 'bridge', 'ring', 'one-way'];

/**
 * Disk faults, all on one node's disk:
 * - lose-unsynced: crash the node and drop every write it had not fsynced (power loss).
 * - torn-write: as lose-unsynced, but the last unsynced write survives partially.
 * - corruption: flip a bit in a synced file under `pathPrefix`; the CRCs must catch it.
 * - slow-fsync: every fsync takes `extraMs` longer until `durationMs` has passed.
 */
export type DiskFault =
  | { readonly kind: 'lose-unsynced' }
  | { readonly kind: 'torn-write' }
  | { readonly kind: 'corruption'; readonly pathPrefix: string }
  | { readonly kind: 'slow-fsync'; readonly extraMs: number; readonly durationMs: number };

export type DiskFaultKind = DiskFault['kind'];

export const DISK_FAULT_KINDS: readonly DiskFaultKind[] = ['lose-unsynced', 'torn-write', 'corruption', 'slow-fsync'];

export type NemesisAction =
  /**
   * `id` names this partition so that a later heal can end it alone: the simulator's profile
   * lets partitions overlap and ends each one separately.
   */
  | { readonly f: 'partition'; readonly partition: Partition; readonly id?: string }
  /** Removes every partition and slow link (not slow disks or paused processes), or only the one named `id`. */
  | { readonly f: 'heal'; readonly id?: string }
  /** Messages between `a` and `b` (both ways) take `extraMs` longer; nothing is lost. Ended by heal. */
  | { readonly f: 'slow-link'; readonly a: NodeName; readonly b: NodeName; readonly extraMs: number; readonly id?: string }
  /** kill -9: the process is gone, its unsynced writes may survive (the OS still has them). */
  | { readonly f: 'kill'; readonly node: NodeSelector }
  | { readonly f: 'restart'; readonly node: NodeSelector }
  /** SIGSTOP: timers stop, connections stay open. */
  | { readonly f: 'pause'; readonly node: NodeSelector }
  | { readonly f: 'resume'; readonly node: NodeSelector }
  /** Sets the node's clock offset from true time (NTP misconfigured). */
  | { readonly f: 'clock-skew'; readonly node: NodeSelector; readonly skewMs: number }
  /** Steps the node's clock once by deltaMs (NTP correction), either way. */
  | { readonly f: 'clock-jump'; readonly node: NodeSelector; readonly deltaMs: number }
  | { readonly f: 'disk'; readonly node: NodeSelector; readonly fault: DiskFault }
  /** Adds a new member as a learner under a fresh name. */
  | { readonly f: 'add-learner'; readonly id: NodeName }
  | { readonly f: 'promote'; readonly id: NodeName }
  | { readonly f: 'remove-member'; readonly node: NodeSelector }
  | { readonly f: 'transfer-leader'; readonly to: NodeSelector };

export type NemesisF = NemesisAction['f'];

export const NEMESIS_FS: readonly NemesisF[] = [
  'partition',
  'heal',
  'slow-link',
  'kill',
  'restart',
  'pause',
  'resume',
  'clock-skew',
  'clock-jump',
  'disk',
  'add-learner',
  'promote',
  'remove-member',
  'transfer-leader',
];

export function describeSelector(node: NodeSelector): string {
  return node.by === 'leader' ? 'leader' : node.id;
}

export function describePartition(p: Partition): string {
  switch (p.kind) {
    case 'halves':
      return `halves ${p.sides[0].join(',')} | ${p.sides[1].join(',')}`;
    case 'isolate-leader':
      return 'isolate-leader';
    case 'bridge':
      return `bridge ${p.left.join(',')} <${p.bridge}> ${p.right.join(',')}`;
    case 'ring':
      return `ring ${p.order.join('-')}`;
    case 'one-way':
      return `one-way ${p.from.join(',')} -/-> ${p.to.join(',')}`;
  }
}

/** One line a person can read, as reports and traces print it. */
export function describeAction(a: NemesisAction): string {
  switch (a.f) {
    case 'partition':
      return `partition ${describePartition(a.partition)}${a.id === undefined ? '' : ` #${a.id}`}`;
    case 'heal':
      return a.id === undefined ? 'heal' : `heal #${a.id}`;
    case 'slow-link':
      return `slow-link ${a.a}<->${a.b} +${a.extraMs}ms${a.id === undefined ? '' : ` #${a.id}`}`;
    case 'kill':
    case 'restart':
    case 'pause':
    case 'resume':
    case 'remove-member':
      return `${a.f} ${describeSelector(a.node)}`;
    case 'clock-skew':
      return `clock-skew ${describeSelector(a.node)} ${a.skewMs}ms`;
    case 'clock-jump':
      return `clock-jump ${describeSelector(a.node)} ${a.deltaMs >= 0 ? '+' : ''}${a.deltaMs}ms`;
    case 'disk':
      return `disk ${a.fault.kind} ${describeSelector(a.node)}${a.fault.kind === 'slow-fsync' ? ` +${a.fault.extraMs}ms for ${a.fault.durationMs}ms` : ''}`;
    case 'add-learner':
    case 'promote':
      return `${a.f} ${a.id}`;
    case 'transfer-leader':
      return `transfer-leader to ${describeSelector(a.to)}`;
  }
}

/** The action as a history op's `f` and `value` (process "nemesis"), so checkers' timelines show it. */
export function actionToOp(a: NemesisAction): { f: string; value: Value } {
  const { f, ...rest } = a;
  return { f, value: JSON.parse(JSON.stringify(rest)) as Value };
}

/**
 * What runs a schedule: the simulated cluster (sim/) or real processes (ci/). `leader()` resolves
 * { by: 'leader' } selectors at the moment an action runs.
 */
export interface FaultTarget {
  nodes(): readonly NodeName[];
  leader(): NodeName | undefined;
  /** `id`, when given, lets heal(id) end this partition alone. */
  partition(p: Partition, id?: string): void;
  /** Every partition, or only partition `id`. */
  heal(id?: string): void;
  /** Optional: a target that cannot slow one link skips slow-link actions. */
  slowLink?(a: NodeName, b: NodeName, extraMs: number, id?: string): void;
  kill(id: NodeName): void;
  restart(id: NodeName): void;
  pause(id: NodeName): void;
  resume(id: NodeName): void;
  clockSkew(id: NodeName, skewMs: number): void;
  clockJump(id: NodeName, deltaMs: number): void;
  disk(id: NodeName, fault: DiskFault): void;
  addLearner(id: NodeName): void;
  promote(id: NodeName): void;
  removeMember(id: NodeName): void;
  transferLeader(to: NodeName): void;
}

/**
 * Runs one action against a target. Returns false when a leader selector found no leader (the
 * action is skipped, which keeps every schedule valid in every state).
 */
export function applyAction(target: FaultTarget, a: NemesisAction): boolean {
  const resolve = (s: NodeSelector): NodeName | undefined => (s.by === 'id' ? s.id : target.leader());
  const onNode = (s: NodeSelector, run: (id: NodeName) => void): boolean => {
    const id = resolve(s);
    if (id === undefined) return false;
    run(id);
    return true;
  };
  switch (a.f) {
    case 'partition':
      if (a.partition.kind === 'isolate-leader' && target.leader() === undefined) return false;
      if (a.id === undefined) target.partition(a.partition);
      else target.partition(a.partition, a.id);
      return true;
    case 'heal':
      if (a.id === undefined) target.heal();
      else target.heal(a.id);
      return true;
    case 'slow-link':
      if (target.slowLink === undefined) return false;
      if (a.id === undefined) target.slowLink(a.a, a.b, a.extraMs);
      else target.slowLink(a.a, a.b, a.extraMs, a.id);
      return true;
    case 'kill':
      return onNode(a.node, (id) => target.kill(id));
    case 'restart':
      return onNode(a.node, (id) => target.restart(id));
    case 'pause':
      return onNode(a.node, (id) => target.pause(id));
    case 'resume':
      return onNode(a.node, (id) => target.resume(id));
    case 'clock-skew':
      return onNode(a.node, (id) => target.clockSkew(id, a.skewMs));
    case 'clock-jump':
      return onNode(a.node, (id) => target.clockJump(id, a.deltaMs));
    case 'disk':
      return onNode(a.node, (id) => target.disk(id, a.fault));
    case 'add-learner':
      target.addLearner(a.id);
      return true;
    case 'promote':
      target.promote(a.id);
      return true;
    case 'remove-member':
      return onNode(a.node, (id) => target.removeMember(id));
    case 'transfer-leader':
      return onNode(a.to, (id) => target.transferLeader(id));
  }
}
