import { assert, bytesEqual, NO_NODE, utf8 } from '../util/index.js';
import type { NodeId } from '../util/index.js';
import type { Logger, Rand } from '../env/index.js';
import { silentLogger } from '../env/index.js';
import { decodeConfChange, encodeConfChange } from './confchange.js';
import { RaftLog } from './log.js';
import { Progress, ProgressTracker } from './progress.js';
import type { ProgressState } from './progress.js';
import { ReadOnly } from './readonly.js';
import type { ReadRequest } from './readonly.js';
import { EMPTY_HARD_STATE, type MemoryStorage } from './storage.js';
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  MessageType,
  RaftRole,
  ReadState,
  Ready,
  Snapshot,
  SoftState,
} from './types.js';

export interface RaftConfig {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  /** A follower campaigns after a random timeout in [electionTicks, 2*electionTicks). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly rand: Rand;
  readonly logger?: Logger;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** Append messages in flight per follower in replicate state. */
  readonly maxInflightMsgs: number;
  /** Entry bytes per append message (at least one entry is always sent). */
  readonly maxSizePerMsgBytes: number;
  /**
   * Last index the state machine applied before a restart. Committed entries after it are
   * delivered again; conf changes up to it are replayed into the configuration by Raft itself
   * (read the result with status().config).
   */
  readonly applied?: number;
}

/** propose()/proposeConfChange()/readIndex() refused: no leader, leader transfer, or removed. */
export class ProposalDropped extends Error {
  override readonly name = 'ProposalDropped';
}

export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly recentActive: boolean;
  readonly isLearner: boolean;
  readonly inflight: number;
  readonly pendingSnapshot: number;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly role: RaftRole;
  readonly leader: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly leadTransferee: NodeId;
  readonly config: ConfState;
  /** Per peer, only on the leader. */
  readonly progress: ReadonlyMap<NodeId, ProgressStatus>;
}

/** Marks a vote request of a leader transfer: it bypasses the leader lease and pre-vote. */
export const CAMPAIGN_TRANSFER = utf8('CampaignTransfer');

const EMPTY = new Uint8Array(0);
const LOCAL_TYPES: ReadonlySet<MessageType> = new Set(['hup', 'beat', 'unreachable', 'snapStatus', 'checkQuorum']);
const TERMLESS_TYPES: ReadonlySet<MessageType> = new Set(['prop', 'readIndex']);
/** Requests a follower forwards to the leader unchanged; term 0 marks them as local requests. */
const FORWARDED_TYPES: ReadonlySet<MessageType> = new Set(['prop', 'readIndex', 'transferLeader']);
const EXPLICIT_TERM_TYPES: ReadonlySet<MessageType> = new Set(['vote', 'voteResp', 'preVote', 'preVoteResp']);

type MessageFields = Partial<Message> & Pick<Message, 'type' | 'to'>;

interface Outstanding {
  readonly lastEntry: { readonly index: number; readonly term: number } | undefined;
  readonly appliedTo: number | undefined;
  readonly snapshotIndex: number | undefined;
}

export function emptyMessage(fields: Pick<Message, 'type' | 'from' | 'to'>): Message {
  return {
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    hintTerm: 0,
    context: EMPTY,
    ...fields,
  };
}

/**
 * A Raft state machine in the manner of etcd's raft: no IO, no timers. The node loop calls
 * tick() on its clock, step() with messages from peers, and drains ready()/advance().
 */
export class RaftNode {
  readonly id: NodeId;
  private readonly electionTicks: number;
  private readonly heartbeatTicks: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxSizePerMsgBytes: number;
  private readonly rand: Rand;
  private readonly logger: Logger;
  private readonly log: RaftLog;
  private readonly trk: ProgressTracker;

  private term = 0;
  private vote: NodeId = NO_NODE;
  private lead: NodeId = NO_NODE;
  private role: RaftRole = 'follower';
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeoutTicks = 0;
  private leadTransferee: NodeId = NO_NODE;
  /** Index of the latest conf change proposed by this leader; another waits until it is applied. */
  private pendingConfIndex = 0;
  private readOnly = new ReadOnly();
  /** ReadIndex requests that arrived before this leader committed an entry of its term. */
  private pendingReadIndexMessages: Message[] = [];
  /** Appends to broadcast when the next Ready is taken (proposals and commit advances batch up). */
  private appendBcastPending = false;
  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private outstanding: Outstanding | undefined = undefined;
  // For invariant checks across calls.
  private checkedTerm = 0;
  private checkedCommit = 0;
  private checkedVote: NodeId = NO_NODE;

  constructor(config: RaftConfig) {
    assert(config.heartbeatTicks > 0, 'heartbeatTicks must be positive');
    assert(config.electionTicks > config.heartbeatTicks, 'electionTicks must exceed heartbeatTicks');
    assert(config.maxInflightMsgs > 0 && config.maxSizePerMsgBytes > 0, 'flow control limits must be positive');
    this.id = config.id;
    this.electionTicks = config.electionTicks;
    this.heartbeatTicks = config.heartbeatTicks;
    this.preVote = config.preVote;
    this.checkQuorum = config.checkQuorum;
    this.maxSizePerMsgBytes = config.maxSizePerMsgBytes;
    this.rand = config.rand;
    this.logger = (config.logger ?? silentLogger).child({ raft: config.id });
    this.log = new RaftLog(config.storage);
    this.trk = new ProgressTracker(config.maxInflightMsgs);
    const { hardState, confState } = config.storage.initialState();
    this.setConf(confState);
    if (!isEmptyHardState(hardState)) this.loadState(hardState);
    if (config.applied !== undefined && config.applied > 0) this.restoreApplied(config.applied);
    this.replayAppliedConfChanges();
    this.becomeFollower(this.term, NO_NODE);
    this.prevHardState = hardState;
    this.prevSoftState = this.softState();
    this.checkedTerm = this.term;
    this.checkedCommit = this.log.committed;
    this.checkedVote = this.vote;
  }

  /**
   * The state machine may be ahead of the persisted commit: a commit-only hard state change is
   * not synced, but what was applied was committed, so the commit index can be raised to it.
   */
  private restoreApplied(applied: number): void {
    assert(applied <= this.log.lastIndex(), () => `applied ${applied} beyond the log's last index ${this.log.lastIndex()}`);
    if (applied > this.log.committed) {
      this.logger.info('raising commit to the applied index after restart', { commit: this.log.committed, applied });
      this.log.commitTo(applied);
    }
    if (applied > this.log.applied) this.log.appliedTo(applied);
  }

  /**
   * The configuration on disk is the snapshot's; conf changes after it that the state machine
   * already applied will not be delivered again, so they are replayed here from the log.
   */
  private replayAppliedConfChanges(): void {
    const lo = this.log.firstIndex();
    const hi = this.log.applied;
    if (hi < lo) return;
    assert(this.role === 'follower' && this.lead === NO_NODE, 'conf replay only during construction');
    for (const e of this.log.slice(lo, hi + 1)) {
      if (e.type === 'confChange') this.applyConfChange(decodeConfChange(e.data));
    }
  }

  private loadState(hs: HardState): void {
    assert(hs.commit <= this.log.lastIndex(), () => `hard state commit ${hs.commit} beyond last index ${this.log.lastIndex()}`);
    assert(hs.term >= this.log.lastTerm(), 'hard state term below last log term');
    // A snapshot holds only committed state, and a commit-only hard state is not synced: the
    // snapshot's index may be ahead of the persisted commit.
    this.log.committed = Math.max(hs.commit, this.log.committed);
    this.term = hs.term;
    this.vote = hs.vote;
  }

  // ---- public driving API ----

  tick(): void {
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
    this.assertInvariants();
  }

  /** A message from a peer. Local message kinds have their own methods. */
  step(m: Message): void {
    assert(!LOCAL_TYPES.has(m.type), () => `step: local message type ${m.type}; use the method`);
    assert(m.to === this.id, () => `step: message for ${m.to} delivered to ${this.id}`);
    assert(m.term > 0 || FORWARDED_TYPES.has(m.type), () => `step: ${m.type} without a term`);
    this.stepInternal(m);
    this.assertInvariants();
  }

  propose(data: Uint8Array): void {
    this.proposeEntry({ term: 0, index: 0, type: 'normal', data });
  }

  proposeConfChange(cc: ConfChange): void {
    this.proposeEntry({ term: 0, index: 0, type: 'confChange', data: encodeConfChange(cc) });
  }

  private proposeEntry(e: Entry): void {
    const m = { ...emptyMessage({ type: 'prop', from: this.id, to: this.id }), entries: [e] };
    const accepted = this.stepInternal(m);
    this.assertInvariants();
    if (!accepted) throw new ProposalDropped(`proposal dropped at ${this.id} (role ${this.role}, leader ${this.lead || 'none'})`);
  }

  /** Asks for a linearizable read point; answered through Ready.readStates with the same ctx. */
  readIndex(ctx: Uint8Array): void {
    const m = { ...emptyMessage({ type: 'readIndex', from: this.id, to: this.id }), context: ctx };
    const accepted = this.stepInternal(m);
    this.assertInvariants();
    if (!accepted) throw new ProposalDropped(`read index dropped at ${this.id}: no leader`);
  }

  /** Starts an election (with pre-vote if configured), as if the election timeout elapsed. */
  campaign(): void {
    this.hup(false);
    this.assertInvariants();
  }

  transferLeader(target: NodeId): void {
    // As in etcd, the request names the transferee in `from`.
    this.stepInternal(emptyMessage({ type: 'transferLeader', from: target, to: this.id }));
    this.assertInvariants();
  }

  reportUnreachable(id: NodeId): void {
    if (this.role !== 'leader') return;
    const pr = this.trk.progress.get(id);
    // Pipelining into a dead link wastes the window; probe until it answers again.
    if (pr !== undefined && pr.state === 'replicate') pr.becomeProbe();
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    if (this.role !== 'leader') return;
    const pr = this.trk.progress.get(id);
    if (pr === undefined || pr.state !== 'snapshot') return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    // Wait for the follower's response (or a heartbeat) before probing again.
    pr.probeSent = true;
  }

  status(): RaftStatus {
    const progress = new Map<NodeId, ProgressStatus>();
    if (this.role === 'leader') {
      for (const [id, pr] of this.trk.progress) {
        progress.set(id, {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          recentActive: pr.recentActive,
          isLearner: pr.isLearner,
          inflight: pr.inflights.count,
          pendingSnapshot: pr.pendingSnapshot,
        });
      }
    }
    return {
      id: this.id,
      term: this.term,
      vote: this.vote,
      role: this.role,
      leader: this.lead,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      leadTransferee: this.leadTransferee,
      config: this.trk.confState(),
      progress,
    };
  }

  /** Term of log entry `index`, or undefined if compacted or absent (for tests and tools). */
  logTerm(index: number): number | undefined {
    return this.log.term(index);
  }

  // ---- Ready / advance ----

  private softState(): SoftState {
    return { leader: this.lead, role: this.role };
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    if (this.appendBcastPending && this.role === 'leader') return true;
    const ss = this.softState();
    if (ss.leader !== this.prevSoftState.leader || ss.role !== this.prevSoftState.role) return true;
    if (!hardStateEqual(this.hardState(), this.prevHardState)) return true;
    if (this.log.unstable.snapshot !== undefined) return true;
    if (this.log.unstable.entries.length > 0) return true;
    if (this.msgs.length > 0 || this.readStates.length > 0) return true;
    return this.log.hasNextCommittedEntries();
  }

  ready(): Ready {
    assert(this.outstanding === undefined, 'ready() called again before advance()');
    if (this.appendBcastPending) {
      this.appendBcastPending = false;
      if (this.role === 'leader') this.bcastAppendFillingWindows();
    }
    const entries = this.log.unstableEntries();
    const committedEntries = this.log.nextCommittedEntries();
    const snapshot = this.log.unstable.snapshot;
    const hs = this.hardState();
    const ss = this.softState();
    const hsChanged = !hardStateEqual(hs, this.prevHardState);
    const mustSync = entries.length > 0 || snapshot !== undefined || hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote;
    const rd: Ready = {
      ...(ss.leader !== this.prevSoftState.leader || ss.role !== this.prevSoftState.role ? { softState: ss } : {}),
      ...(hsChanged ? { hardState: hs } : {}),
      ...(snapshot !== undefined ? { snapshot } : {}),
      readStates: this.readStates,
      entries,
      committedEntries,
      messages: coalesceForwardedProposals(this.msgs),
      mustSync,
    };
    const last = entries[entries.length - 1];
    const lastCommitted = committedEntries[committedEntries.length - 1];
    assert(lastCommitted === undefined || lastCommitted.index <= this.log.committed, 'ready: delivering uncommitted entry');
    this.outstanding = {
      lastEntry: last === undefined ? undefined : { index: last.index, term: last.term },
      appliedTo: lastCommitted?.index ?? snapshot?.meta.index,
      snapshotIndex: snapshot?.meta.index,
    };
    this.msgs = [];
    this.readStates = [];
    this.prevSoftState = ss;
    this.prevHardState = hs;
    return rd;
  }

  /** The last ready() was persisted, sent and applied. */
  advance(): void {
    const o = this.outstanding;
    assert(o !== undefined, 'advance() without ready()');
    if (o.snapshotIndex !== undefined) this.log.stableSnapTo(o.snapshotIndex);
    if (o.lastEntry !== undefined) this.log.stableTo(o.lastEntry.index, o.lastEntry.term);
    if (o.appliedTo !== undefined) this.log.appliedTo(o.appliedTo);
    this.outstanding = undefined;
    this.assertInvariants();
  }

  // ---- configuration ----

  private setConf(cs: ConfState): void {
    this.trk.voters.clear();
    this.trk.learners.clear();
    this.trk.progress.clear();
    for (const id of cs.voters) this.addProgress(id, false);
    for (const id of cs.learners) {
      assert(!this.trk.voters.has(id), () => `${id} is both voter and learner`);
      this.addProgress(id, true);
    }
  }

  /** `probeLast`: start probing at the last entry so that a new member is contacted at once. */
  private addProgress(id: NodeId, isLearner: boolean, probeLast = false): void {
    const last = this.log.lastIndex();
    const next = probeLast && id !== this.id ? Math.max(last, 1) : last + 1;
    const pr = new Progress(id === this.id ? last : 0, next, isLearner, this.trk.maxInflightMsgs);
    pr.recentActive = true;
    this.trk.progress.set(id, pr);
    (isLearner ? this.trk.learners : this.trk.voters).add(id);
  }

  /**
   * Called by the node loop when it applies a confChange entry (on every member, in log
   * order, including entries re-delivered after a restart). Invalid changes are no-ops, the
   * same on every member. Returns the new configuration for the next snapshot.
   */
  applyConfChange(cc: ConfChange): ConfState {
    const id = cc.nodeId;
    const isVoter = this.trk.voters.has(id);
    const isLearner = this.trk.learners.has(id);
    switch (cc.type) {
      case 'addNode':
      case 'promoteLearner':
        if (isLearner) this.promote(id);
        else if (!isVoter && cc.type === 'addNode') this.addProgress(id, false, true);
        else if (!isVoter) this.logger.warn('promoteLearner of a non-learner ignored', { node: id });
        break;
      case 'addLearner':
        if (isVoter) this.logger.warn('demoting a voter to learner is not supported; ignored', { node: id });
        else if (!isLearner) this.addProgress(id, true, true);
        break;
      case 'removeNode':
        if (isVoter && this.trk.voters.size === 1) {
          // Nobody could ever commit again; refuse, the same way on every member.
          this.logger.warn('removing the last voter is not allowed; ignored', { node: id });
          break;
        }
        this.trk.voters.delete(id);
        this.trk.learners.delete(id);
        this.trk.progress.delete(id);
        break;
    }
    assert(!(this.trk.voters.has(id) && this.trk.learners.has(id)), 'node is both voter and learner');
    this.afterConfChange();
    return this.trk.confState();
  }

  private promote(id: NodeId): void {
    const pr = this.trk.progress.get(id);
    assert(pr !== undefined && pr.isLearner, 'promote: not a learner');
    pr.isLearner = false;
    this.trk.learners.delete(id);
    this.trk.voters.add(id);
  }

  private afterConfChange(): void {
    if ((this.role === 'candidate' || this.role === 'preCandidate') && !this.trk.voters.has(this.id)) {
      // Removed (or never promoted) mid-election: the votes it may still get must not make it
      // leader of a configuration it is not part of.
      this.becomeFollower(this.term, NO_NODE);
      return;
    }
    if (this.role !== 'leader') return;
    if (this.leadTransferee !== NO_NODE && !this.trk.voters.has(this.leadTransferee)) this.abortLeaderTransfer();
    // A smaller quorum may commit more; new members need their first append.
    if (this.maybeCommit()) this.bcastAppend();
    else for (const id of this.trk.progress.keys()) if (id !== this.id) this.maybeSendAppend(id, false);
    if (!this.trk.voters.has(this.id)) this.handOffLeadership();
  }

  /**
   * Our removal was applied. We keep leading (refusing proposals) until the most caught-up
   * voter holds our whole log, then send it timeoutNow and step down. Stepping down earlier
   * could leave the remaining voters unable to learn that the removal committed: they would
   * wait for a vote from us that our longer log refuses them.
   */
  private handOffLeadership(): void {
    let best: NodeId = NO_NODE;
    let bestMatch = -1;
    for (const id of this.trk.voters) {
      const pr = this.trk.progress.get(id);
      if (pr !== undefined && pr.match > bestMatch) {
        best = id;
        bestMatch = pr.match;
      }
    }
    assert(best !== NO_NODE, 'a configuration without voters');
    this.logger.info('leader removed from the configuration; handing off', { term: this.term, successor: best });
    this.leadTransferee = best;
    this.electionElapsed = 0;
    if (bestMatch === this.log.lastIndex()) {
      this.sendTimeoutNow(best);
      this.becomeFollower(this.term, NO_NODE);
    } else {
      this.maybeSendAppend(best, true);
    }
  }

  private promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && this.log.unstable.snapshot === undefined;
  }

  private hasUnappliedConfChanges(): boolean {
    const lo = Math.max(this.log.applied + 1, this.log.firstIndex());
    if (this.log.committed < lo) return false;
    return this.log.slice(lo, this.log.committed + 1).some((e) => e.type === 'confChange');
  }

  // ---- role transitions ----

  private reset(term: number): void {
    if (term !== this.term) {
      assert(term > this.term, () => `term would go back ${this.term} -> ${term}`);
      this.term = term;
      this.vote = NO_NODE;
    }
    this.lead = NO_NODE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeoutTicks = this.electionTicks + this.rand.int(this.electionTicks);
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const last = this.log.lastIndex();
    for (const [id, old] of this.trk.progress) {
      this.trk.progress.set(id, new Progress(id === this.id ? last : 0, last + 1, old.isLearner, this.trk.maxInflightMsgs));
    }
    this.pendingConfIndex = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
  }

  private becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
    this.logger.debug('became follower', { term, lead });
  }

  private becomePreCandidate(): void {
    assert(this.role !== 'leader', 'leader cannot become pre-candidate');
    // Deliberately keeps term and vote: a pre-vote must not disturb anyone.
    this.trk.resetVotes();
    this.lead = NO_NODE;
    this.role = 'preCandidate';
  }

  private becomeCandidate(): void {
    assert(this.role !== 'leader', 'leader cannot become candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  private becomeLeader(): void {
    assert(this.role === 'candidate', () => `becomeLeader from ${this.role}`);
    assert(this.vote === this.id, 'leader must have voted for itself');
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    const self = this.trk.progress.get(this.id);
    assert(self !== undefined, 'leader must be in the configuration');
    self.becomeReplicate();
    self.recentActive = true;
    // Conservatively treat any conf change in the log as pending until it is applied.
    this.pendingConfIndex = this.log.lastIndex();
    this.logger.info('became leader', { term: this.term });
    this.appendEntries([{ term: 0, index: 0, type: 'normal', data: EMPTY }]);
    this.bcastAppend();
  }

  // ---- ticks ----

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeoutTicks) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTicks) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.leaderCheckQuorum();
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.role === 'leader' && this.leadTransferee !== NO_NODE) {
        // A removed leader keeps trying to hand off; anyone else gives the transfer up.
        if (this.trk.voters.has(this.id)) this.abortLeaderTransfer();
        else this.handOffLeadership();
      }
    }
    if (this.role !== 'leader') return;
    if (this.heartbeatElapsed >= this.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  private leaderCheckQuorum(): void {
    if (!this.trk.quorumActive(this.id)) {
      this.logger.warn('stepping down: quorum not active', { term: this.term });
      this.becomeFollower(this.term, NO_NODE);
      return;
    }
    for (const [id, pr] of this.trk.progress) if (id !== this.id) pr.recentActive = false;
  }

  private abortLeaderTransfer(): void {
    this.leadTransferee = NO_NODE;
  }

  // ---- elections ----

  private hup(transfer: boolean): void {
    if (this.role === 'leader') return;
    if (!this.promotable()) {
      this.logger.debug('not promotable; ignoring campaign');
      return;
    }
    // A pending conf change could change who may vote; campaign only once it is applied. A
    // transfer is exempt: the leader chose us from its applied configuration, and with one
    // change at a time the old and new majorities overlap anyway.
    if (!transfer && this.hasUnappliedConfChanges()) {
      this.logger.warn('campaign postponed: unapplied conf change', { term: this.term });
      return;
    }
    if (this.preVote && !transfer) this.campaignAs('preElection');
    else this.campaignAs(transfer ? 'transfer' : 'election');
  }

  private campaignAs(kind: 'preElection' | 'election' | 'transfer'): void {
    let voteType: MessageType;
    let term: number;
    if (kind === 'preElection') {
      this.becomePreCandidate();
      voteType = 'preVote';
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteType = 'vote';
      term = this.term;
    }
    this.trk.recordVote(this.id, true);
    if (this.trk.tallyVotes().result === 'won') {
      if (kind === 'preElection') this.campaignAs('election');
      else this.becomeLeader();
      return;
    }
    for (const id of this.trk.voters) {
      if (id === this.id) continue;
      this.send({
        type: voteType,
        to: id,
        term,
        index: this.log.lastIndex(),
        logTerm: this.log.lastTerm(),
        context: kind === 'transfer' ? CAMPAIGN_TRANSFER : EMPTY,
      });
    }
  }

  private handleVoteRequest(m: Message): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === NO_NODE && this.lead === NO_NODE) ||
      (m.type === 'preVote' && m.term > this.term);
    const respType: MessageType = m.type === 'vote' ? 'voteResp' : 'preVoteResp';
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      // The response carries the candidate's term so that a pre-vote grant is recognised.
      this.send({ type: respType, to: m.from, term: m.term });
      if (m.type === 'vote') {
        assert(this.vote === NO_NODE || this.vote === m.from, 'vote changed within a term');
        assert(m.term === this.term, 'granting a vote for another term');
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, to: m.from, term: this.term, reject: true });
    }
  }

  // ---- step ----

  /** Returns false when a proposal or read request was dropped. */
  private stepInternal(m: Message): boolean {
    if (m.term > this.term) {
      if (!this.stepHigherTerm(m)) return true;
    } else if (m.term < this.term && m.term !== 0) {
      this.stepLowerTerm(m);
      return true;
    }
    if (m.type === 'vote' || m.type === 'preVote') {
      this.handleVoteRequest(m);
      return true;
    }
    switch (this.role) {
      case 'leader':
        return this.stepLeader(m);
      case 'candidate':
      case 'preCandidate':
        return this.stepCandidate(m);
      case 'follower':
        return this.stepFollower(m);
    }
  }

  /** False when the message must be ignored. */
  private stepHigherTerm(m: Message): boolean {
    if (m.type === 'vote' || m.type === 'preVote') {
      const force = bytesEqual(m.context, CAMPAIGN_TRANSFER);
      // Leader lease: having heard from a live leader within the minimum election timeout,
      // a disruptive candidate (e.g. one rejoining after a partition) is ignored.
      const inLease = this.checkQuorum && this.lead !== NO_NODE && this.electionElapsed < this.electionTicks;
      if (!force && inLease) {
        this.logger.debug('ignoring vote request within leader lease', { from: m.from, term: m.term });
        return false;
      }
    }
    if (m.type === 'preVote') return true;
    if (m.type === 'preVoteResp' && !m.reject) return true;
    const lead = m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap' ? m.from : NO_NODE;
    this.becomeFollower(m.term, lead);
    return true;
  }

  private stepLowerTerm(m: Message): void {
    if ((this.checkQuorum || this.preVote) && (m.type === 'heartbeat' || m.type === 'app')) {
      // A stale leader cut off by a partition would never learn the new term otherwise: with
      // check-quorum or pre-vote nobody sends it a higher-term vote request.
      this.send({ type: 'appResp', to: m.from });
    } else if (m.type === 'preVote') {
      this.send({ type: 'preVoteResp', to: m.from, term: this.term, reject: true });
    }
  }

  private stepLeader(m: Message): boolean {
    switch (m.type) {
      case 'prop':
        return this.leaderPropose(m);
      case 'readIndex':
        this.leaderReadIndex(m);
        return true;
      default:
        break;
    }
    const pr = this.trk.progress.get(m.from);
    if (pr === undefined) return true;
    switch (m.type) {
      case 'appResp':
        this.handleAppResp(m, pr);
        break;
      case 'heartbeatResp':
        this.handleHeartbeatResp(m, pr);
        break;
      case 'transferLeader':
        this.handleTransferLeader(m.from, pr);
        break;
      default:
        this.logger.debug('leader ignoring message', { type: m.type, from: m.from });
    }
    return true;
  }

  private stepCandidate(m: Message): boolean {
    const myRespType: MessageType = this.role === 'preCandidate' ? 'preVoteResp' : 'voteResp';
    switch (m.type) {
      case 'prop':
      case 'readIndex':
        return false;
      case 'app':
      case 'heartbeat':
      case 'snap':
        // Someone won this term.
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return true;
      case 'voteResp':
      case 'preVoteResp':
        if (m.type === myRespType) this.pollVote(m);
        return true;
      default:
        return true;
    }
  }

  private pollVote(m: Message): void {
    this.trk.recordVote(m.from, !m.reject);
    const { result } = this.trk.tallyVotes();
    if (result === 'won') {
      assert(this.trk.voters.has(this.id), 'won an election outside the configuration');
      if (this.role === 'preCandidate') this.campaignAs('election');
      else this.becomeLeader();
    } else if (result === 'lost') {
      this.becomeFollower(this.term, NO_NODE);
    }
  }

  private stepFollower(m: Message): boolean {
    switch (m.type) {
      case 'prop':
      case 'readIndex':
      case 'transferLeader':
        if (this.lead === NO_NODE) return false;
        this.msgs.push({ ...m, to: this.lead });
        return true;
      case 'app':
      case 'heartbeat':
      case 'snap':
        this.electionElapsed = 0;
        this.lead = m.from;
        if (m.type === 'app') this.handleAppend(m);
        else if (m.type === 'heartbeat') this.handleHeartbeat(m);
        else this.handleSnapshot(m);
        return true;
      case 'timeoutNow':
        // The leader picked us: campaign at once, bypassing pre-vote and leases.
        this.hup(true);
        return true;
      case 'readIndexResp':
        this.readStates.push({ index: m.index, requestCtx: m.context });
        return true;
      default:
        return true;
    }
  }

  // ---- follower handlers ----

  private handleAppend(m: Message): void {
    assert(this.lead === m.from && this.role === 'follower', 'append from someone other than our leader');
    assert(m.term === this.term, 'append from another term');
    if (m.index < this.log.committed) {
      this.send({ type: 'appResp', to: m.from, index: this.log.committed });
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send({ type: 'appResp', to: m.from, index: lastNew });
      return;
    }
    // Fast backtracking: point the leader at the last index that can possibly match, i.e. the
    // last one whose term is <= the term the leader has at m.index.
    const hintIndex = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    assert(hintIndex <= m.index, 'reject hint beyond the rejected index');
    this.send({
      type: 'appResp',
      to: m.from,
      index: m.index,
      reject: true,
      rejectHint: hintIndex,
      hintTerm: this.log.termOrZero(hintIndex),
    });
  }

  private handleHeartbeat(m: Message): void {
    assert(this.lead === m.from && this.role === 'follower', 'heartbeat from someone other than our leader');
    // The leader sends min(match, commit), so we hold that entry.
    this.log.commitTo(m.commit);
    this.send({ type: 'heartbeatResp', to: m.from, context: m.context });
  }

  private handleSnapshot(m: Message): void {
    const snap = m.snapshot;
    assert(snap !== undefined, 'snap message without a snapshot');
    assert(snap.meta.term <= this.term, 'snapshot from a future term');
    if (this.restore(snap)) {
      this.logger.info('restored snapshot', { index: snap.meta.index, term: snap.meta.term });
      this.send({ type: 'appResp', to: m.from, index: this.log.lastIndex() });
    } else {
      this.send({ type: 'appResp', to: m.from, index: this.log.committed });
    }
  }

  private restore(snap: Snapshot): boolean {
    // Never go back: a snapshot older than what we committed carries nothing new.
    if (snap.meta.index <= this.log.committed) return false;
    assert(this.role === 'follower', 'only a follower restores a snapshot');
    if (this.log.matchTerm(snap.meta.index, snap.meta.term)) {
      // We already hold the entry: just fast-forward the commit.
      this.log.commitTo(snap.meta.index);
      return false;
    }
    this.log.restore(snap);
    this.setConf(snap.meta.confState);
    assert(this.log.lastIndex() === snap.meta.index && this.log.committed === snap.meta.index, 'restore: log not reset to snapshot');
    return true;
  }

  // ---- leader handlers ----

  private leaderPropose(m: Message): boolean {
    assert(m.entries.length > 0, 'empty proposal');
    assert(this.role === 'leader', 'leaderPropose on a non-leader');
    if (!this.trk.voters.has(this.id)) return false;
    if (this.leadTransferee !== NO_NODE) return false;
    const last = this.log.lastIndex();
    const ents = m.entries.map((e, i): Entry => {
      if (e.type !== 'confChange') return e;
      if (this.pendingConfIndex > this.log.applied) {
        // At most one conf change in flight: later ones become no-ops, as in etcd.
        this.logger.info('conf change refused: another is pending', { pending: this.pendingConfIndex, applied: this.log.applied });
        return { term: 0, index: 0, type: 'normal', data: EMPTY };
      }
      this.pendingConfIndex = last + i + 1;
      return e;
    });
    this.appendEntries(ents);
    // Sent when the node loop takes the next Ready: one append per follower carries every
    // proposal of the batch, instead of one message per proposal per follower.
    this.appendBcastPending = true;
    return true;
  }

  private appendEntries(ents: readonly Entry[]): void {
    assert(this.role === 'leader', 'only the leader appends new entries');
    const last = this.log.lastIndex();
    const stamped = ents.map((e, i): Entry => ({ term: this.term, index: last + 1 + i, type: e.type, data: e.data }));
    this.log.append(stamped);
    const self = this.trk.progress.get(this.id);
    assert(self !== undefined, 'leader must have its own progress');
    self.maybeUpdate(this.log.lastIndex());
    this.maybeCommit();
  }

  private maybeCommit(): boolean {
    const before = this.log.committed;
    const committed = this.log.maybeCommit(this.trk.committedIndex(), this.term);
    if (committed && this.log.termOrZero(before) !== this.term) this.releasePendingReadIndex();
    return committed;
  }

  private releasePendingReadIndex(): void {
    const pending = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of pending) this.leaderReadIndex(m);
  }

  private handleAppResp(m: Message, pr: Progress): void {
    assert(this.role === 'leader' && m.term === this.term, 'append response outside our leadership');
    assert(m.index <= this.log.lastIndex() || m.reject, () => `peer acknowledged ${m.index} beyond our last index`);
    pr.recentActive = true;
    if (m.reject) {
      const nextProbe = m.hintTerm > 0 ? this.log.findConflictByTerm(m.rejectHint, m.hintTerm) : m.rejectHint;
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.maybeSendAppend(m.from, true);
      }
      return;
    }
    const oldPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index);
    }
    // The new commit index reaches followers with the next Ready's appends (one per follower for
    // all the acks of a batch); a follower whose window just reopened gets its entries now.
    if (this.maybeCommit()) this.appendBcastPending = true;
    else if (oldPaused) this.maybeSendAppend(m.from, true);
    while (this.maybeSendAppend(m.from, false)) {
      // Fill the in-flight window.
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.sendTimeoutNow(m.from);
      if (!this.trk.voters.has(this.id)) this.becomeFollower(this.term, NO_NODE);
    }
  }

  private handleHeartbeatResp(m: Message, pr: Progress): void {
    assert(this.role === 'leader' && m.term === this.term, 'heartbeat response outside our leadership');
    pr.recentActive = true;
    pr.probeSent = false;
    // Appends lost on the way (crash, partition) would otherwise hold the window shut forever:
    // the follower answering heartbeats means the link works, so let one more append through.
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex()) this.maybeSendAppend(m.from, true);
    if (m.context.length === 0) return;
    const acks = this.readOnly.recvAck(m.from, m.context);
    if (acks === undefined) return;
    let voterAcks = 0;
    for (const id of acks) if (this.trk.voters.has(id)) voterAcks++;
    if (voterAcks < this.trk.quorum()) return;
    for (const req of this.readOnly.advance(m.context)) this.respondRead(req);
  }

  private leaderReadIndex(m: Message): void {
    assert(this.role === 'leader', 'read index served by a non-leader');
    if (this.trk.voters.size === 1 && this.trk.voters.has(this.id)) {
      this.respondRead({ ctx: m.context, index: this.log.committed, from: m.from, acks: new Set() });
      return;
    }
    // Until it commits an entry of its own term, a new leader's commit index may be behind
    // what a previous leader acknowledged (§8): the read waits.
    if (this.log.termOrZero(this.log.committed) !== this.term) {
      this.pendingReadIndexMessages.push(m);
      return;
    }
    this.readOnly.add(this.log.committed, m.context, m.from);
    this.readOnly.recvAck(this.id, m.context);
    this.bcastHeartbeat();
  }

  private respondRead(req: ReadRequest): void {
    if (req.from === this.id || req.from === NO_NODE) {
      this.readStates.push({ index: req.index, requestCtx: req.ctx });
    } else {
      this.send({ type: 'readIndexResp', to: req.from, index: req.index, context: req.ctx });
    }
  }

  private handleTransferLeader(target: NodeId, pr: Progress): void {
    if (pr.isLearner) {
      this.logger.info('leader transfer to a learner ignored', { target });
      return;
    }
    if (this.leadTransferee === target) return;
    if (target === this.id) return;
    this.abortLeaderTransfer();
    // The transfer must finish within one election timeout, counted from now.
    this.electionElapsed = 0;
    this.leadTransferee = target;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(target);
    else this.maybeSendAppend(target, true);
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: 'timeoutNow', to });
  }

  // ---- sending ----

  private send(fields: MessageFields): void {
    assert(fields.to !== this.id, () => `sending ${fields.type} to self`);
    let term = fields.term;
    if (EXPLICIT_TERM_TYPES.has(fields.type)) {
      assert(term !== undefined && term > 0, () => `${fields.type} needs an explicit term`);
    } else {
      assert(term === undefined, () => `${fields.type} must not set a term`);
      term = TERMLESS_TYPES.has(fields.type) ? 0 : this.term;
    }
    this.msgs.push({ ...emptyMessage({ type: fields.type, from: this.id, to: fields.to }), ...fields, term });
  }

  private bcastAppend(): void {
    for (const id of this.trk.progress.keys()) if (id !== this.id) this.maybeSendAppend(id, true);
  }

  /** bcastAppend, then as many more appends per follower as its in-flight window allows. */
  private bcastAppendFillingWindows(): void {
    for (const id of this.trk.progress.keys()) {
      if (id === this.id) continue;
      this.maybeSendAppend(id, true);
      while (this.maybeSendAppend(id, false)) {
        // Fill the in-flight window: a batch larger than one message goes out at once.
      }
    }
  }

  private bcastHeartbeat(): void {
    const ctx = this.readOnly.lastPendingCtx() ?? EMPTY;
    for (const [id, pr] of this.trk.progress) {
      if (id === this.id) continue;
      this.send({ type: 'heartbeat', to: id, commit: Math.min(pr.match, this.log.committed), context: ctx });
    }
  }

  /** Sends entries (or a snapshot) to `to` if flow control allows; true if something was sent. */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    assert(pr !== undefined, () => `no progress for ${to}`);
    if (pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const ents = this.log.entriesFrom(pr.next, this.maxSizePerMsgBytes);
    if (prevTerm === undefined || ents === undefined) return this.sendSnapshot(to, pr);
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send({ type: 'app', to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.log.committed });
    const last = ents[ents.length - 1];
    if (pr.state === 'replicate' && last !== undefined) {
      pr.optimisticUpdate(last.index);
      pr.inflights.add(last.index);
    } else if (pr.state === 'probe') {
      pr.probeSent = true;
    }
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    // A follower that has not answered lately may be down: do not ship it a snapshot blindly.
    if (!pr.recentActive) return false;
    const snap = this.log.snapshot();
    assert(snap.meta.index > 0, 'entries compacted but no snapshot to send');
    assert(snap.meta.index >= this.log.firstIndex() - 1, 'snapshot older than the compacted prefix');
    pr.becomeSnapshot(snap.meta.index);
    this.logger.info('sending snapshot', { to, index: snap.meta.index });
    this.send({ type: 'snap', to, snapshot: snap });
    return true;
  }

  // ---- invariants ----

  private assertInvariants(): void {
    assert(this.term >= this.checkedTerm, () => `term decreased ${this.checkedTerm} -> ${this.term}`);
    if (this.term === this.checkedTerm) {
      assert(this.checkedVote === NO_NODE || this.vote === this.checkedVote, () => `vote changed within term ${this.term}`);
    }
    assert(this.log.committed >= this.checkedCommit, () => `commit decreased ${this.checkedCommit} -> ${this.log.committed}`);
    assert(this.log.committed <= this.log.lastIndex(), 'commit beyond last index');
    assert(this.log.applied <= this.log.committed, 'applied beyond commit');
    assert(this.log.lastTerm() <= this.term, 'log has an entry from a future term');
    assert(this.role !== 'leader' || this.lead === this.id, 'leader does not know itself as leader');
    this.checkedTerm = this.term;
    this.checkedCommit = this.log.committed;
    this.checkedVote = this.vote;
  }
}

/**
 * A follower forwards each client proposal as it arrives; within one Ready, every proposal to
 * the same leader goes as one message carrying all their entries, in order, at the place of the
 * first. The leader then steps one message per batch instead of one per request. (Messages of a
 * Ready leave together, so no receiver can tell the difference.)
 */
function coalesceForwardedProposals(msgs: Message[]): Message[] {
  let props = 0;
  for (const m of msgs) if (m.type === 'prop') props++;
  if (props < 2) return msgs;
  const out: Message[] = [];
  /** Per leader: where its merged proposal goes in `out`, and the entries gathered so far. */
  const merged = new Map<NodeId, { at: number; entries: Entry[] }>();
  for (const m of msgs) {
    if (m.type !== 'prop') {
      out.push(m);
      continue;
    }
    const into = merged.get(m.to);
    if (into === undefined) {
      merged.set(m.to, { at: out.length, entries: [...m.entries] });
      out.push(m);
    } else {
      for (const e of m.entries) into.entries.push(e);
    }
  }
  for (const { at, entries } of merged.values()) out[at] = { ...(out[at] as Message), entries };
  return out;
}

function isEmptyHardState(hs: HardState): boolean {
  return hardStateEqual(hs, EMPTY_HARD_STATE);
}

function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
