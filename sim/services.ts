import type { NodeId } from '../src/util/index.js';
import { KvApi, LeaseApi, WatchApi } from '../src/api/index.js';
import type { ApplyResult } from '../src/apply/index.js';
import type { ServerNode } from '../src/server/index.js';
import type { SimCluster } from './cluster.js';
import type { KvMachine } from './kv-machine.js';

/** The client-facing services of one member incarnation, as the gRPC server would hold them. */
export interface MemberServices {
  readonly node: ServerNode<ApplyResult>;
  readonly kv: KvApi;
  readonly lease: LeaseApi;
  readonly watch: WatchApi;
}

export interface ServiceOptions {
  readonly requestTimeoutMs: number;
  readonly electionTimeoutMs: number;
}

/**
 * One KvApi, LeaseApi and WatchApi per member incarnation, started when the process starts (so
 * the leader's lease expiry and the watch sync timer run whether or not a client talks to that
 * member). A crash cancels the member clock's timers, which stops them with the process; the
 * objects of a dead incarnation are never handed out again.
 */
export class ServiceRegistry {
  private readonly byNode = new Map<NodeId, MemberServices>();
  private cluster: SimCluster<ApplyResult, KvMachine> | undefined;

  constructor(private readonly options: ServiceOptions) {}

  attach(cluster: SimCluster<ApplyResult, KvMachine>): void {
    this.cluster = cluster;
  }

  /** The StartHook for the cluster. */
  onStart(id: NodeId, node: ServerNode<ApplyResult>, machine: KvMachine): void {
    const cluster = this.cluster;
    if (cluster === undefined) throw new Error('ServiceRegistry: attach() the cluster before starting it');
    const clock = cluster.clock(id);
    const memberId = BigInt(cluster.allIds.indexOf(id) + 1);
    const kv = new KvApi(node, machine.applier, clock, { memberId, clusterId: 0n, requestTimeoutMs: this.options.requestTimeoutMs });
    const lease = new LeaseApi(node, machine.applier, clock, {
      memberId,
      electionTimeoutMs: this.options.electionTimeoutMs,
      requestTimeoutMs: this.options.requestTimeoutMs,
    });
    const watch = new WatchApi(machine.applier, clock, { memberId, clusterId: 0n, raftTerm: () => node.observe().term });
    lease.start();
    watch.start();
    this.byNode.set(id, { node, kv, lease, watch });
  }

  /** The services of the member's running incarnation, or undefined while it is down. */
  get(id: NodeId): MemberServices | undefined {
    const node = this.cluster?.node(id);
    const services = this.byNode.get(id);
    return node !== undefined && services !== undefined && services.node === node ? services : undefined;
  }
}
