export { Wal, DEFAULT_SEGMENT_SIZE_BYTES } from './wal.js';
export type { WalOptions, WalOpenResult } from './wal.js';
export type { WalRepair } from './reader.js';
export { WalError, WalCorruptError, CodecError } from './errors.js';
export {
  encodeEntry,
  decodeEntry,
  encodeHardState,
  decodeHardState,
  encodeConfChange,
  decodeConfChange,
  encodeSnapshot,
  decodeSnapshot,
} from './codec.js';
export type { WalMetadata, WalSnapshotMarker } from './codec.js';
export { SnapStore, snapFileName, encodeSnapFile, decodeSnapFile } from './snap.js';
export type { SnapFile, SnapSkip, SnapLoadResult } from './snap.js';
export { segmentName, parseSegmentName } from './segment.js';
export type { SegmentName } from './segment.js';
export { NodeStorage } from './storage.js';
export type { NodeStorageOptions, NodeStorageBoot, PersistBatch } from './storage.js';
