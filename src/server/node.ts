import type { Env, Transport, TimerHandle } from '../env/index.js';
import type { Entry, Message, RaftRole, RaftStatus, ReadState, Ready, Snapshot, ConfChange, ConfState } from '../raft/index.js';
import { MemoryStorage, ProposalDropped, RaftNode, decodeConfChange } from '../raft/index.js';
import { Wal, SnapStore, WalCorruptError, WalError } from '../wal/index.js';
import { assert } from '../util/assert.js';
import { utf8 } from '../util/bytes.js';
import type { NodeId } from '../util/ids.js';
import { NO_NODE } from '../util/ids.js';
import type { StateMachine } from './state-machine.js';
import { decodeEnvelope, encodeEnvelope } from './envelope.js';
import { NodeRequestError } from './errors.js';

export interface NodeConfig {
  readonly id: NodeId;
  /** Voters of a brand-new cluster; ignored when the data dir already holds state. */
  readonly initialVoters: readonly NodeId[];
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** Applied entries between snapshots (etcd's --snapshot-count). */
  readonly snapshotCount: number;
  /** Entries kept in the log behind a snapshot so slow followers catch up without one. */
  readonly catchUpEntries: number;
  readonly maxInflightMsgs: number;
  readonly maxSizePerMsgBytes: number;
  readonly walSegmentBytes?: number;
  /**
   * Term a brand-new member starts in. etcd starts every new member as a follower of term 1, so
   * its first election is term 2 (clients see raft_term 2 on a fresh single member); the real
   * server passes 1. The simulator keeps 0, which its pinned seeds were recorded with.
   */
  readonly bootstrapTerm?: number;
}

const SNAPSHOTS_KEPT = 2;

/** A leader's messages that do not vouch for its own log being durable. */
function sendableBeforeSync(m: Message): boolean {
  return m.type === 'app' || m.type === 'heartbeat';
}

interface Waiter<R> {
  resolve(result: R): void;
  reject(error: Error): void;
}

/** What the member learned about itself and the cluster; read by invariants and the API. */
export interface NodeObservation {
  readonly id: NodeId;
  readonly term: number;
  readonly leader: NodeId;
  readonly isLeader: boolean;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly confState: ConfState;
}

/**
 * The node loop: the only place that composes env + raft + wal + the state machine.
 * Each input (tick, message, proposal) is handed to Raft, then the pending Ready is processed
 * in one batch at the end of the current macrotask: persist (one fsync) -> send -> apply ->
 * advance. Batching many proposals per Ready is what keeps throughput above one fsync a request.
 */
export class ServerNode<R> {
  private readonly raft: RaftNode;
  private readonly storage: MemoryStorage;
  private readonly wal: Wal;
  private readonly snaps: SnapStore;
  /** Proposals of this process (this epoch) waiting to be applied, by sequence number. */
  private readonly waiters = new Map<number, Waiter<R>>();
  /** Reads that arrived since the last ReadIndex was issued; the next drain issues one for all. */
  private readBatch: Array<Waiter<void>> = [];
  /** ReadIndex requests in flight, oldest first, each with every read it answers. */
  private readonly readWaiters: Array<{ ctx: string; waiters: Array<Waiter<void>> }> = [];
  private readonly pendingReads: Array<{ index: number; waiter: Waiter<void> }> = [];
  private readonly snapshotsSent: NodeId[] = [];
  /** Indexes of the snapshots kept on disk, oldest first; the WAL is kept from the oldest. */
  private readonly snapshotIndexes: number[] = [];
  private readonly epoch: number;
  private seq = 0;
  private readSeq = 0;
  private tickTimer: TimerHandle | undefined;
  private drainScheduled = false;
  /** A Ready's WAL sync is in flight (async persistence); the loop resumes when it completes. */
  private persisting = false;
  private stopped = false;
  private leader: NodeId = NO_NODE;
  /** Raft's term, commit and role as of the last Ready: cheap to read after every event. */
  private term = 0;
  private commit = 0;
  private role: RaftRole = 'follower';
  /** Told of every role change before the Ready that announced it applies anything. */
  private readonly roleListeners: ((role: RaftRole) => void)[] = [];
  private lastSnapshotIndex: number;
  private confState: ConfState;

  constructor(
    private readonly env: Env,
    private readonly transport: Transport<Message>,
    private readonly config: NodeConfig,
    private readonly machine: StateMachine<R>,
    /** Called once when the node must stop: a disk error or a broken invariant (etcd panics). */
    private readonly onFatal: (error: unknown) => void = (error) => {
      throw error;
    },
  ) {
    assert(config.tickMs > 0 && config.electionTicks > config.heartbeatTicks, 'tick configuration is inconsistent');
    this.epoch = env.rand.fork('request-epoch').nextUint32();
    this.snaps = new SnapStore(env.disk, 'member/snap');
    const opened = this.openStorage();
    this.storage = opened.storage;
    this.wal = opened.wal;
    this.lastSnapshotIndex = opened.snapshotIndex;
    this.confState = opened.confState;
    this.raft = new RaftNode({
      id: config.id,
      storage: this.storage,
      electionTicks: config.electionTicks,
      heartbeatTicks: config.heartbeatTicks,
      rand: env.rand.fork('raft'),
      logger: env.logger,
      preVote: true,
      checkQuorum: true,
      maxInflightMsgs: config.maxInflightMsgs,
      maxSizePerMsgBytes: config.maxSizePerMsgBytes,
      applied: machine.appliedIndex(),
    });
    // Raft replays the configuration changes applied after the snapshot; the snapshot's own
    // ConfState would miss them and the next snapshot would record a stale membership.
    this.confState = this.raft.status().config;
    const initial = this.storage.initialState().hardState;
    this.term = initial.term;
    this.commit = initial.commit;
    transport.onReceive((_from, message) => this.receive(message));
    this.scheduleTick();
  }

  /** Opens (or creates) WAL and snapshot, restores the state machine, fills Raft's storage. */
  private openStorage(): { storage: MemoryStorage; wal: Wal; snapshotIndex: number; confState: ConfState } {
    const { disk } = this.env;
    const storage = new MemoryStorage();
    if (!Wal.exists(disk, 'member/wal')) {
      const wal = Wal.create(disk, 'member/wal', { nodeId: this.config.id, clusterId: 'tsetcd' }, this.walOptions());
      const confState: ConfState = { voters: [...this.config.initialVoters], learners: [] };
      storage.bootstrap(confState);
      const bootstrapTerm = this.config.bootstrapTerm ?? 0;
      if (bootstrapTerm > 0) {
        const hardState = { term: bootstrapTerm, vote: NO_NODE, commit: 0 };
        wal.save(hardState, [], true);
        storage.setHardState(hardState);
      }
      return { storage, wal, snapshotIndex: 0, confState };
    }
    // A snapshot file saved just before a crash may have no marker in the WAL yet: use only
    // snapshots the WAL knows, so the WAL holds every entry after the one we restore.
    const markers = Wal.snapshotMarkers(disk, 'member/wal');
    const known = new Set(markers.map((m) => `${m.index}/${m.term}`));
    const loaded = this.snaps.loadNewest((m) => known.has(`${m.index}/${m.term}`));
    for (const skip of loaded.skipped) this.env.logger.warn('snapshot file skipped', { ...skip });
    const snapshot = loaded.snapshot;
    const from = snapshot ? { index: snapshot.meta.index, term: snapshot.meta.term } : { index: 0, term: 0 };
    const opened = this.openWal(from, loaded.skipped);
    if (opened.repaired) this.env.logger.warn('wal tail repaired', { ...opened.repaired });
    let confState: ConfState = { voters: [...this.config.initialVoters], learners: [] };
    if (snapshot) {
      storage.applySnapshot(snapshot);
      confState = snapshot.meta.confState;
      if (this.machine.appliedIndex() < snapshot.meta.index) {
        this.machine.restore(snapshot.meta.index, snapshot.meta.term, snapshot.data);
      }
    } else {
      storage.bootstrap(confState);
    }
    storage.append(opened.entries);
    storage.setHardState(opened.hardState);
    return { storage, wal: opened.wal, snapshotIndex: snapshot?.meta.index ?? 0, confState };
  }

  /**
   * Opens the WAL from the snapshot we restore. When a corrupt snapshot file was skipped and the
   * WAL cannot be opened without it (it replaced the log), the member's data is corrupt: that is
   * reported as detected corruption naming the file, so the member stays down (as etcd refuses
   * to start), instead of as a misuse of the WAL.
   */
  private openWal(from: { index: number; term: number }, skipped: readonly { file: string; reason: string }[]): ReturnType<typeof Wal.open> {
    try {
      return Wal.open(this.env.disk, 'member/wal', from, this.walOptions());
    } catch (error) {
      const corrupt = skipped[0];
      if (corrupt === undefined || !(error instanceof WalError) || error instanceof WalCorruptError) throw error;
      throw new WalCorruptError(corrupt.file, 0, `the snapshot this WAL needs is unreadable (${corrupt.reason}): ${error.message}`);
    }
  }

  private walOptions(): { segmentSizeBytes?: number } {
    return this.config.walSegmentBytes === undefined ? {} : { segmentSizeBytes: this.config.walSegmentBytes };
  }

  // ---- inputs -------------------------------------------------------------------------------

  /** Proposes a request; resolves with the state machine's result once applied on this member. */
  propose(payload: Uint8Array): Promise<R> {
    if (this.stopped) return Promise.reject(new NodeRequestError('stopped'));
    // The envelope carries 32 bits; the key must be what applyEntry decodes.
    const seq = ++this.seq >>> 0;
    const data = encodeEnvelope({ epoch: this.epoch, seq }, payload);
    // Once per client write: proposed inline, without refusal()'s closure.
    try {
      this.raft.propose(data);
    } catch (error) {
      return Promise.reject(this.refused(error));
    }
    const promise = new Promise<R>((resolve, reject) => this.waiters.set(seq, { resolve, reject }));
    this.scheduleDrain();
    return promise;
  }

  /** Proposes a membership change; throws NodeRequestError when Raft refuses it outright. */
  proposeConfChange(change: ConfChange): void {
    const refused = this.refusal(() => this.raft.proposeConfChange(change));
    if (refused) throw refused;
    this.scheduleDrain();
  }

  /** Runs a Raft call that may refuse with ProposalDropped; anything else is fatal. */
  private refusal(call: () => void): NodeRequestError | undefined {
    try {
      call();
      return undefined;
    } catch (error) {
      return this.refused(error);
    }
  }

  /** What a Raft call's throw means for the caller: dropped (retry), or fatal for the node. */
  private refused(error: unknown): NodeRequestError {
    if (!(error instanceof ProposalDropped)) {
      this.stop();
      this.onFatal(error);
      return new NodeRequestError('stopped');
    }
    return new NodeRequestError(this.raft.status().leader === NO_NODE ? 'noLeader' : 'dropped');
  }

  /**
   * Resolves once this member has applied everything committed before the call (ReadIndex).
   * Reads are coalesced as etcd's linearizableReadLoop does: every read that arrives before the
   * next drain shares one ReadIndex (on a leader of several members, one heartbeat round). Safe
   * because the ReadIndex is issued after all of them arrived, so the commit index it captures
   * covers every write any of them could have seen complete.
   */
  linearizableBarrier(): Promise<void> {
    if (this.stopped) return Promise.reject(new NodeRequestError('stopped'));
    const promise = new Promise<void>((resolve, reject) => this.readBatch.push({ resolve, reject }));
    this.scheduleDrain();
    return promise;
  }

  /** Issues one ReadIndex for the reads batched since the last one (at the start of a drain). */
  private issueReadIndex(): void {
    if (this.readBatch.length === 0 || this.stopped) return;
    const waiters = this.readBatch;
    this.readBatch = [];
    const ctx = `${this.epoch}:r${++this.readSeq}`;
    const refused = this.refusal(() => this.raft.readIndex(utf8(ctx)));
    if (refused) {
      for (const w of waiters) w.reject(refused);
      return;
    }
    this.readWaiters.push({ ctx, waiters });
  }

  transferLeadership(target: NodeId): void {
    this.guard(() => this.raft.transferLeader(target));
    this.scheduleDrain();
  }

  campaign(): void {
    this.guard(() => this.raft.campaign());
    this.scheduleDrain();
  }

  private receive(message: Message): void {
    if (this.stopped) return;
    this.guard(() => this.raft.step(message));
    this.scheduleDrain();
  }

  private scheduleTick(): void {
    this.tickTimer = this.env.clock.setTimer(this.config.tickMs, () => {
      if (this.stopped) return;
      this.guard(() => this.raft.tick());
      this.drain();
      if (!this.stopped) this.scheduleTick();
    });
  }

  /** Runs a Raft input; a thrown assertion stops the node instead of escaping into the caller. */
  private guard(input: () => void): void {
    try {
      input();
    } catch (error) {
      this.stop();
      this.onFatal(error);
    }
  }

  private scheduleDrain(): void {
    if (this.drainScheduled || this.stopped) return;
    this.drainScheduled = true;
    // After the input already received (a zero-delay timer: an immediate in the real env, the same
    // virtual instant in the simulator): every proposal and message read in one I/O poll shares
    // one Ready and one fsync (group commit), where a microtask would drain after each request.
    this.env.clock.setTimer(0, () => {
      this.drainScheduled = false;
      if (!this.stopped) this.drain();
    });
  }

  // ---- the Ready loop -----------------------------------------------------------------------

  private drain(): void {
    // A Ready whose WAL sync is in flight owns the loop: the next one is taken when it completes.
    if (this.persisting) return;
    this.issueReadIndex();
    try {
      let rounds = 0;
      while (!this.stopped && !this.persisting && this.raft.hasReady()) {
        assert(++rounds < 10_000, 'ready loop does not converge');
        const rd = this.raft.ready();
        this.noteState(rd);
        if (this.canSyncAsync(rd)) {
          this.persistAsync(rd);
        } else {
          this.persist(rd);
          this.finishReady(rd, rd.messages);
        }
      }
    } catch (error) {
      // Nothing after a failed persist or apply can be trusted: stop, as etcd panics. The
      // process supervisor (or the simulator) decides whether to restart from disk.
      this.stop();
      this.onFatal(error);
    }
  }

  private noteState(rd: Ready): void {
    if (rd.softState) {
      const changed = rd.softState.role !== this.role;
      this.role = rd.softState.role;
      this.onLeaderChange(rd.softState.leader);
      if (changed) for (const listener of this.roleListeners) listener(this.role);
    }
    if (rd.hardState) {
      this.term = rd.hardState.term;
      this.commit = rd.hardState.commit;
    }
  }

  /** A Ready that must be synced and carries no snapshot can sync off the loop's thread. */
  private canSyncAsync(rd: Ready): boolean {
    return rd.mustSync && rd.snapshot === undefined && this.env.disk.syncAsync !== undefined && (rd.entries.length > 0 || rd.hardState !== undefined);
  }

  /**
   * Writes the Ready to the WAL now and syncs it asynchronously; everything that needs it durable
   * (acks, votes, applying entries this member's own log makes committed) waits for the sync.
   * A leader sends its appends and heartbeats first: it may replicate in parallel with its own
   * write (Raft thesis 10.2.1) because it learns of a commit only from Readies taken after this
   * one is advanced, so no commit it reports can rest on its own unsynced entries. Meanwhile the
   * loop keeps reading requests, which Raft queues for the next Ready: one sync covers them all.
   */
  private persistAsync(rd: Ready): void {
    this.wal.save(rd.hardState, rd.entries, false);
    if (rd.entries.length > 0) this.storage.append(rd.entries);
    if (rd.hardState) this.storage.setHardState(rd.hardState);
    const early = this.role === 'leader' ? rd.messages.filter(sendableBeforeSync) : [];
    const late = early.length === 0 ? rd.messages : rd.messages.filter((m) => !sendableBeforeSync(m));
    for (const m of early) this.transport.send(m.to, m);
    this.persisting = true;
    this.wal.syncAsync((error) => {
      if (this.stopped) return;
      this.persisting = false;
      try {
        if (error) throw error;
        this.finishReady(rd, late);
      } catch (failure) {
        this.stop();
        this.onFatal(failure);
        return;
      }
      this.drain();
    });
  }

  /** Everything after the persist: send, apply, answer reads, snapshot, advance. */
  private finishReady(rd: Ready, messages: readonly Message[]): void {
    for (const m of messages) this.transport.send(m.to, m);
    // The transport cannot tell whether a snapshot arrived. Like etcd once its snapshot stream
    // ends, report it sent: the leader probes the follower, and resends if it is still behind.
    for (const m of rd.messages) if (m.type === 'snap') this.snapshotsSent.push(m.to);
    if (rd.snapshot) this.applySnapshot(rd.snapshot);
    for (const entry of rd.committedEntries) this.applyEntry(entry);
    if (rd.committedEntries.length > 0) this.machine.flush();
    for (const rs of rd.readStates) this.onReadState(rs);
    this.releaseReads();
    this.maybeSnapshot();
    this.raft.advance();
    for (const to of this.snapshotsSent.splice(0)) this.raft.reportSnapshot(to, true);
  }

  /** Persist before send: a vote or an acknowledged append must survive a crash. */
  private persist(rd: Ready): void {
    if (rd.snapshot) {
      this.snaps.save(rd.snapshot);
      // Raft discarded its whole log for this snapshot: so must the WAL.
      this.wal.saveSnapshotMarker(rd.snapshot.meta, { replacesLog: true });
      this.storage.applySnapshot(rd.snapshot);
    }
    if (rd.entries.length > 0 || rd.hardState) this.wal.save(rd.hardState, rd.entries, rd.mustSync);
    if (rd.entries.length > 0) this.storage.append(rd.entries);
    if (rd.hardState) this.storage.setHardState(rd.hardState);
  }

  private applySnapshot(snapshot: Snapshot): void {
    const applied = this.machine.appliedIndex();
    assert(snapshot.meta.index > applied, () => `snapshot at ${snapshot.meta.index} is not newer than applied ${applied}`);
    this.machine.restore(snapshot.meta.index, snapshot.meta.term, snapshot.data);
    this.machine.flush();
    this.confState = snapshot.meta.confState;
    this.lastSnapshotIndex = snapshot.meta.index;
  }

  private applyEntry(entry: Entry): void {
    const applied = this.machine.appliedIndex();
    if (entry.index <= applied) return; // already in the state machine (replay after restart)
    assert(entry.index === applied + 1, () => `apply gap: entry ${entry.index} after applied ${applied}`);
    if (entry.type === 'confChange') {
      const change = decodeConfChange(entry.data);
      this.confState = this.raft.applyConfChange(change);
      if (this.machine.applyConfChange) this.machine.applyConfChange(entry.index, entry.term, change, this.confState);
      else this.machine.applyEmpty(entry.index, entry.term);
      return;
    }
    if (entry.data.length === 0) {
      this.machine.applyEmpty(entry.index, entry.term);
      return;
    }
    const { id, payload } = decodeEnvelope(entry.data);
    const result = this.machine.apply(entry.index, entry.term, payload);
    if (id.epoch !== this.epoch) return;
    const waiter = this.waiters.get(id.seq);
    if (waiter) {
      this.waiters.delete(id.seq);
      waiter.resolve(result);
    }
  }

  private onReadState(rs: ReadState): void {
    const ctx = new TextDecoder().decode(rs.requestCtx);
    const at = this.readWaiters.findIndex((w) => w.ctx === ctx);
    if (at < 0) return;
    // A ReadState answers its own request and every earlier one still waiting.
    const answered = this.readWaiters.splice(0, at + 1);
    for (const { waiters } of answered) for (const waiter of waiters) this.pendingReads.push({ index: rs.index, waiter });
  }

  private releaseReads(): void {
    if (this.pendingReads.length === 0) return;
    const applied = this.machine.appliedIndex();
    const waiting: Array<{ index: number; waiter: Waiter<void> }> = [];
    const ready: Array<Waiter<void>> = [];
    for (const read of this.pendingReads) {
      if (read.index <= applied) ready.push(read.waiter);
      else waiting.push(read);
    }
    if (ready.length === 0) return;
    this.pendingReads.splice(0, this.pendingReads.length, ...waiting);
    for (const waiter of ready) waiter.resolve();
  }

  private onLeaderChange(leader: NodeId): void {
    if (leader === this.leader) return;
    const hadLeader = this.leader !== NO_NODE;
    this.leader = leader;
    if (!hadLeader) return;
    // Proposals and reads in flight may be lost with the old leader's term: fail them so
    // callers retry, as etcd answers "leader changed". They may still commit: callers treat
    // the outcome as unknown.
    for (const [key, waiter] of this.waiters) {
      this.waiters.delete(key);
      waiter.reject(new NodeRequestError('leaderChanged'));
    }
    for (const { waiters } of this.readWaiters.splice(0)) for (const waiter of waiters) waiter.reject(new NodeRequestError('leaderChanged'));
  }

  private maybeSnapshot(): void {
    const applied = this.machine.appliedIndex();
    if (applied - this.lastSnapshotIndex < this.config.snapshotCount) return;
    const snapshot = this.storage.createSnapshot(applied, this.confState, this.machine.snapshot());
    this.snaps.save(snapshot);
    this.wal.saveSnapshotMarker(snapshot.meta);
    this.lastSnapshotIndex = applied;
    this.snapshotIndexes.push(applied);
    const compactTo = applied - this.config.catchUpEntries;
    if (compactTo > this.storage.firstIndex()) this.storage.compact(compactTo);
    // Two snapshots stay on disk; if the newer one is found corrupt at start-up the node falls
    // back to the older, so the WAL must still hold every entry after the older one.
    while (this.snapshotIndexes.length > SNAPSHOTS_KEPT) this.snapshotIndexes.shift();
    this.snaps.purge(SNAPSHOTS_KEPT);
    const oldestKept = this.snapshotIndexes[0] ?? 0;
    if (this.snapshotIndexes.length === SNAPSHOTS_KEPT) this.wal.releaseTo(Math.min(oldestKept, compactTo));
  }

  // ---- observation and shutdown ---------------------------------------------------------------

  /**
   * Called on every role change, before this member applies anything as the new role (etcd's
   * updateLeadership): the lessor must be primary before the first entry of its term applies.
   */
  onRoleChange(listener: (role: RaftRole) => void): void {
    this.roleListeners.push(listener);
  }

  observe(): NodeObservation {
    return {
      id: this.config.id,
      term: this.term,
      leader: this.leader,
      isLeader: this.role === 'leader',
      commitIndex: this.commit,
      appliedIndex: this.machine.appliedIndex(),
      confState: this.confState,
    };
  }

  /** Raft's full status (progress of each follower on the leader), for reports and the API. */
  raftStatus(): RaftStatus {
    return this.raft.status();
  }

  /** Raft's in-memory log view, for the simulator's invariants. */
  raftStorage(): MemoryStorage {
    return this.storage;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.tickTimer) this.env.clock.clearTimer(this.tickTimer);
    for (const waiter of this.waiters.values()) waiter.reject(new NodeRequestError('stopped'));
    this.waiters.clear();
    const reads = [...this.readBatch.splice(0), ...this.readWaiters.splice(0).flatMap((r) => r.waiters), ...this.pendingReads.splice(0).map((r) => r.waiter)];
    for (const waiter of reads) waiter.reject(new NodeRequestError('stopped'));
    try {
      this.wal.close();
    } catch {
      // The disk may be what failed; the WAL on disk is recovered on the next start.
    }
  }
}
