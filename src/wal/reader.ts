import { assert, NO_NODE } from '../util/index.js';
import type { Disk } from '../env/index.js';
import type { Entry, HardState } from '../raft/types.js';
import {
  decodeEntry,
  decodeHardState,
  decodeMarker,
  decodeMetadata,
  type StoredMarker,
  type WalMetadata,
  type WalSnapshotMarker,
} from './codec.js';
import { CodecError, WalCorruptError, WalError } from './errors.js';
import { findValidFrameAfter, parseFrame, readCrcPayload, RecordType, rollCrc } from './record.js';
import {
  contiguousTail,
  parseSegmentName,
  searchIndex,
  TMP_SUFFIX,
  type SegmentName,
} from './segment.js';

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: NO_NODE, commit: 0 };

/** A torn or corrupt tail of the last segment, cut off on open. */
export interface WalRepair {
  readonly file: string;
  readonly offset: number;
  readonly droppedBytes: number;
  readonly reason: string;
}

/** Everything one pass over the segments learns; the Wal resumes writing from it. */
export interface WalScan {
  readonly run: readonly SegmentName[];
  readonly stale: readonly SegmentName[];
  readonly tmpFiles: readonly string[];
  readonly metadata: WalMetadata;
  readonly hardState: HardState;
  /** Entries after the snapshot index, later writes of an index replacing earlier ones. */
  readonly entries: Entry[];
  readonly markers: StoredMarker[];
  readonly rollingCrc: number;
  /** Byte length of the last segment's valid prefix. */
  readonly lastSegmentValidBytes: number;
  readonly repair?: WalRepair;
}

export function listSegments(
  disk: Disk,
  dir: string,
): { segments: SegmentName[]; tmpFiles: string[] } {
  const segments: SegmentName[] = [];
  const tmpFiles: string[] = [];
  for (const name of disk.list(dir)) {
    if (name.endsWith(TMP_SUFFIX)) tmpFiles.push(name);
    const parsed = parseSegmentName(name);
    if (parsed) segments.push(parsed);
  }
  return { segments, tmpFiles };
}

/** Mutable state of one scan, kept together so the per-record handler stays small. */
class ScanState {
  metadata: WalMetadata | undefined;
  hardState: HardState = EMPTY_HARD_STATE;
  readonly entries: Entry[] = [];
  readonly markers: StoredMarker[] = [];
  lastIndex: number;
  rollingCrc: number | undefined;
  foundSnapshot: boolean;

  /** Entries held are those after this index. */
  baseIndex: number;

  constructor(
    readonly snapshot: WalSnapshotMarker,
    readonly anySnapshot: boolean,
  ) {
    this.baseIndex = snapshot.index;
    this.lastIndex = snapshot.index;
    this.foundSnapshot = snapshot.index === 0 || anySnapshot;
  }
}

/**
 * Reads the segments needed to restore from `snapshot`. The last segment's bad tail is
 * reported, not cut (the caller decides); anything else that fails a check throws.
 */
export function scanWal(
  disk: Disk,
  dir: string,
  from: WalSnapshotMarker | 'oldest',
): WalScan {
  const { segments, tmpFiles } = listSegments(disk, dir);
  if (segments.length === 0) throw new WalError(`no WAL segments in ${dir}`);
  const { run, stale } = contiguousTail(segments);
  // 'oldest' reads every kept segment and trusts whatever snapshot the first one starts after.
  const snapshot = from === 'oldest' ? { index: Math.max(0, (run[0] as SegmentName).firstIndex - 1), term: 0 } : from;
  const start = from === 'oldest' ? 0 : searchIndex(run, snapshot.index);
  if (start === undefined) {
    throw new WalError(
      `no WAL segment in ${dir} covers snapshot index ${snapshot.index} (oldest kept: ${run[0]?.name})`,
    );
  }
  const state = new ScanState(snapshot, from === 'oldest');
  let validBytes = 0;
  let repair: WalRepair | undefined;
  for (let i = start; i < run.length; i++) {
    const segment = run[i] as SegmentName;
    const result = scanSegment(disk, dir, segment, i === run.length - 1, state);
    validBytes = result.validBytes;
    repair = result.repair;
  }
  return finishScan(dir, state, { run, stale, tmpFiles, validBytes, repair });
}

function finishScan(
  dir: string,
  state: ScanState,
  files: {
    run: SegmentName[];
    stale: SegmentName[];
    tmpFiles: string[];
    validBytes: number;
    repair: WalRepair | undefined;
  },
): WalScan {
  const { snapshot } = state;
  if (!state.foundSnapshot) {
    throw new WalError(
      `snapshot marker index ${snapshot.index} term ${snapshot.term} not found in the WAL at ${dir}`,
    );
  }
  assert(state.metadata !== undefined && state.rollingCrc !== undefined, 'scan saw no segment header');
  if (state.hardState.commit > state.lastIndex) {
    throw new WalError(
      `WAL hardState commit ${state.hardState.commit} is beyond its last entry ${state.lastIndex}: entries are missing`,
    );
  }
  return {
    run: files.run,
    stale: files.stale,
    tmpFiles: files.tmpFiles,
    metadata: state.metadata,
    hardState: state.hardState,
    entries: state.entries,
    markers: state.markers,
    rollingCrc: state.rollingCrc,
    lastSegmentValidBytes: files.validBytes,
    ...(files.repair ? { repair: files.repair } : {}),
  };
}

function scanSegment(
  disk: Disk,
  dir: string,
  segment: SegmentName,
  isLast: boolean,
  state: ScanState,
): { validBytes: number; repair?: WalRepair } {
  const file = `${dir}/${segment.name}`;
  const buf = disk.read(file);
  let offset = 0;
  let recordNo = 0;
  while (offset < buf.length) {
    const frame = parseFrame(buf, segment.seq, offset);
    if (!frame.ok) {
      return { validBytes: offset, repair: badTail(buf, segment, file, offset, recordNo, isLast, frame.reason) };
    }
    try {
      applyRecord(state, frame.type, frame.payload, recordNo, segment);
    } catch (error) {
      if (error instanceof CodecError) throw new WalCorruptError(file, offset, error.message);
      if (error instanceof RecordError) throw new WalCorruptError(file, offset, error.message);
      throw error;
    }
    state.rollingCrc = rollCrc(state.rollingCrc as number, frame.crc);
    offset = frame.nextOffset;
    recordNo++;
  }
  if (recordNo < 2) throw new WalCorruptError(file, offset, 'segment has no header records');
  return { validBytes: offset };
}

/** Decides whether a bad record is a repairable torn tail; throws if it is not. */
function badTail(
  buf: Uint8Array,
  segment: SegmentName,
  file: string,
  offset: number,
  recordNo: number,
  isLast: boolean,
  reason: string,
): WalRepair {
  if (!isLast) throw new WalCorruptError(file, offset, `${reason} in a segment that is not the last`);
  if (recordNo < 2) {
    // Segments are created whole (temp file, sync, rename): a bad header is not a torn append.
    throw new WalCorruptError(file, offset, `${reason} in the segment header`);
  }
  const validAt = findValidFrameAfter(buf, segment.seq, offset);
  if (validAt !== undefined) {
    throw new WalCorruptError(file, offset, `${reason}, followed by a valid record at byte ${validAt}`);
  }
  return { file, offset, droppedBytes: buf.length - offset, reason };
}

class RecordError extends Error {}

function applyRecord(
  state: ScanState,
  type: RecordType,
  payload: Uint8Array,
  recordNo: number,
  segment: SegmentName,
): void {
  if (recordNo === 0) {
    if (type !== RecordType.crc) throw new RecordError(`segment starts with record type ${type}, not crc`);
    applyCrcRecord(state, payload, segment);
    return;
  }
  if (recordNo === 1 && type !== RecordType.metadata) {
    throw new RecordError(`second record has type ${type}, not metadata`);
  }
  switch (type) {
    case RecordType.crc:
      throw new RecordError('crc record inside a segment');
    case RecordType.metadata:
      applyMetadata(state, decodeMetadata(payload));
      return;
    case RecordType.entry:
      applyEntry(state, decodeEntry(payload));
      return;
    case RecordType.hardState:
      state.hardState = decodeHardState(payload);
      return;
    case RecordType.snapshot:
      applyMarker(state, decodeMarker(payload));
      return;
  }
}

function applyCrcRecord(state: ScanState, payload: Uint8Array, segment: SegmentName): void {
  const carried = readCrcPayload(payload);
  if (carried === undefined) throw new RecordError('bad crc record payload');
  if (state.rollingCrc === undefined) {
    // The first segment read: earlier ones may be released, so its value is taken on trust.
    state.rollingCrc = carried;
  } else if (state.rollingCrc !== carried) {
    throw new RecordError(
      `crc chain broken at ${segment.name}: carries ${carried}, previous segments end at ${state.rollingCrc}`,
    );
  }
}

function applyMetadata(state: ScanState, metadata: WalMetadata): void {
  const known = state.metadata;
  if (known && (known.nodeId !== metadata.nodeId || known.clusterId !== metadata.clusterId)) {
    throw new RecordError(
      `metadata mismatch: ${metadata.nodeId}/${metadata.clusterId} vs ${known.nodeId}/${known.clusterId}`,
    );
  }
  state.metadata = metadata;
}

function applyEntry(state: ScanState, entry: Entry): void {
  if (entry.index <= state.baseIndex) {
    // Covered by the snapshot, but rewriting it still dropped every entry after it.
    state.entries.length = 0;
    state.lastIndex = state.baseIndex;
    return;
  }
  if (entry.index > state.lastIndex + 1) {
    throw new RecordError(`entry index ${entry.index} leaves a gap after ${state.lastIndex}`);
  }
  // A later write of an index replaces it and everything after it (a conflicting suffix).
  state.entries.length = entry.index - state.baseIndex - 1;
  state.entries.push(entry);
  state.lastIndex = entry.index;
}

function applyMarker(state: ScanState, marker: StoredMarker): void {
  state.markers.push(marker);
  if (marker.replacesLog || marker.index > state.lastIndex) {
    // An installed snapshot replaced the whole log: entries before this record are gone.
    if (!state.anySnapshot && marker.index > state.snapshot.index) {
      throw new WalError(
        `WAL holds snapshot ${marker.index} (term ${marker.term}) that replaced the log ` +
          `(last entry then ${state.lastIndex}); open from that snapshot, not ${state.snapshot.index}`,
      );
    }
    state.baseIndex = Math.max(state.baseIndex, marker.index);
    state.entries.length = 0;
    state.lastIndex = state.baseIndex;
  }
  if (state.anySnapshot || marker.index !== state.snapshot.index) return;
  if (marker.term !== state.snapshot.term) {
    throw new WalError(
      `snapshot marker index ${marker.index} has term ${marker.term}, expected ${state.snapshot.term}`,
    );
  }
  state.foundSnapshot = true;
}
