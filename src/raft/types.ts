import type { NodeId } from '../util/ids.js';

/**
 * Raft's data types, shaped after etcd's raftpb. The WAL persists Entry, HardState and
 * SnapshotMeta; the server moves Message over the transport. Terms and indexes are plain
 * numbers (safe to 2^53).
 */

export type EntryType = 'normal' | 'confChange';

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** Opaque to Raft. Empty for the no-op a new leader appends. For confChange: encodeConfChange(). */
  readonly data: Uint8Array;
}

export interface HardState {
  readonly term: number;
  /** NO_NODE when this node has not voted in `term`. */
  readonly vote: NodeId;
  readonly commit: number;
}

export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  /** The state machine's serialized state at meta.index; opaque to Raft. */
  readonly data: Uint8Array;
}

export type ConfChangeType = 'addNode' | 'addLearner' | 'removeNode' | 'promoteLearner';

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
  /** Opaque to Raft: the member's attributes (peer URLs, name) for the server. */
  readonly context: Uint8Array;
}

export type MessageType =
  | 'hup' // local: start an election
  | 'beat' // local: leader sends heartbeats
  | 'prop' // proposal (forwarded from a follower to the leader)
  | 'app'
  | 'appResp'
  | 'vote'
  | 'voteResp'
  | 'preVote'
  | 'preVoteResp'
  | 'snap'
  | 'heartbeat'
  | 'heartbeatResp'
  | 'unreachable' // local: transport reports the peer unreachable
  | 'snapStatus' // local: transport reports a snapshot send finished or failed
  | 'checkQuorum' // local
  | 'transferLeader'
  | 'timeoutNow'
  | 'readIndex'
  | 'readIndexResp';

export interface Message {
  readonly type: MessageType;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  /** app: term of the entry at `index`; vote: last log term of the candidate. */
  readonly logTerm: number;
  /** app: index preceding `entries`; appResp: last index matched (or rejected index). */
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly reject: boolean;
  /** appResp rejection: the follower's hint for fast backtracking. */
  readonly rejectHint: number;
  /** rejectHint's term, for term-based backtracking. */
  readonly hintTerm: number;
  readonly snapshot?: Snapshot;
  /** readIndex / heartbeat context (the read request id), or a campaign-transfer marker. */
  readonly context: Uint8Array;
}

/** A completed ReadIndex request: safe to serve `requestCtx` once applied >= index. */
export interface ReadState {
  readonly index: number;
  readonly requestCtx: Uint8Array;
}

export type RaftRole = 'follower' | 'preCandidate' | 'candidate' | 'leader';

export interface SoftState {
  readonly leader: NodeId;
  readonly role: RaftRole;
}

/**
 * One batch of work the node loop must do, in this order:
 * 1. persist `snapshot` (if any), `entries` and `hardState` (fsync when `mustSync`);
 * 2. send `messages`;
 * 3. apply `snapshot` then `committedEntries` to the state machine;
 * 4. call advance().
 * Everything in it is read-only for the caller.
 */
export interface Ready {
  readonly softState?: SoftState;
  readonly hardState?: HardState;
  readonly readStates: readonly ReadState[];
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly mustSync: boolean;
}
