import type { NodeId, SeededRand } from '../src/util/index.js';
import type { ConfChange } from '../src/raft/index.js';
import type { HistoryRecorder, Value } from '../histories/index.js';
import { NEMESIS } from '../histories/index.js';
import type { AnyCluster } from './cluster.js';
import { InvariantViolation } from './invariants.js';
import { isLearnerReady } from '../src/server/index.js';
import type { SimLoop } from './loop.js';

/** How long a membership step waits for its change to show in the leader's applied configuration. */
const APPLY_WAIT_MS = 3_000;
const POLL_MS = 50;
/**
 * The simulator's own statement of etcd's promotion bar (90% of the leader's log), kept apart
 * from the product's isLearnerReady so that a broken gate there is caught here.
 */
const PROMOTE_MIN_FRACTION = 0.9;

/**
 * Membership faults of issue 3, mixed with the seed's crashes and partitions: add a spare machine
 * as a learner (it joins from an empty disk once the change is applied), promote a caught-up
 * learner, remove a voter (never below three), transfer leadership. One change at a time, as
 * etcd's members API does; a change that does not apply within a bound is abandoned (it may
 * still apply later: the steps re-read the configuration every time).
 */
export class MembershipNemesis {
  private active = false;
  private busy = false;
  readonly actions: string[] = [];

  constructor(
    private readonly loop: SimLoop,
    private readonly cluster: AnyCluster,
    private readonly rand: SeededRand,
    private readonly recorder: HistoryRecorder,
    private readonly meanIntervalMs = 1_500,
  ) {}

  start(): void {
    this.active = true;
    this.schedule();
  }

  /** Stops starting steps; a learner added but not yet joined is joined, so liveness sees a whole cluster. */
  stop(): void {
    this.active = false;
    this.joinApplied();
  }

  private schedule(): void {
    this.loop.after(this.rand.between(this.meanIntervalMs / 2, (this.meanIntervalMs * 3) / 2), 'nemesis-membership', undefined, () => {
      if (!this.active) return;
      if (!this.busy) this.step();
      this.schedule();
    });
  }

  private step(): void {
    const leader = this.cluster.leader();
    const node = leader === undefined ? undefined : this.cluster.node(leader);
    if (leader === undefined || node === undefined) return;
    const conf = node.observe().confState;
    const spares = this.cluster.allIds.filter((id) => this.cluster.membership(id) === 'spare');
    const roll = this.rand.float();
    if (roll < 0.3 && conf.learners.length === 0 && spares.length > 0 && conf.voters.length < 5) {
      this.change(leader, { type: 'addLearner', nodeId: this.rand.pick(spares), context: new Uint8Array() });
    } else if (roll < 0.55 && conf.learners.length > 0) {
      const learner = conf.learners[0] as NodeId;
      // Promotion goes through the product's gate (ClusterApi's check), as `member promote` does.
      if (isLearnerReady(node.raftStatus(), learner) === true) {
        this.checkPromotable(leader, learner);
        this.change(leader, { type: 'promoteLearner', nodeId: learner, context: new Uint8Array() });
      }
    } else if (roll < 0.75 && conf.voters.length >= 4) {
      const victim = this.rand.pick(conf.voters.filter((v) => v !== leader));
      this.change(leader, { type: 'removeNode', nodeId: victim, context: new Uint8Array() });
    } else {
      const others = conf.voters.filter((v) => v !== leader);
      if (others.length === 0) return;
      const target = this.rand.pick(others);
      try {
        node.transferLeadership(target);
        this.record('transfer-leader', `${leader} -> ${target}`);
      } catch {
        // Refused: nothing happened.
      }
    }
  }

  /** Invariant: a learner is promoted only when it holds 90% of the leader's log (etcd's rule). */
  private checkPromotable(leader: NodeId, learner: NodeId): void {
    const status = this.cluster.node(leader)?.raftStatus();
    if (status === undefined) return;
    const leaderMatch = status.progress.get(leader)?.match ?? 0;
    const learnerMatch = status.progress.get(learner)?.match ?? 0;
    if (learnerMatch < leaderMatch * PROMOTE_MIN_FRACTION) {
      throw new InvariantViolation(`lagging learner promoted: ${learner} matches ${learnerMatch} of leader ${leader}'s ${leaderMatch} entries`);
    }
  }

  private change(leader: NodeId, cc: ConfChange): void {
    const node = this.cluster.node(leader);
    if (node === undefined) return;
    try {
      node.proposeConfChange(cc);
    } catch {
      return;
    }
    this.record(cc.type, cc.nodeId);
    this.busy = true;
    const deadline = this.loop.nowMs + APPLY_WAIT_MS;
    const poll = (): void => {
      if (this.applied(cc) || this.loop.nowMs >= deadline) {
        this.busy = false;
        this.joinApplied();
        this.removeApplied();
        return;
      }
      this.loop.after(POLL_MS, 'membership-poll', undefined, poll);
    };
    this.loop.after(POLL_MS, 'membership-poll', undefined, poll);
  }

  private applied(cc: ConfChange): boolean {
    const conf = this.appliedConf();
    if (conf === undefined) return false;
    if (cc.type === 'addLearner') return conf.learners.includes(cc.nodeId);
    if (cc.type === 'promoteLearner') return conf.voters.includes(cc.nodeId);
    return !conf.voters.includes(cc.nodeId) && !conf.learners.includes(cc.nodeId);
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

  /** Spares that some member's applied configuration lists start (join from an empty disk). */
  private joinApplied(): void {
    const conf = this.appliedConf();
    if (conf === undefined) return;
    for (const id of [...conf.voters, ...conf.learners]) {
      if (this.cluster.membership(id) === 'spare') {
        this.cluster.join(id, conf.voters.filter((v) => v !== id));
        this.record('join', id);
      }
    }
  }

  /** Members no longer in the applied configuration stop for good. */
  private removeApplied(): void {
    const conf = this.appliedConf();
    if (conf === undefined) return;
    for (const id of this.cluster.ids) {
      if (!conf.voters.includes(id) && !conf.learners.includes(id)) {
        this.cluster.remove(id);
        this.record('removed', id);
      }
    }
  }

  private record(f: string, value: Value): void {
    const timeNs = this.loop.nowMs * 1e6;
    this.recorder.invoke(NEMESIS, f, value, timeNs);
    this.recorder.complete(NEMESIS, 'info', f, value, timeNs);
    this.actions.push(`${this.loop.nowMs}ms ${f} ${String(value)}`);
  }
}
