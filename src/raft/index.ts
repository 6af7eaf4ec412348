/**
 * Pure Raft, in the manner of etcd's raft package: no IO, no timers, no Promises.
 *
 * How the node loop drives it:
 * - New cluster: `storage.bootstrap({voters, learners: []})` on an empty MemoryStorage with the
 *   founding members (the same list on every member, including members added later), then
 *   `new RaftNode({...})`. Nothing needs persisting for the bootstrap itself.
 * - Restart: refill a MemoryStorage from disk (applySnapshot(newest snapshot) or bootstrap() if
 *   none, append(entries), setHardState(hs)), then `new RaftNode({..., applied})` where
 *   `applied` is the state machine's applied index. Raft replays the confChange entries in
 *   (snapshot, applied] itself, so take the current configuration from `status().config`
 *   after construction (not from the snapshot: it would miss those changes). Committed entries
 *   after `applied` are delivered again; pass confChange entries among them to applyConfChange.
 * - Inputs: tick() every tick; step(msg) for each peer message; propose/proposeConfChange/
 *   readIndex (throw ProposalDropped when refused); transferLeader; campaign.
 * - Output: while hasReady(): rd = ready(); persist rd.snapshot (storage.applySnapshot),
 *   rd.entries (storage.append) and rd.hardState (storage.setHardState), fsync if mustSync;
 *   send rd.messages; apply rd.snapshot then rd.committedEntries (calling applyConfChange for
 *   each confChange entry, data decoded with decodeConfChange); then advance().
 * - Transport feedback: reportUnreachable(peer) on send failure, reportSnapshot(peer, ok) when
 *   a `snap` message was delivered or failed.
 * - Log compaction: storage.createSnapshot(appliedIndex, confState, data) then
 *   storage.compact(index) (keep some entries for slow followers). confState must be the
 *   configuration as of appliedIndex (the last applyConfChange result, or status().config).
 * - ReadIndex contexts must be unique across the cluster (the leader matches acks by ctx).
 * - Membership: one change at a time; a second one proposed before the first is applied is
 *   committed as an empty entry. Removing the last voter is ignored. A removed leader keeps
 *   leading (refusing proposals) until it has caught up a successor and sent it timeoutNow.
 *   Liveness with removed members that never learn of their removal needs preVote or
 *   checkQuorum (use both).
 */
export type {
  Entry,
  EntryType,
  HardState,
  ConfState,
  SnapshotMeta,
  Snapshot,
  ConfChange,
  ConfChangeType,
  MessageType,
  Message,
  ReadState,
  RaftRole,
  SoftState,
  Ready,
} from './types.js';
export type { StorageErrorCode } from './storage.js';
export {
  MemoryStorage,
  StorageError,
  isStorageError,
  EMPTY_HARD_STATE,
  EMPTY_CONF_STATE,
  entrySizeBytes,
} from './storage.js';
export type { RaftConfig, RaftStatus, ProgressStatus } from './raft.js';
export { RaftNode, ProposalDropped, CAMPAIGN_TRANSFER, emptyMessage } from './raft.js';
export type { ProgressState } from './progress.js';
export { encodeConfChange, decodeConfChange } from './confchange.js';
