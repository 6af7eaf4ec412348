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
