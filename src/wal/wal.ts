import { assert, NO_NODE } from '../util/index.js';
import { DiskError } from '../env/index.js';
import type { Disk } from '../env/index.js';
import type { Entry, HardState } from '../raft/types.js';
import {
  encodeEntry,
  encodeHardState,
  encodeMarker,
  encodeMetadata,
  type WalMetadata,
  type WalSnapshotMarker,
} from './codec.js';
import { WalError } from './errors.js';
import { EMPTY_HARD_STATE, listSegments, scanWal, type WalRepair } from './reader.js';
import { crcPayload, FrameWriter, RecordType, rollCrc } from './record.js';
import { segmentName, TMP_SUFFIX, type SegmentName } from './segment.js';

export const DEFAULT_SEGMENT_SIZE_BYTES = 64 * 1024 * 1024;
/** Header, type, two varints and padding of one entry record: sizes a save's buffer up front. */
const ENTRY_FRAME_OVERHEAD_BYTES = 40;

export interface WalOptions {
  /** A segment is cut once a save leaves it at least this large. */
  readonly segmentSizeBytes?: number;
}

export interface WalOpenResult {
  readonly wal: Wal;
  readonly metadata: WalMetadata;
  /** The last saved hard state; term 0 when none was ever saved. */
  readonly hardState: HardState;
  /** Entries after the snapshot, with conflicting suffixes already replaced. */
  readonly entries: Entry[];
  readonly repaired?: WalRepair;
}

/** Where the writer is; restored by open from the scan. */
interface WriterState {
  segments: SegmentName[];
  segmentBytes: number;
  rollingCrc: number;
  lastIndex: number;
  lastTerm: number;
  hardState: HardState;
  marker: WalSnapshotMarker;
}

/**
 * Write-ahead log in segment files under `dir`, in the manner of etcd's wal package.
 *
 * Segments are not preallocated: the Disk seam is append-only (no positional writes), which
 * keeps the simulator's torn-write model simple, and a torn tail is then always the end of the
 * file. Preallocation would save the size update an fdatasync of an append must also flush
 * (~4,200 vs ~6,800 syncs/s on this machine per TOOLCHAIN.md), but the node loop batches a whole Ready per sync, so the
 * sync count, not its cost, dominates. Zero-filled tails are still handled on open, since a
 * crash can leave an extended but unwritten tail on a real file system.
 *
 * Each segment starts with a header: crc (rolling checksum so far), metadata, the latest
 * snapshot marker and the latest hard state, so any segment can be the first one read.
 */
export class Wal {
  private closed = false;
  /** The first disk error: after it the in-memory view may not match the disk (fsyncgate). */
  private failure: Error | undefined;

  private constructor(
    private readonly disk: Disk,
    private readonly dir: string,
    readonly metadata: WalMetadata,
    private readonly segmentSizeBytes: number,
    private readonly state: WriterState,
  ) {}

  /** True if `dir` holds WAL segments. */
  static exists(disk: Disk, dir: string): boolean {
    return listSegments(disk, dir).segments.length > 0;
  }

  /** Creates a new WAL whose first segment holds `metadata` and an empty snapshot marker. */
  static create(disk: Disk, dir: string, metadata: WalMetadata, options: WalOptions = {}): Wal {
    if (Wal.exists(disk, dir)) throw new WalError(`WAL already exists in ${dir}`);
    const state: WriterState = {
      segments: [],
      segmentBytes: 0,
      rollingCrc: 0,
      lastIndex: 0,
      lastTerm: 0,
      hardState: EMPTY_HARD_STATE,
      marker: { index: 0, term: 0 },
    };
    const wal = new Wal(disk, dir, metadata, segmentSizeOption(options), state);
    disk.mkdirp(dir);
    wal.startSegment(0, 0);
    syncParent(disk, dir);
    return wal;
  }

  /**
   * Opens the WAL for restoring from `fromSnapshot` (index 0, term 0 when there is none) and
   * for appending afterwards. A torn or corrupt tail of the last segment is cut and reported;
   * any other damage throws WalCorruptError.
   */
  static open(
    disk: Disk,
    dir: string,
    fromSnapshot: WalSnapshotMarker,
    options: WalOptions = {},
  ): WalOpenResult {
    const scan = scanWal(disk, dir, fromSnapshot);
    const lastSegment = scan.run[scan.run.length - 1] as SegmentName;
    if (scan.repair) {
      disk.truncate(`${dir}/${lastSegment.name}`, scan.lastSegmentValidBytes);
      disk.sync(`${dir}/${lastSegment.name}`);
    }
    for (const tmp of scan.tmpFiles) disk.remove(`${dir}/${tmp}`);
    for (const stale of scan.stale) disk.remove(`${dir}/${stale.name}`);
    if (scan.tmpFiles.length + scan.stale.length > 0) disk.syncDir(dir);
    const last = scan.entries[scan.entries.length - 1];
    const marker: WalSnapshotMarker = scan.markers.reduce(
      (a, b) => (b.index > a.index ? { index: b.index, term: b.term } : a),
      { index: fromSnapshot.index, term: fromSnapshot.term },
    );
    const hardState = consistentHardState(scan.hardState, fromSnapshot, last);
    const state: WriterState = {
      segments: [...scan.run],
      segmentBytes: scan.lastSegmentValidBytes,
      rollingCrc: scan.rollingCrc,
      lastIndex: last ? last.index : fromSnapshot.index,
      lastTerm: last ? last.term : fromSnapshot.term,
      hardState: scan.hardState,
      marker,
    };
    const wal = new Wal(disk, dir, scan.metadata, segmentSizeOption(options), state);
    // A lifted hard state is made durable at once: what open reports is what is on disk, so
    // a later crash cannot take the node's term back (the entry that justified it may go).
    if (hardState !== scan.hardState) wal.save(hardState, [], true);
    return {
      wal,
      metadata: scan.metadata,
      hardState,
      entries: scan.entries,
      ...(scan.repair ? { repaired: scan.repair } : {}),
    };
  }

  /**
   * Snapshot markers in the kept segments that are safe to restore from (local ones at or
   * below the saved commit index, installed ones always), oldest first, without changing
   * anything on disk. A node picks the newest snapshot file that appears here: a snapshot
   * file saved just before a crash may have no marker yet.
   */
  static snapshotMarkers(disk: Disk, dir: string): WalSnapshotMarker[] {
    const scan = scanWal(disk, dir, 'oldest');
    // A leader only sends committed snapshots; a local one is taken at or below commit.
    return scan.markers
      .filter((m) => m.replacesLog || m.index <= scan.hardState.commit)
      .map((m) => ({ index: m.index, term: m.term }));
  }

  /**
   * Appends entries then the hard state as one write; fsyncs only when `mustSync`. Entries
   * must be contiguous, start at most one past the last index, and may replace only an
   * uncommitted suffix.
   */
  save(hardState: HardState | undefined, entries: readonly Entry[], mustSync: boolean): void {
    this.checkUsable('save');
    const state = this.state;
    const term = hardState ? hardState.term : state.hardState.term;
    this.checkEntries(entries, term);
    const lastIndex = entries.length > 0 ? (entries[entries.length - 1] as Entry).index : state.lastIndex;
    if (hardState) this.checkHardState(hardState, lastIndex);
    if (entries.length === 0 && !hardState) {
      if (mustSync) this.sync();
      return;
    }
    let expectedBytes = 64;
    for (const entry of entries) expectedBytes += entry.data.length + ENTRY_FRAME_OVERHEAD_BYTES;
    const frames = new FrameWriter(this.currentSegment().seq, state.segmentBytes, expectedBytes);
    for (const entry of entries) frames.add(RecordType.entry, encodeEntry(entry));
    if (hardState) frames.add(RecordType.hardState, encodeHardState(hardState));
    this.appendFrames(frames);
    const last = entries[entries.length - 1];
    if (last) {
      state.lastIndex = last.index;
      state.lastTerm = last.term;
    }
    if (hardState) state.hardState = hardState;
    if (mustSync) this.sync();
    if (state.segmentBytes >= this.segmentSizeBytes) this.cut();
  }

  /**
   * Records that a snapshot at `marker` is durable in the snap dir, and syncs. Pass
   * `replacesLog` for a snapshot installed from the leader (Ready.snapshot): Raft then
   * discarded the whole log, so entries written before the marker must not come back on
   * reopen, and the next entry follows the marker. Leave it unset for a snapshot the node
   * took of its own applied state, after which the log continues unchanged.
   */
  saveSnapshotMarker(marker: WalSnapshotMarker, options: { replacesLog?: boolean } = {}): void {
    this.checkUsable('saveSnapshotMarker');
    const state = this.state;
    const replacesLog = options.replacesLog === true;
    assert(Number.isSafeInteger(marker.index) && marker.index > 0, `bad snapshot index ${marker.index}`);
    assert(Number.isSafeInteger(marker.term) && marker.term > 0, `bad snapshot term ${marker.term}`);
    assert(
      marker.index >= state.marker.index,
      () => `snapshot marker ${marker.index} goes back from ${state.marker.index}`,
    );
    assert(
      marker.index !== state.marker.index || marker.term === state.marker.term,
      () => `snapshot marker ${marker.index} changes term from ${state.marker.term} to ${marker.term}`,
    );
    assert(
      replacesLog || marker.index <= state.lastIndex,
      () => `local snapshot ${marker.index} is beyond the last index ${state.lastIndex}`,
    );
    assert(
      !replacesLog || marker.index >= state.hardState.commit,
      () => `installed snapshot ${marker.index} is below the commit index ${state.hardState.commit}`,
    );
    const frames = new FrameWriter(this.currentSegment().seq, state.segmentBytes);
    frames.add(RecordType.snapshot, encodeMarker({ index: marker.index, term: marker.term, replacesLog }));
    this.appendFrames(frames);
    state.marker = { index: marker.index, term: marker.term };
    if (replacesLog) {
      state.lastIndex = marker.index;
      state.lastTerm = marker.term;
    }
    this.sync();
    if (state.segmentBytes >= this.segmentSizeBytes) this.cut();
  }

  /**
   * Removes segment files wholly before `index`: every segment older than the last one whose
   * first index is <= `index`. Call with a snapshot index once that snapshot is durable.
   */
  releaseTo(index: number): string[] {
    this.checkUsable('releaseTo');
    const segments = this.state.segments;
    let keepFrom = 0;
    for (let i = segments.length - 1; i >= 0; i--) {
      if ((segments[i] as SegmentName).firstIndex <= index) {
        keepFrom = i;
        break;
      }
    }
    const removed = segments.splice(0, keepFrom);
    this.io(() => {
      // Oldest first: a crash midway leaves a contiguous run, or a gap open() treats as stale.
      for (const segment of removed) this.disk.remove(`${this.dir}/${segment.name}`);
      if (removed.length > 0) this.disk.syncDir(this.dir);
    });
    assert(segments.length >= 1, 'releaseTo removed the current segment');
    return removed.map((s) => s.name);
  }

  /** Makes everything written so far durable. */
  sync(): void {
    this.checkUsable('sync');
    this.io(() => this.disk.sync(this.currentPath()));
  }

  /**
   * sync() without blocking, where the disk can (Disk.syncAsync): `done` runs once everything
   * written before the call is durable, or with the error, which poisons this Wal as a failed
   * sync() does. The caller must not write to this Wal until `done` has run.
   */
  syncAsync(done: (error: Error | undefined) => void): void {
    this.checkUsable('syncAsync');
    const syncAsync = this.disk.syncAsync;
    assert(syncAsync !== undefined, 'syncAsync: the disk cannot sync asynchronously');
    syncAsync.call(this.disk, this.currentPath(), (error) => {
      if (error && !this.failure) this.failure = error;
      done(error);
    });
  }

  /** Syncs (unless a disk error already poisoned it) and stops; no use afterwards. */
  close(): void {
    if (this.closed) return;
    try {
      if (!this.failure) this.sync();
    } finally {
      this.closed = true;
    }
  }

  lastIndex(): number {
    return this.state.lastIndex;
  }

  hardState(): HardState {
    return this.state.hardState;
  }

  /** Names of the kept segment files, oldest first. */
  segmentFiles(): string[] {
    return this.state.segments.map((s) => s.name);
  }

  private checkEntries(entries: readonly Entry[], term: number): void {
    const state = this.state;
    const first = entries[0];
    if (!first) return;
    assert(
      first.index >= 1 && first.index <= state.lastIndex + 1,
      () => `save: first entry ${first.index} is not within 1..${state.lastIndex + 1}`,
    );
    assert(
      first.index > state.marker.index,
      () => `save: entry ${first.index} is covered by snapshot ${state.marker.index}`,
    );
    if (first.index <= state.lastIndex) {
      assert(
        first.index > state.hardState.commit,
        () => `save: entry ${first.index} would replace committed entries (commit ${state.hardState.commit})`,
      );
    } else {
      assert(first.term >= state.lastTerm, () => `save: entry term ${first.term} < last term ${state.lastTerm}`);
    }
    let prev: Entry | undefined;
    for (const entry of entries) {
      assert(Number.isSafeInteger(entry.term) && entry.term >= 1, () => `save: bad term ${entry.term}`);
      assert(entry.term <= term, () => `save: entry term ${entry.term} is above the current term ${term}`);
      if (prev) {
        assert(entry.index === prev.index + 1, () => `save: entries not contiguous at ${prev?.index}`);
        assert(entry.term >= prev.term, () => `save: term goes back at entry ${entry.index}`);
      }
      prev = entry;
    }
  }

  private checkHardState(hs: HardState, lastIndex: number): void {
    const prev = this.state.hardState;
    assert(hs.term >= prev.term, () => `save: term goes back from ${prev.term} to ${hs.term}`);
    assert(
      hs.term !== prev.term || prev.vote === NO_NODE || hs.vote === prev.vote,
      () => `save: vote changed from ${prev.vote} to ${hs.vote} within term ${hs.term}`,
    );
    assert(hs.commit >= prev.commit, () => `save: commit goes back from ${prev.commit} to ${hs.commit}`);
    assert(
      hs.commit <= Math.max(lastIndex, this.state.marker.index),
      () => `save: commit ${hs.commit} is beyond the last index ${lastIndex}`,
    );
  }

  private checkUsable(what: string): void {
    assert(!this.closed, `${what} on a closed WAL`);
    if (this.failure) {
      throw new WalError(`${what}: the WAL failed earlier (${this.failure.message}); reopen it`);
    }
  }

  /**
   * Runs disk calls; a DiskError poisons this Wal. After EIO from fsync the kernel may have
   * dropped the dirty pages, and after a failed append part of a frame may be on disk: the
   * only safe way on is to reopen, which re-reads what is really there.
   */
  private io<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      if (error instanceof DiskError) this.failure = error;
      throw error;
    }
  }

  private appendFrames(frames: FrameWriter): void {
    const state = this.state;
    this.io(() => this.disk.append(this.currentPath(), frames.finish()));
    state.segmentBytes += frames.length;
    for (const crc of frames.crcs) state.rollingCrc = rollCrc(state.rollingCrc, crc);
  }

  /** Syncs the full segment, then starts the next one after the last index. */
  private cut(): void {
    this.sync();
    this.startSegment(this.currentSegment().seq + 1, this.state.lastIndex + 1);
  }

  /**
   * Writes a segment's header to a temp file, syncs it and renames it into place, so a
   * segment with its final name always has a whole header.
   */
  private startSegment(seq: number, firstIndex: number): void {
    const state = this.state;
    const name = segmentName(seq, firstIndex);
    const frames = new FrameWriter(seq, 0);
    frames.add(RecordType.crc, crcPayload(state.rollingCrc));
    frames.add(RecordType.metadata, encodeMetadata(this.metadata));
    // The header repeats the marker as information only: replaying it must not clear entries.
    frames.add(RecordType.snapshot, encodeMarker({ ...state.marker, replacesLog: false }));
    if (state.hardState.term > 0) frames.add(RecordType.hardState, encodeHardState(state.hardState));
    const tmpPath = `${this.dir}/${name}${TMP_SUFFIX}`;
    this.io(() => {
      this.disk.writeFile(tmpPath, frames.finish());
      this.disk.sync(tmpPath);
      this.disk.rename(tmpPath, `${this.dir}/${name}`);
      this.disk.syncDir(this.dir);
    });
    state.segments.push({ seq, firstIndex, name });
    state.segmentBytes = frames.length;
    for (const crc of frames.crcs) state.rollingCrc = rollCrc(state.rollingCrc, crc);
  }

  private currentSegment(): SegmentName {
    const segment = this.state.segments[this.state.segments.length - 1];
    assert(segment !== undefined, 'WAL has no segment');
    return segment;
  }

  private currentPath(): string {
    return `${this.dir}/${this.currentSegment().name}`;
  }
}

/**
 * Lifts a hard state that a crash left behind what survived it. The snapshot restored from is
 * committed by definition; a crash between an installed snapshot's marker and the hard state
 * saved after it leaves an older hard state, and Raft must not start with commit below its
 * snapshot. A torn save can keep entries of a new term but lose the hard state written after
 * them: no hard state of that term was ever durable, so the node never voted in it (a vote is
 * sent only once persisted), and adopting the term with no vote is safe.
 */
function consistentHardState(hs: HardState, snapshot: WalSnapshotMarker, last: Entry | undefined): HardState {
  const term = Math.max(hs.term, snapshot.term, last ? last.term : 0);
  const commit = Math.max(hs.commit, snapshot.index);
  if (term === hs.term && commit === hs.commit) return hs;
  return { term, vote: term === hs.term ? hs.vote : NO_NODE, commit };
}

function segmentSizeOption(options: WalOptions): number {
  const bytes = options.segmentSizeBytes ?? DEFAULT_SEGMENT_SIZE_BYTES;
  assert(Number.isSafeInteger(bytes) && bytes > 0, `bad segmentSizeBytes ${bytes}`);
  return bytes;
}

/** The WAL dir itself was just created: make its entry in the parent durable too. */
function syncParent(disk: Disk, dir: string): void {
  const slash = dir.lastIndexOf('/');
  disk.syncDir(slash > 0 ? dir.slice(0, slash) : '.');
}
