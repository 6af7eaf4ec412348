/**
 * The simulator's interpreter of nemesis/ schedules: each timed step of an explicit schedule
 * runs at its virtual time against the simulated cluster, instead of the per-seed profile's
 * random episodes. Replaying a recorded or shrunk schedule goes through here.
 *
 * How the vocabulary maps onto the simulator (where the simulator has no exact equivalent, the
 * nearest one is named here, and an action it cannot do is skipped and listed, never an error,
 * because a shrunk subsequence of a schedule must stay runnable):
 * - kill: SimCluster.crash. The simulated process loses its unsynced writes, as SimDisk's fault
 *   model says (torn tails per the seed's disk profile); disk lose-unsynced and torn-write are the
 *   same crash here.
 * - clock-skew: steps the clock so that it reads `skewMs` off true time from now on.
 * - disk corruption: flips one bit of one durable file under `pathPrefix`, chosen from this
 *   interpreter's own random stream; slow-fsync is skipped (SimDisk's slow syncs are per-profile).
 * - membership: add-learner proposes the change at the leader and starts the spare once a member
 *   applied it; remove-member stops the member once its removal applied.
 */
import { nodeId } from '../src/util/index.js';
import type { NodeId, SeededRand } from '../src/util/index.js';
import type { ConfChange } from '../src/raft/index.js';
import type { HistoryRecorder } from '../histories/index.js';
import { NEMESIS } from '../histories/index.js';
import { applyAction, describeAction } from '../nemesis/index.js';
import type { DiskFault, FaultTarget, NemesisAction, NodeName, NodeSelector, Partition, TimedAction } from '../nemesis/index.js';
import type { AnyCluster } from './cluster.js';
import type { SimLoop } from './loop.js';
import { partitionRule } from './network.js';

/** How long a membership step waits for its change to be applied before giving up on it. */
const MEMBERSHIP_WAIT_MS = 3_000;
const MEMBERSHIP_POLL_MS = 50;

export class ScheduleInterpreter implements FaultTarget {
  private active = false;
  /** Network rule ids of partitions in force, by the schedule's partition id (or a generated one). */
  private readonly rules = new Map<string, number>();
  private anonymous = 0;
  /** One line per action run (or skipped), for reports. */
  readonly actions: string[] = [];
  /** Steps the simulator could not run (unknown node, no leader, unsupported fault). */
  readonly skipped: string[] = [];

  constructor(
    private readonly loop: SimLoop,
    private readonly cluster: AnyCluster,
    private readonly rand: SeededRand,
    private readonly recorder: HistoryRecorder,
    /** Called with every step that ran, so a replay records its own schedule as a random run does. */
    private readonly onStep: (step: TimedAction) => void = () => undefined,
  ) {}

  /** Schedules every step at its time; steps at or before now run as the next events. */
  start(steps: readonly TimedAction[]): void {
    this.active = true;
    for (const step of steps) {
      const atMs = Math.max(this.loop.nowMs, Math.round(step.atMs));
      this.loop.schedule(atMs, 'nemesis-step', undefined, () => this.run(step), () => describeAction(step.action));
    }
  }

  /** Steps not yet run are dropped: the caller heals what is in force (the liveness phase). */
  stop(): void {
    this.active = false;
  }

  private run(step: TimedAction): void {
    if (!this.active) return;
    const action = this.resolved(step.action);
    const text = describeAction(action);
    const unknown = this.unknownNodes(step);
    const ran = unknown.length === 0 && applyAction(this, action);
    if (!ran) {
      const why = unknown.length > 0 ? `unknown node ${unknown.join(',')}` : 'not applicable now';
      this.skipped.push(`${this.loop.nowMs}ms ${text} (${why})`);
      return;
    }
    this.onStep({ atMs: this.loop.nowMs, action });
    this.record(action.f, text.slice(action.f.length + 1) || action.f);
  }

  /**
   * The action with "the leader" replaced by the node that leads now, so the recorded step
   * replays against the same node even if leadership moves differently in the replay.
   */
  private resolved(a: NemesisAction): NemesisAction {
    const leader = this.cluster.leader();
    if (leader === undefined) return a;
    const fix = (s: NodeSelector): NodeSelector => (s.by === 'leader' ? { by: 'id', id: leader } : s);
    if (a.f === 'transfer-leader') return { ...a, to: fix(a.to) };
    if (a.f === 'partition' && a.partition.kind === 'isolate-leader') {
      return { ...a, partition: { kind: 'halves', sides: [[leader], this.cluster.ids.filter((id) => id !== leader)] } };
    }
    if ('node' in a) return { ...a, node: fix(a.node) };
    return a;
  }

  /** Node names the step uses that this cluster has no machine for (a shrunk node count). */
  private unknownNodes(step: TimedAction): string[] {
    const known = new Set<string>(this.cluster.allIds);
    const a = step.action;
    const names: string[] = [];
    const sel = (s: { by: 'id'; id: string } | { by: 'leader' }): void => void (s.by === 'id' && names.push(s.id));
    if (a.f === 'partition') names.push(...partitionNodes(a.partition));
    else if (a.f === 'slow-link') names.push(a.a, a.b);
    else if (a.f === 'add-learner' || a.f === 'promote') names.push(a.id);
    else if (a.f === 'transfer-leader') sel(a.to);
    else if (a.f !== 'heal') sel(a.node);
    return names.filter((n) => !known.has(n));
  }

  nodes(): readonly NodeName[] {
    return this.cluster.ids;
  }

  leader(): NodeName | undefined {
    return this.cluster.leader();
  }

  partition(p: Partition, id?: string): void {
    const net = this.cluster.network;
    const ids = (names: readonly NodeName[]): NodeId[] => names.map((n) => nodeId(n));
    let ruleId: number;
    switch (p.kind) {
      case 'halves':
        ruleId = net.partition([ids(p.sides[0]), ids(p.sides[1])]);
        break;
      case 'isolate-leader':
        ruleId = net.isolate(nodeId(this.cluster.leader() as string));
        break;
      case 'bridge':
        ruleId = net.bridge(ids(p.left), ids(p.right), nodeId(p.bridge));
        break;
      case 'ring': {
        // Neighbours share a group, so each node reaches exactly its two ring neighbours.
        const order = ids(p.order);
        const pairs = order.map((n, i) => [n, order[(i + 1) % order.length] as NodeId]);
        ruleId = net.addRule(partitionRule(pairs, `ring ${p.order.join('-')}`));
        break;
      }
      case 'one-way':
        ruleId = net.partitionOneWay(ids(p.from), ids(p.to));
        break;
    }
    this.remember(ruleId, id);
  }

  heal(id?: string): void {
    if (id === undefined) {
      this.cluster.network.heal();
      this.rules.clear();
      return;
    }
    const ruleId = this.rules.get(id);
    if (ruleId !== undefined) this.cluster.network.removeRule(ruleId);
    this.rules.delete(id);
  }

  slowLink(a: NodeName, b: NodeName, extraMs: number, id?: string): void {
    this.remember(this.cluster.network.slowLink(nodeId(a), nodeId(b), Math.max(0, Math.round(extraMs))), id);
  }

  kill(id: NodeName): void {
    this.cluster.crash(nodeId(id));
  }

  restart(id: NodeName): void {
    this.cluster.restart(nodeId(id));
  }

  pause(id: NodeName): void {
    this.cluster.pause(nodeId(id));
  }

  resume(id: NodeName): void {
    this.cluster.resume(nodeId(id));
  }

  clockSkew(id: NodeName, skewMs: number): void {
    const clock = this.cluster.clock(nodeId(id));
    clock.jump(skewMs - clock.skewMs);
  }

  clockJump(id: NodeName, deltaMs: number): void {
    this.cluster.clock(nodeId(id)).jump(deltaMs);
  }

  disk(id: NodeName, fault: DiskFault): void {
    const node = nodeId(id);
    switch (fault.kind) {
      case 'lose-unsynced':
      case 'torn-write':
        this.cluster.crash(node);
        return;
      case 'corruption':
        this.corrupt(node, fault.pathPrefix);
        return;
      case 'slow-fsync':
        this.skipped.push(`${this.loop.nowMs}ms disk slow-fsync ${id} (the simulator's slow syncs come from the seed's disk profile)`);
        return;
    }
  }

  addLearner(id: NodeName): void {
    this.confChange({ type: 'addLearner', nodeId: nodeId(id), context: new Uint8Array() });
  }

  promote(id: NodeName): void {
    this.confChange({ type: 'promoteLearner', nodeId: nodeId(id), context: new Uint8Array() });
  }

  removeMember(id: NodeName): void {
    this.confChange({ type: 'removeNode', nodeId: nodeId(id), context: new Uint8Array() });
  }

  transferLeader(to: NodeName): void {
    const leader = this.cluster.leader();
    if (leader === undefined || leader === to) return;
    try {
      this.cluster.node(leader)?.transferLeadership(nodeId(to));
    } catch {
      // Refused (not a voter, transfer in progress): nothing happened.
    }
  }

  private remember(ruleId: number, id: string | undefined): void {
    this.rules.set(id ?? `anonymous-${++this.anonymous}`, ruleId);
  }

  private corrupt(node: NodeId, pathPrefix: string): void {
    const device = this.cluster.device(node);
    const candidates = device.durablePaths().filter((p) => p.startsWith(pathPrefix) && (device.durableFiles.get(p)?.size ?? 0) > 0);
    if (candidates.length === 0) return;
    const path = this.rand.pick(candidates);
    const inode = device.durableFiles.get(path);
    if (inode === undefined) return;
    inode.flipBit(this.rand.int(inode.size), this.rand.int(8));
  }

  /** Proposes at the leader, then starts (joins) or stops (removes) the machine once applied. */
  private confChange(cc: ConfChange): void {
    const leader = this.cluster.leader();
    const node = leader === undefined ? undefined : this.cluster.node(leader);
    if (node === undefined) return;
    try {
      node.proposeConfChange(cc);
    } catch {
      return;
    }
    const deadlineMs = this.loop.nowMs + MEMBERSHIP_WAIT_MS;
    const poll = (): void => {
      const conf = this.appliedConf();
      const inConf = conf !== undefined && (conf.voters.includes(cc.nodeId) || conf.learners.includes(cc.nodeId));
      if (cc.type === 'addLearner' && inConf && conf !== undefined && this.cluster.membership(cc.nodeId) === 'spare') {
        this.cluster.join(cc.nodeId, conf.voters.filter((v) => v !== cc.nodeId));
        return;
      }
      if (cc.type === 'removeNode' && conf !== undefined && !inConf) {
        this.cluster.remove(cc.nodeId);
        return;
      }
      if (cc.type === 'promoteLearner' || this.loop.nowMs >= deadlineMs) return;
      this.loop.after(MEMBERSHIP_POLL_MS, 'nemesis-step-poll', undefined, poll);
    };
    this.loop.after(MEMBERSHIP_POLL_MS, 'nemesis-step-poll', undefined, poll);
  }

  /** The newest configuration any running member has applied. */
  private appliedConf(): { voters: readonly NodeId[]; learners: readonly NodeId[] } | undefined {
    let best: { index: number; conf: { voters: readonly NodeId[]; learners: readonly NodeId[] } } | undefined;
    for (const id of this.cluster.ids) {
      const obs = this.cluster.node(id)?.observe();
      if (obs !== undefined && (best === undefined || obs.appliedIndex > best.index)) best = { index: obs.appliedIndex, conf: obs.confState };
    }
    return best?.conf;
  }

  private record(f: string, value: string): void {
    const timeNs = this.loop.nowMs * 1e6;
    this.recorder.invoke(NEMESIS, f, value, timeNs);
    this.recorder.complete(NEMESIS, 'info', f, value, timeNs);
    this.actions.push(`${this.loop.nowMs}ms ${f} ${value}`);
  }
}

export function partitionNodes(p: Partition): NodeName[] {
  switch (p.kind) {
    case 'halves':
      return [...p.sides[0], ...p.sides[1]];
    case 'isolate-leader':
      return [];
    case 'bridge':
      return [...p.left, p.bridge, ...p.right];
    case 'ring':
      return [...p.order];
    case 'one-way':
      return [...p.from, ...p.to];
  }
}
