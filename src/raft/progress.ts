import { assert } from '../util/index.js';
import type { NodeId } from '../util/index.js';
import type { ConfState } from './types.js';

/**
 * probe: the leader does not know where the follower's log matches; one append at a time.
 * replicate: matched; appends are pipelined up to maxInflightMsgs.
 * snapshot: a snapshot is on its way; nothing else is sent until it is reported.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** Last indexes of append messages sent but not yet acknowledged, oldest first. */
export class Inflights {
  private readonly lastIndexes: number[] = [];
  constructor(readonly capacity: number) {
    assert(capacity > 0, 'inflights capacity must be positive');
  }
  get count(): number {
    return this.lastIndexes.length;
  }
  full(): boolean {
    return this.lastIndexes.length >= this.capacity;
  }
  add(lastIndex: number): void {
    assert(!this.full(), 'inflights: add while full');
    const prev = this.lastIndexes[this.lastIndexes.length - 1];
    assert(prev === undefined || lastIndex > prev, () => `inflights: ${lastIndex} not after ${String(prev)}`);
    this.lastIndexes.push(lastIndex);
  }
  /** Frees every message whose last index is <= index (acknowledged). */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.lastIndexes.length && (this.lastIndexes[n] as number) <= index) n++;
    this.lastIndexes.splice(0, n);
  }
  /** Frees the oldest message: a heartbeat answer proves the link works though appends were lost. */
  freeFirstOne(): void {
    assert(this.lastIndexes.length > 0, 'inflights: freeing from an empty window');
    this.lastIndexes.shift();
  }
  reset(): void {
    this.lastIndexes.length = 0;
  }
}

/** The leader's view of one peer's log. */
export class Progress {
  state: ProgressState = 'probe';
  /** In probe state: an append is outstanding, wait for its response (or a heartbeat response). */
  probeSent = false;
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  readonly inflights: Inflights;

  constructor(
    public match: number,
    public next: number,
    public isLearner: boolean,
    maxInflightMsgs: number,
  ) {
    assert(next > match, 'progress: next must exceed match');
    this.inflights = new Inflights(maxInflightMsgs);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** An acknowledgement up to n; false if it is stale. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    assert(this.next > this.match, 'progress: next <= match after update');
    return updated;
  }

  /** Pipelining: assume the append up to n will succeed. */
  optimisticUpdate(n: number): void {
    assert(n >= this.match, 'optimistic update below match');
    this.next = n + 1;
  }

  /**
   * A rejection of the append at `rejected`; matchHint is the highest index that may match.
   * False when the rejection is stale (we already moved on).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    assert(this.next >= 1, 'progress: next below 1');
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}

/** Voters, learners and the leader's progress for each; votes during an election. */
export class ProgressTracker {
  readonly voters = new Set<NodeId>();
  readonly learners = new Set<NodeId>();
  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();

  constructor(readonly maxInflightMsgs: number) {}

  confState(): ConfState {
    return { voters: [...this.voters].sort(), learners: [...this.learners].sort() };
  }

  isVoter(id: NodeId): boolean {
    return this.voters.has(id);
  }

  quorum(): number {
    return Math.floor(this.voters.size / 2) + 1;
  }

  /** The largest index replicated on a quorum of voters. */
  committedIndex(): number {
    if (this.voters.size === 0) return 0;
    const matches: number[] = [];
    for (const id of this.voters) matches.push(this.progress.get(id)?.match ?? 0);
    matches.sort((a, b) => b - a);
    const idx = matches[this.quorum() - 1];
    assert(idx !== undefined, 'committedIndex: quorum larger than voters');
    return idx;
  }

  /** A quorum of voters (self included by the caller) was recently active. */
  quorumActive(self: NodeId): boolean {
    let active = 0;
    for (const id of this.voters) {
      if (id === self || this.progress.get(id)?.recentActive === true) active++;
    }
    return active >= this.quorum();
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Only voters count; a learner's answer (it should never give one) is ignored. */
  tallyVotes(): { granted: number; rejected: number; result: 'won' | 'lost' | 'pending' } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    const q = this.quorum();
    const result = granted >= q ? 'won' : rejected > this.voters.size - q ? 'lost' : 'pending';
    return { granted, rejected, result };
  }
}
