import type { SeededRand } from '../src/util/index.js';
import type { HistoryRecorder, Value } from '../histories/index.js';
import { NEMESIS } from '../histories/index.js';
import type { AnyCluster } from './cluster.js';
import type { SimLoop } from './loop.js';

/**
 * Membership faults of issue 3, so far only leadership transfer: every so often the leader is
 * asked to hand over to a random other voter (etcd's MoveLeader), mixed with the seed's crashes
 * and partitions. Add-learner / promote / remove need spare member slots in SimCluster (a joiner
 * starts from an empty disk without bootstrapping) and are not done yet.
 */
export class MembershipNemesis {
  private active = false;
  readonly actions: string[] = [];

  constructor(
    private readonly loop: SimLoop,
    private readonly cluster: AnyCluster,
    private readonly rand: SeededRand,
    private readonly recorder: HistoryRecorder,
    private readonly meanIntervalMs = 2_000,
  ) {}

  start(): void {
    this.active = true;
    this.schedule();
  }

  stop(): void {
    this.active = false;
  }

  private schedule(): void {
    this.loop.after(this.rand.between(this.meanIntervalMs / 2, (this.meanIntervalMs * 3) / 2), 'nemesis-membership', undefined, () => {
      if (!this.active) return;
      this.transferLeader();
      this.schedule();
    });
  }

  private transferLeader(): void {
    const leader = this.cluster.leader();
    const node = leader === undefined ? undefined : this.cluster.node(leader);
    if (leader === undefined || node === undefined) return;
    const others = this.cluster.ids.filter((id) => id !== leader);
    const target = this.rand.pick(others);
    try {
      node.transferLeadership(target);
    } catch {
      // Refused (e.g. a transfer already in progress): nothing happened.
      return;
    }
    this.record('transfer-leader', `${leader} -> ${target}`);
  }

  private record(f: string, value: Value): void {
    const timeNs = this.loop.nowMs * 1e6;
    this.recorder.invoke(NEMESIS, f, value, timeNs);
    this.recorder.complete(NEMESIS, 'info', f, value, timeNs);
    this.actions.push(`${this.loop.nowMs}ms ${f} ${String(value)}`);
  }
}
