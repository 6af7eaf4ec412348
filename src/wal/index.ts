export { Wal, DEFAULT_SEGMENT_SIZE_BYTES } from './wal.js';
export type { WalOptions, WalOpenResult } from './wal.js';
export type { WalRepair } from './reader.js';
export { WalError, WalCorruptError, CodecError } from './errors.js';
export {
  encodeEntry,
  decodeEntry,
  encodeHardState,
  decodeHardState,
  encodeSnapshot,
  decodeSnapshot,
} from './codec.js';
export type { WalMetadata, WalSnapshotMarker } from './codec.js';
// One byte format for conf changes: Raft encodes them itself (it sits below the WAL), and the
// WAL stores entry data opaquely, so the WAL's public codec is Raft's.
export { encodeConfChange, decodeConfChange } from '../raft/index.js';
export { SnapStore, snapFileName, encodeSnapFile, decodeSnapFile } from './snap.js';
export type { SnapFile, SnapSkip, SnapLoadResult } from './snap.js';
export { segmentName, parseSegmentName } from './segment.js';
export type { SegmentName } from './segment.js';
export { NodeStorage } from './storage.js';
export type { NodeStorageOptions, NodeStorageBoot, PersistBatch } from './storage.js';
