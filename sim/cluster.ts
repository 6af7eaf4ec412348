import { AssertionError, assert } from '../src/util/index.js';
import type { NodeId, SeededRand } from '../src/util/index.js';
import { DiskError, silentLogger } from '../src/env/index.js';
import type { Env, Transport } from '../src/env/index.js';
import type { Message, RaftStatus } from '../src/raft/index.js';
import { CodecError, WalCorruptError } from '../src/wal/index.js';
import { ServerNode } from '../src/server/index.js';
import type { NodeConfig } from '../src/server/index.js';
import { SimClock } from './clock.js';
import type { SimClockOptions } from './clock.js';
import { SimDiskDevice } from './disk.js';
import type { CrashReport, SimDisk, SimDiskOptions } from './disk.js';
import type { SimLoop } from './loop.js';
import { SimNetwork, delayMatchingRule } from './network.js';
import type { SimNetworkOptions } from './network.js';
import { ClusterInvariants } from './invariants.js';
import type { NodeView } from './invariants.js';
import type { StateMachine } from '../src/server/index.js';

/** A replicated state machine the simulator can run and compare across members. */
export interface SimMachine<R> extends StateMachine<R> {
  /** Digest of the whole state: equal on members that applied the same prefix. */
  stateHash(): number;
}

/** Called by a machine for every applied index, so all members can be checked to apply one sequence. */
export type ApplyObserver = (index: number, term: number, digest: number) => void;

/** A cluster whatever its machine, for code that only crashes, partitions and observes it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCluster = SimCluster<any, any>;

/** Called with a machine's state hash at an applied index (sampled), to compare members at equal index. */
export type StateObserver = (index: number, stateHash: number) => void;

export type MachineFactory<R, M extends SimMachine<R>> = (id: NodeId, onApply: ApplyObserver, clock: SimClock, onState: StateObserver) => M;

/** Called when a member's process has started: per-incarnation services (lease expiry, watch sync) attach here. */
export type StartHook<R, M> = (id: NodeId, node: ServerNode<R>, machine: M) => void;

export interface ClusterOptions<R, M extends SimMachine<R>> {
  readonly machine: MachineFactory<R, M>;
  readonly nodeIds: readonly NodeId[];
  readonly node: Omit<NodeConfig, 'id' | 'initialVoters'>;
  readonly disk: (id: NodeId) => SimDiskOptions;
  readonly network: SimNetworkOptions<Message>;
  readonly clock: (id: NodeId) => SimClockOptions;
  readonly onStart?: StartHook<R, M>;
  /** Machines that start outside the cluster and may join it later (membership nemesis). */
  readonly spareIds?: readonly NodeId[];
  /** A member's outgoing messages leave only after the disk syncs it did before them (persist, then send). */
  readonly chargeSyncLatency?: boolean;
  /** Members sync their WAL asynchronously (the disk completes syncAsync on the member's clock). */
  readonly asyncSync?: boolean;
  /** Snapshot messages are held this long, with this probability (a lagging snapshot stream). */
  readonly snapDelay?: { readonly prob: number; readonly delayMsMin: number; readonly delayMsMax: number };
}

/** Sees every message a member sends, after it was handed to the network (crash triggers). */
export type SendObserver = (from: NodeId, message: Message) => void;

/** member: in the configuration; spare: never joined; removed: taken out, stays down. */
export type Membership = 'member' | 'spare' | 'removed';

export type NodeState = 'up' | 'paused' | 'crashed';

/** One machine: its disk and clock survive crashes; the process (node, machine) does not. */
interface Slot<R, M> {
  readonly id: NodeId;
  readonly device: SimDiskDevice;
  readonly clock: SimClock;
  state: NodeState;
  incarnation: number;
  node: ServerNode<R> | undefined;
  machine: M | undefined;
  /** Why the process last died on its own (disk error), for reports. */
  lastFatal: string | undefined;
  /** The node found its own data corrupt and refuses to start, as etcd does; it stays down. */
  broken: boolean;
  membership: Membership;
  /** Joined a running cluster: bootstraps the voters it was told at join time, not the initial ones. */
  joinVoters: readonly NodeId[] | undefined;
}

/**
 * N members of one Raft group on the simulator's loop: node factories over SimDisk, SimClock
 * and SimNetwork. A crash drops the process and every unsynced write; a restart builds a new
 * process from what the disk kept. Invariants are checked through `check()` after every event.
 */
export class SimCluster<R, M extends SimMachine<R>> {
  readonly network: SimNetwork<Message>;
  readonly invariants = new ClusterInvariants();
  /** The original members (the bootstrap configuration). */
  private readonly initialIds: readonly NodeId[];
  /** Members now in the cluster (original ones not removed, plus joined ones), in slot order. */
  ids: readonly NodeId[];
  /** Every machine, members, spares and removed ones. */
  readonly allIds: readonly NodeId[];
  private readonly slots = new Map<NodeId, Slot<R, M>>();
  private checksSinceLogMatching = 0;
  /** Set by the nemesis: fires after each message a member sends. */
  sendObserver: SendObserver | undefined = undefined;

  constructor(
    private readonly loop: SimLoop,
    private readonly rand: SeededRand,
    private readonly options: ClusterOptions<R, M>,
  ) {
    this.initialIds = [...options.nodeIds];
    this.ids = [...options.nodeIds];
    this.allIds = [...options.nodeIds, ...(options.spareIds ?? [])];
    this.network = new SimNetwork<Message>(loop, rand.fork('network'), {
      ...options.network,
      describe: describeMessage,
      // Raft tolerates duplicated messages, but a duplicated forwarded proposal is a second
      // copy of a client's request, applied twice (etcd's applier does not dedupe either). Our
      // peer transport, like etcd's, sends each message at most once over an HTTP/2 stream, so
      // the network here duplicates everything except proposals.
      duplicable: (m) => m.type !== 'prop',
    });
    const snapDelay = options.snapDelay;
    if (snapDelay !== undefined && snapDelay.prob > 0) {
      this.network.addRule(delayMatchingRule<Message>('snapshot stream', (m) => m.type === 'snap', snapDelay.prob, snapDelay.delayMsMin, snapDelay.delayMsMax));
    }
    for (const id of this.allIds) {
      const slot: Slot<R, M> = {
        id,
        device: new SimDiskDevice(rand.fork(`disk/${id}`), options.disk(id)),
        clock: new SimClock(loop, id, options.clock(id)),
        state: 'crashed',
        incarnation: 0,
        node: undefined,
        machine: undefined,
        lastFatal: undefined,
        broken: false,
        membership: this.initialIds.includes(id) ? 'member' : 'spare',
        joinVoters: undefined,
      };
      this.slots.set(id, slot);
      slot.clock.crash();
      this.network.crash(id);
    }
  }

  start(): void {
    for (const id of this.ids) this.restart(id);
  }

  state(id: NodeId): NodeState {
    return this.slot(id).state;
  }

  node(id: NodeId): ServerNode<R> | undefined {
    const slot = this.slot(id);
    return slot.state === 'up' ? slot.node : undefined;
  }

  machine(id: NodeId): M | undefined {
    const slot = this.slot(id);
    return slot.state === 'up' ? slot.machine : undefined;
  }

  isBroken(id: NodeId): boolean {
    return this.slot(id).broken;
  }

  clock(id: NodeId): SimClock {
    return this.slot(id).clock;
  }

  device(id: NodeId): SimDiskDevice {
    return this.slot(id).device;
  }

  /** The up member that believes it leads the highest term, if any. */
  leader(): NodeId | undefined {
    let best: { id: NodeId; term: number } | undefined;
    for (const id of this.ids) {
      const obs = this.node(id)?.observe();
      if (obs?.isLeader && (best === undefined || obs.term > best.term)) best = { id, term: obs.term };
    }
    return best?.id;
  }

  /** kill -9; returns what the disk lost (nothing if the member was already down). */
  crash(id: NodeId): CrashReport {
    const slot = this.slot(id);
    if (slot.state === 'crashed') return { torn: [], reverted: [], corrupted: [] };
    // kill -9: the disk loses what was not synced *before* the process object is dropped. Its
    // stop() closes the WAL, and a close syncs: stopping first would make every crash a clean
    // shutdown that keeps every unsynced write (crashes lost nothing until this order was fixed).
    const report = slot.device.crash();
    slot.node?.stop();
    slot.node = undefined;
    slot.machine = undefined;
    slot.state = 'crashed';
    slot.clock.crash();
    this.network.crash(id);
    return report;
  }

  restart(id: NodeId): void {
    const slot = this.slot(id);
    if (slot.state !== 'crashed' || slot.broken || slot.membership !== 'member') return;
    slot.incarnation++;
    slot.clock.restart();
    this.network.restart(id);
    slot.state = 'up';
    const disk = slot.device.open(this.options.asyncSync === true ? slot.clock : undefined);
    const env: Env = {
      clock: slot.clock,
      rand: this.rand.fork(`node/${id}/${slot.incarnation}`),
      disk,
      logger: silentLogger,
    };
    const machine = this.options.machine(
      id,
      (index, term, digest) => this.invariants.onApply(id, index, term, digest),
      slot.clock,
      (index, stateHash) => this.invariants.onStateHash(id, index, stateHash),
    );
    slot.machine = machine;
    this.invariants.onRestart(id);
    try {
      // A joiner is told the current voters (etcd's --initial-cluster for a member added with
      // --initial-cluster-state existing). It cannot start empty here: ServerNode bootstraps the
      // initial configuration without conf-change entries, so a joiner that catches up from the
      // log rather than a snapshot would rebuild only the later changes (and, alone in that
      // configuration, elect itself).
      const config: NodeConfig = { ...this.options.node, id, initialVoters: slot.joinVoters ?? this.initialIds };
      slot.node = new ServerNode(env, this.transport(id, disk), config, machine, (error) => this.onFatal(slot, error));
      this.checkReads(id, slot.node);
      this.options.onStart?.(id, slot.node, machine);
    } catch (error) {
      this.onFatal(slot, error);
    }
  }

  /**
   * The member's view of the network: sends leave after the sync latency the disk charged (when
   * the profile says so; a crash in between drops them, as a crash during fsync would), and the
   * send observer sees each message.
   */
  private transport(id: NodeId, disk: SimDisk): Transport<Message> {
    const inner = this.network.transport(id);
    let busyUntilMs = 0;
    return {
      onReceive: (handler) => inner.onReceive(handler),
      send: (to, message) => {
        if (this.options.chargeSyncLatency === true) busyUntilMs = Math.max(busyUntilMs, this.loop.nowMs) + disk.takeSyncLatencyMs();
        const waitMs = busyUntilMs - this.loop.nowMs;
        if (waitMs > 0) this.loop.after(waitMs, 'send-after-sync', id, () => inner.send(to, message));
        else inner.send(to, message);
        this.invariants.onSend(id, message, this.node(id)?.observe().confState);
        this.sendObserver?.(id, message);
      },
    };
  }

  /**
   * Online read-point invariant. A ReadIndex read must reflect every entry committed anywhere
   * before it reached the member (so, in particular, every write acknowledged to a client before
   * the read was invoked): when the barrier resolves, the member's applied index, which is the
   * state the caller reads next, must cover the highest commit index any member had reported
   * when the read arrived. A stale read fails the run here even if no history shows it.
   */
  private checkReads(id: NodeId, node: ServerNode<R>): void {
    const barrier = node.linearizableBarrier.bind(node);
    node.linearizableBarrier = () => {
      const floor = this.invariants.commitFloor();
      const invokedAtMs = this.loop.nowMs;
      const read = barrier();
      // A side branch, registered before the caller's own await: it runs first and adds no hop to
      // the caller's chain.
      read.then(
        () => {
          try {
            this.invariants.verifyReadPoint(id, floor, node.observe().appliedIndex, invokedAtMs, this.loop.nowMs);
          } catch (error) {
            this.loop.fail(error);
          }
        },
        () => undefined,
      );
      return read;
    };
  }

  membership(id: NodeId): Membership {
    return this.slot(id).membership;
  }

  /** A spare joins (after its addLearner was applied), told the current voters: it starts from its empty disk. */
  join(id: NodeId, voters: readonly NodeId[]): void {
    const slot = this.slot(id);
    assert(slot.membership === 'spare', () => `join(${id}): it is ${slot.membership}`);
    assert(!voters.includes(id), () => `join(${id}): a joiner starts as a learner, not in the voters`);
    slot.membership = 'member';
    slot.joinVoters = [...voters];
    this.ids = this.allIds.filter((i) => this.slot(i).membership === 'member');
    this.restart(id);
  }

  /** A member was removed from the configuration: its process stops for good. */
  remove(id: NodeId): void {
    const slot = this.slot(id);
    if (slot.membership !== 'member') return;
    this.crash(id);
    slot.membership = 'removed';
    this.ids = this.allIds.filter((i) => this.slot(i).membership === 'member');
  }

  pause(id: NodeId): void {
    const slot = this.slot(id);
    if (slot.state !== 'up') return;
    slot.state = 'paused';
    slot.clock.pause();
    this.network.pause(id);
  }

  resume(id: NodeId): void {
    const slot = this.slot(id);
    if (slot.state !== 'paused') return;
    slot.state = 'up';
    slot.clock.resume();
    this.network.resume(id);
  }

  /** Cross-node invariants; cheap ones every event, log matching (O(log length)) every 512. */
  check(): void {
    const views = this.views();
    this.invariants.afterEvent(views);
    if (++this.checksSinceLogMatching >= 512) {
      this.checksSinceLogMatching = 0;
      this.invariants.checkLogMatching(views);
    }
  }

  checkAll(): void {
    const views = this.views();
    this.invariants.afterEvent(views);
    this.invariants.checkLogMatching(views);
  }

  /** Running processes (paused ones too: their state is still there to inspect). */
  views(): NodeView[] {
    const views: NodeView[] = [];
    for (const slot of this.slots.values()) {
      if (slot.node === undefined || slot.state === 'crashed') continue;
      const node = slot.node;
      views.push({ id: slot.id, observation: node.observe(), storage: node.raftStorage(), status: () => node.raftStatus() });
    }
    return views;
  }

  describe(): string {
    return this.allIds
      .filter((id) => this.slot(id).membership !== 'spare')
      .map((id) => {
        const slot = this.slot(id);
        const obs = slot.node?.observe();
        const role = obs === undefined ? '' : obs.isLeader ? ' leader' : '';
        const at = obs === undefined ? '' : ` term ${obs.term} commit ${obs.commitIndex} applied ${obs.appliedIndex}`;
        const progress = obs?.isLeader ? describeProgress(slot.node?.raftStatus()) : '';
        return `${id}: ${slot.membership === 'removed' ? 'removed, ' : ''}${slot.state}${role}${at}${slot.lastFatal ? ` (last fatal: ${slot.lastFatal})` : ''}${progress}`;
      })
      .join('\n');
  }

  /** A disk error stops the process, as etcd exits on a failed fsync; anything else fails the run. */
  private onFatal(slot: Slot<R, M>, error: unknown): void {
    if (error instanceof WalCorruptError || error instanceof CodecError) {
      // Detected corruption: the CRCs did their job. The member stays down until replaced.
      slot.lastFatal = error.message;
      slot.broken = true;
      this.crash(slot.id);
      return;
    }
    if (error instanceof DiskError) {
      slot.lastFatal = error.message;
      this.crash(slot.id);
      return;
    }
    if (!(error instanceof AssertionError)) {
      slot.lastFatal = String(error);
      this.loop.fail(error);
      return;
    }
    this.loop.fail(error);
  }

  private slot(id: NodeId): Slot<R, M> {
    const slot = this.slots.get(id);
    assert(slot !== undefined, () => `no node ${id}`);
    return slot;
  }
}

function describeProgress(status: RaftStatus | undefined): string {
  if (status === undefined) return '';
  const parts = [...status.progress].map(
    ([peer, p]) => `${peer} ${p.state} match ${p.match} next ${p.next} inflight ${p.inflight}${p.pendingSnapshot ? ` snap ${p.pendingSnapshot}` : ''}${p.recentActive ? '' : ' inactive'}`,
  );
  return `\n    progress: ${parts.join('; ')}`;
}

function describeMessage(m: Message): string {
  const extra = m.entries.length > 0 ? ` ents=${m.entries.length}` : '';
  return `${m.type} ${m.from}->${m.to} t${m.term} i${m.index} c${m.commit}${m.reject ? ' reject' : ''}${extra}`;
}
