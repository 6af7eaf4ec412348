/**
 * Write-ahead log and snapshot files over the Disk seam, in the manner of etcd's wal and snap
 * packages.
 *
 * On disk (member/wal, member/snap):
 * - `<seq:016x>-<firstIndex:016x>.wal` segments, append-only, cut once a save leaves one at
 *   segmentSizeBytes (64 MiB default). Each starts with crc, metadata, snapshot-marker and
 *   hard-state records, written to a temp file, synced and renamed, so a segment with its final
 *   name always has a whole header.
 * - Records: u32 length | u8 type | u8 pad | u16 0 | u32 CRC-32C | payload, 8-byte aligned;
 *   the CRC is per record, seeded with the segment seq and record offset (record.ts).
 * - `<term:016x>-<index:016x>.snap`: "TSNP" | u32 CRC-32C | encodeSnapshot(snapshot).
 *
 * Order of calls (NodeStorage does all of this):
 * - boot: Wal.exists? else Wal.create; markers = Wal.snapshotMarkers; SnapStore.loadNewest
 *   accepting only snapshots with a marker; Wal.open(from that snapshot or {0, 0}).
 * - each Ready: Ready.snapshot -> SnapStore.save, then saveSnapshotMarker(meta, {replacesLog});
 *   then save(hardState, entries, mustSync); only then send messages.
 * - local snapshot: SnapStore.save, saveSnapshotMarker(meta), purge, releaseTo(oldest kept).
 * - any DiskError poisons the Wal (fsyncgate): stop, and reopen after restart.
 */
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
