import { NO_NODE, crc32c } from '../src/util/index.js';
import type { NodeId } from '../src/util/index.js';
import type { ConfState, Entry, MemoryStorage, Message, RaftStatus } from '../src/raft/index.js';
import type { NodeObservation } from '../src/server/index.js';

/**
 * Cross-node safety invariants of Raft, checked by the simulator after every event (and at
 * every apply). A violation is a correctness failure of the run (exit 129).
 *
 * - Election safety: at most one leader per term, over the whole run.
 * - Committed entries never change: once any member reports index i committed, every member's
 *   log holds the same entry at i whenever its commit index covers i, across crashes too.
 * - Leader completeness: a leader of term T holds every entry committed in a term below T.
 * - Log matching: two logs with the same term at an index hold the same entry there.
 * - State machine safety: every member applies one common sequence (same digest per index).
 * - Membership: a member that is a learner in its own configuration never leads nor campaigns;
 *   a leader's commit index, whenever it advances within one configuration, is covered by a
 *   quorum of voters' match indexes (learners never count); a leader never has two
 *   configuration changes of its own term unapplied in its log (changes never overlap).
 * - Read point (checked by SimCluster as reads complete, with commitFloor()): a ReadIndex read
 *   is served at an applied index covering every index committed before the read arrived.
 * - State agreement: members that applied the same index have the same state hash there (sampled
 *   indexes, every lease revoke, every snapshot restore), so a lease expiry deletes the same keys
 *   at the same revision everywhere and a member restored from a snapshot matches the others.
 */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

export interface NodeView {
  readonly id: NodeId;
  readonly observation: NodeObservation;
  readonly storage: MemoryStorage;
  /** Raft's status (built on demand: it copies the leader's progress). */
  readonly status?: () => RaftStatus;
}

interface CommittedEntry {
  readonly term: number;
  readonly digest: number;
  /** Term of the member that first reported the entry committed: an upper bound of the commit's term. */
  readonly commitTerm: number;
}

export function entryDigest(entry: Entry): number {
  return crc32c(entry.data, entry.type === 'confChange' ? 1 : 0);
}

export class ClusterInvariants {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly committed = new Map<number, CommittedEntry>();
  private readonly checkedCommit = new Map<NodeId, number>();
  private readonly appliedDigests = new Map<number, { term: number; digest: number; node: NodeId }>();
  private readonly completenessChecked = new Set<string>();
  private readonly stateHashes = new Map<number, { hash: number; node: NodeId }>();
  private readonly leaderCommit = new Map<NodeId, { term: number; commit: number; config: string }>();
  private maxCommit: { index: number; node: NodeId } = { index: 0, node: NO_NODE };
  private readonly voteGrants = new Map<string, Set<NodeId>>();
  private pendingViolation: string | undefined;
  checks = 0;
  stateHashesCompared = 0;
  readsChecked = 0;

  /**
   * Read point: a linearizable read that arrived at `node` when `floor` was the highest index
   * reported committed was answered at `appliedIndex` (the state the caller reads). It must cover
   * the floor, or the read may miss a write acknowledged before it was invoked.
   */
  verifyReadPoint(node: NodeId, floor: { readonly index: number; readonly node: NodeId }, appliedIndex: number, arrivedAtMs: number, answeredAtMs: number): void {
    this.readsChecked++;
    if (appliedIndex >= floor.index) return;
    throw new InvariantViolation(
      `stale read: ${node} answered a linearizable read (arrived ${arrivedAtMs}ms, answered ${answeredAtMs}ms) at applied index ${appliedIndex}, but ${floor.node} had reported index ${floor.index} committed before it arrived`,
    );
  }

  /** The highest commit index any member has reported so far, and who reported it. */
  commitFloor(): { readonly index: number; readonly node: NodeId } {
    return this.maxCommit;
  }

  /** A member's state hash after applying `index`: equal on every member at that index. */
  onStateHash(node: NodeId, index: number, hash: number): void {
    const seen = this.stateHashes.get(index);
    if (seen === undefined) {
      this.stateHashes.set(index, { hash, node });
      return;
    }
    this.stateHashesCompared++;
    if (seen.hash !== hash) {
      throw new InvariantViolation(`state agreement: ${node} has state hash ${hash} after index ${index}, but ${seen.node} had ${seen.hash}`);
    }
  }

  /** A member applied `index`: it must be the entry every other member applied there. */
  onApply(node: NodeId, index: number, term: number, digest: number): void {
    const seen = this.appliedDigests.get(index);
    if (seen === undefined) {
      this.appliedDigests.set(index, { term, digest, node });
      return;
    }
    if (seen.term !== term || seen.digest !== digest) {
      throw new InvariantViolation(
        `state machine safety: ${node} applied index ${index} term ${term} digest ${digest}, but ${seen.node} applied term ${seen.term} digest ${seen.digest}`,
      );
    }
  }

  /** A member restarted: its whole committed prefix is checked again. */
  onRestart(node: NodeId): void {
    this.checkedCommit.set(node, 0);
  }

  /**
   * Votes seen on the wire. Learners never vote: a candidate asks only the voters of its own
   * configuration (a vote request to one of its learners is a violation), and a leader of term T
   * must hold granting votes from a majority of its voters (itself included); grants are counted
   * as sent, a superset of those received, so a leader below that bar counted someone else.
   */
  onSend(from: NodeId, message: Message, senderConf: ConfState | undefined): void {
    if ((message.type === 'vote' || message.type === 'preVote') && senderConf?.learners.includes(message.to) === true) {
      this.pendingViolation ??= `${from} asked learner ${message.to} for a ${message.type} in term ${message.term}`;
    }
    if (message.type === 'voteResp' && !message.reject) {
      const key = `${message.term}/${message.to}`;
      const grantors = this.voteGrants.get(key) ?? new Set<NodeId>();
      grantors.add(from);
      this.voteGrants.set(key, grantors);
    }
  }

  private checkVoteQuorum({ id, observation }: NodeView): void {
    if (!observation.isLeader || this.leaderOfTerm.has(observation.term)) return;
    const voters = observation.confState.voters;
    if (voters.length <= 1) return;
    const grantors = this.voteGrants.get(`${observation.term}/${id}`) ?? new Set<NodeId>();
    const votes = voters.filter((v) => v === id || grantors.has(v)).length;
    if (votes < Math.floor(voters.length / 2) + 1) {
      throw new InvariantViolation(`${id} leads term ${observation.term} with grants from ${votes} of voters ${voters.join(',')} (granted by ${[...grantors].join(',') || 'none'})`);
    }
  }

  afterEvent(views: readonly NodeView[]): void {
    this.checks++;
    if (this.pendingViolation !== undefined) throw new InvariantViolation(this.pendingViolation);
    for (const view of views) this.checkVoteQuorum(view);
    for (const view of views) {
      this.checkElectionSafety(view);
      this.checkCommitted(view);
      this.checkLeaderCompleteness(view);
      this.checkMembership(view);
    }
  }

  private checkMembership({ id, observation, storage, status }: NodeView): void {
    const { confState } = observation;
    if (confState.learners.includes(id) && observation.isLeader) throw new InvariantViolation(`learner ${id} leads term ${observation.term}`);
    if (!observation.isLeader || status === undefined) {
      this.leaderCommit.delete(id);
      return;
    }
    const config = `${confState.voters.join(',')}/${confState.learners.join(',')}`;
    const before = this.leaderCommit.get(id);
    this.leaderCommit.set(id, { term: observation.term, commit: observation.commitIndex, config });
    if (before === undefined || before.term !== observation.term || before.config !== config || observation.commitIndex <= before.commit) return;
    const st = status();
    const matches = confState.voters.map((v) => (v === id ? st.lastIndex : (st.progress.get(v)?.match ?? 0))).sort((a, b) => b - a);
    const quorumMatch = matches[Math.floor(confState.voters.length / 2)] ?? 0;
    if (observation.commitIndex > quorumMatch) {
      throw new InvariantViolation(`${id} (leader of term ${observation.term}) committed ${observation.commitIndex} but voters ${confState.voters.join(',')} only match up to ${quorumMatch}`);
    }
    let pending = 0;
    for (let index = Math.max(observation.appliedIndex + 1, storage.firstIndex()); index <= storage.lastIndex(); index++) {
      const entry = entryAt(storage, index);
      if (entry?.type === 'confChange' && entry.term === observation.term) pending++;
    }
    if (pending > 1) throw new InvariantViolation(`${id} (leader of term ${observation.term}) has ${pending} configuration changes of its term unapplied`);
  }

  private checkElectionSafety({ id, observation }: NodeView): void {
    if (!observation.isLeader) return;
    const other = this.leaderOfTerm.get(observation.term);
    if (other === undefined) this.leaderOfTerm.set(observation.term, id);
    else if (other !== id) {
      throw new InvariantViolation(`election safety: ${other} and ${id} are both leaders of term ${observation.term}`);
    }
  }

  private checkCommitted({ id, observation, storage }: NodeView): void {
    const from = Math.max(this.checkedCommit.get(id) ?? 0, storage.firstIndex() - 1);
    for (let index = from + 1; index <= observation.commitIndex; index++) {
      const entry = entryAt(storage, index);
      if (entry === undefined) {
        throw new InvariantViolation(`committed entry lost: ${id} has commit ${observation.commitIndex} but no entry at ${index}`);
      }
      const digest = entryDigest(entry);
      const known = this.committed.get(index);
      if (known === undefined) {
        this.committed.set(index, { term: entry.term, digest, commitTerm: observation.term });
      } else if (known.term !== entry.term || known.digest !== digest) {
        throw new InvariantViolation(
          `committed entry changed: index ${index} was term ${known.term} digest ${known.digest}, ${id} now has term ${entry.term} digest ${digest}`,
        );
      }
    }
    this.checkedCommit.set(id, Math.max(from, observation.commitIndex));
    if (observation.commitIndex > this.maxCommit.index) this.maxCommit = { index: observation.commitIndex, node: id };
  }

  private checkLeaderCompleteness({ id, observation, storage }: NodeView): void {
    if (!observation.isLeader) return;
    const key = `${id}/${observation.term}`;
    if (this.completenessChecked.has(key)) return;
    this.completenessChecked.add(key);
    const first = storage.firstIndex();
    for (const [index, known] of this.committed) {
      if (index < first || known.commitTerm >= observation.term) continue;
      const entry = entryAt(storage, index);
      if (entry === undefined || entry.term !== known.term || entryDigest(entry) !== known.digest) {
        throw new InvariantViolation(
          `leader completeness: ${id}, leader of term ${observation.term}, lacks entry ${index} (term ${known.term}) committed by term ${known.commitTerm}`,
        );
      }
    }
  }

  /** Log matching over every pair of logs; O(total log length), so run it every so often. */
  checkLogMatching(views: readonly NodeView[]): void {
    const seen = new Map<string, { digest: number; node: NodeId }>();
    for (const { id, storage } of views) {
      const last = storage.lastIndex();
      for (let index = storage.firstIndex(); index <= last; index++) {
        const entry = entryAt(storage, index);
        if (entry === undefined) continue;
        const key = `${index}/${entry.term}`;
        const digest = entryDigest(entry);
        const other = seen.get(key);
        if (other === undefined) seen.set(key, { digest, node: id });
        else if (other.digest !== digest) {
          throw new InvariantViolation(`log matching: ${other.node} and ${id} hold different entries at index ${index} term ${entry.term}`);
        }
      }
    }
  }

  committedCount(): number {
    return this.committed.size;
  }

  leaderTerms(): number {
    return this.leaderOfTerm.size;
  }
}

function entryAt(storage: MemoryStorage, index: number): Entry | undefined {
  if (index < storage.firstIndex() || index > storage.lastIndex()) return undefined;
  return storage.entries(index, index + 1)[0];
}
