/**
 * A three-member simulated cluster (no faults) for the Lock and Election API tests: the real
 * node, applier, KvApi, WatchApi and LeaseApi on virtual time, so lease expiry and long waits
 * take no wall-clock time and every run is the same.
 */
import { ElectionApi, LockApi } from '../../src/api/index.js';
import type { ConcurrencyDeps } from '../../src/api/index.js';
import type { ApplyResult } from '../../src/apply/index.js';
import { createRand, fromUtf8, utf8 } from '../../src/util/index.js';
import type { NodeId } from '../../src/util/index.js';
import { SimLoop, clockOptions, diskOptions, drawFaultProfile, networkOptions, withoutFaults } from '../../sim/index.js';
import { SimCluster } from '../../sim/cluster.js';
import { KvMachine } from '../../sim/kv-machine.js';
import { ServiceRegistry } from '../../sim/services.js';
import type { MemberServices } from '../../sim/services.js';

export { fromUtf8, utf8 };

const NODE = {
  tickMs: 10,
  electionTicks: 10,
  heartbeatTicks: 1,
  snapshotCount: 10_000,
  catchUpEntries: 50,
  maxInflightMsgs: 64,
  maxSizePerMsgBytes: 64 * 1024,
  walSegmentBytes: 256 * 1024,
};

/** A promise's outcome, readable synchronously while the loop runs. */
export interface Tracked<T> {
  readonly promise: Promise<T>;
  settled: boolean;
  value: T | undefined;
  error: unknown;
}

export function track<T>(promise: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { promise, settled: false, value: undefined, error: undefined };
  promise.then(
    (v) => {
      t.settled = true;
      t.value = v;
    },
    (e: unknown) => {
      t.settled = true;
      t.error = e;
    },
  );
  return t;
}

export class SimHarness {
  readonly loop = new SimLoop({ traceLogCapacity: 0, microtaskTurns: 16, recordEventHashes: false });
  readonly cluster: SimCluster<ApplyResult, KvMachine>;
  private readonly registry: ServiceRegistry;

  constructor(seed = 7) {
    const root = createRand(seed);
    const drawn = withoutFaults(drawFaultProfile(root));
    const nodeIds = drawn.nodeIds.slice(0, 3);
    const profile = { ...drawn, nodeCount: 3 as const, nodeIds, clock: { ...drawn.clock, nodes: drawn.clock.nodes.slice(0, 3) } };
    this.registry = new ServiceRegistry({ requestTimeoutMs: 2_000, electionTimeoutMs: NODE.tickMs * NODE.electionTicks });
    this.cluster = new SimCluster<ApplyResult, KvMachine>(this.loop, root.fork('cluster'), {
      nodeIds,
      node: NODE,
      network: networkOptions(profile),
      disk: () => diskOptions(profile),
      clock: (id: NodeId) => clockOptions(profile, id),
      machine: (_id, onApply, clock) => new KvMachine(onApply, clock),
      onStart: (id, node, machine) => this.registry.onStart(id, node, machine),
    });
    this.registry.attach(this.cluster);
  }

  /** Starts the members and runs until one leads and every member knows it. */
  async start(): Promise<void> {
    this.cluster.start();
    const settled = (): boolean => {
      const leader = this.cluster.leader();
      return leader !== undefined && this.cluster.ids.every((id) => this.cluster.node(id)?.observe().leader === leader);
    };
    if (!(await this.loop.runUntil(settled, this.loop.nowMs + 5_000))) throw new Error('no leader known to all in 5 s of virtual time');
  }

  /** The services of a running member (the leader unless `id` is given). */
  services(id?: NodeId): MemberServices {
    const target = id ?? this.cluster.leader();
    if (target === undefined) throw new Error('no leader');
    const s = this.registry.get(target);
    if (s === undefined) throw new Error(`${target} is down`);
    return s;
  }

  deps(id?: NodeId): ConcurrencyDeps {
    const s = this.services(id);
    return { kv: s.kv, watch: s.watch, lease: s.lease };
  }

  lockApi(id?: NodeId): LockApi {
    return new LockApi(this.deps(id));
  }

  electionApi(id?: NodeId): ElectionApi {
    return new ElectionApi(this.deps(id));
  }

  /** Runs the loop until the promise settles (at most `maxMs` of virtual time); returns its value or throws its error. */
  async settle<T>(promise: Promise<T>, maxMs = 10_000): Promise<T> {
    const t = track(promise);
    await this.loop.runUntil(() => t.settled, this.loop.nowMs + maxMs);
    if (!t.settled) throw new Error(`still pending after ${maxMs} ms of virtual time`);
    if (t.error !== undefined) throw t.error;
    return t.value as T;
  }

  /** Lets `ms` of virtual time pass. */
  async run(ms: number): Promise<void> {
    await this.loop.run(this.loop.nowMs + ms);
  }

  async grant(ttlSeconds: number): Promise<bigint> {
    return (await this.settle(this.services().lease.grant(ttlSeconds, 0n))).id;
  }

  async keys(prefix: string): Promise<string[]> {
    const end = utf8(prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1));
    const r = await this.settle(this.services().kv.range({ key: utf8(prefix), rangeEnd: end }));
    return r.kvs.map((kv) => fromUtf8(kv.key));
  }
}
