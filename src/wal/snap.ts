import { assert, crc32c } from '../util/index.js';
import type { Disk } from '../env/index.js';
import type { Snapshot } from '../raft/types.js';
import { decodeSnapshot, encodeSnapshot, type WalSnapshotMarker } from './codec.js';
import { CodecError } from './errors.js';
import { hex16 } from './segment.js';

/**
 * Snapshot files `<term:016x>-<index:016x>.snap`, as etcd's snap package names them:
 *
 *   "TSNP" | u32 crc32c(body) | body = encodeSnapshot(snapshot)
 *
 * Written to a temp file, synced, renamed and the directory synced, so a file with a final
 * name is whole unless the disk later corrupts it; a corrupt one is renamed `.broken` and the
 * next older one is used.
 */
const MAGIC = [0x54, 0x53, 0x4e, 0x50]; // "TSNP"
const HEADER_BYTES = 8;
const SNAP_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;
const TMP_SUFFIX = '.tmp';
const BROKEN_SUFFIX = '.broken';

export interface SnapFile extends WalSnapshotMarker {
  readonly file: string;
}

export interface SnapSkip {
  readonly file: string;
  readonly reason: string;
}

export interface SnapLoadResult {
  /** The newest valid accepted snapshot, if any. */
  readonly snapshot?: Snapshot;
  readonly file?: string;
  /** Newer files that failed their checks (now renamed `.broken`). */
  readonly skipped: readonly SnapSkip[];
}

export function snapFileName(marker: WalSnapshotMarker): string {
  return `${hex16(marker.term)}-${hex16(marker.index)}.snap`;
}

export function encodeSnapFile(snapshot: Snapshot): Uint8Array {
  const body = encodeSnapshot(snapshot);
  const out = new Uint8Array(HEADER_BYTES + body.length);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, crc32c(body), true);
  out.set(body, HEADER_BYTES);
  return out;
}

/** Decodes and checks a snapshot file's bytes; throws CodecError on any mismatch. */
export function decodeSnapFile(bytes: Uint8Array): Snapshot {
  if (bytes.length < HEADER_BYTES) throw new CodecError(`too short (${bytes.length} bytes)`);
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw new CodecError('bad magic');
  }
  const storedCrc = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  const body = bytes.subarray(HEADER_BYTES);
  if (crc32c(body) !== storedCrc) throw new CodecError('crc mismatch');
  return decodeSnapshot(body);
}

export class SnapStore {
  constructor(
    private readonly disk: Disk,
    private readonly dir: string,
  ) {}

  /** Writes the snapshot durably; returns its file name. */
  save(snapshot: Snapshot): string {
    const { index, term } = snapshot.meta;
    assert(Number.isSafeInteger(index) && index > 0, `snapshot index must be positive: ${index}`);
    assert(Number.isSafeInteger(term) && term > 0, `snapshot term must be positive: ${term}`);
    const name = snapFileName(snapshot.meta);
    const tmpPath = `${this.dir}/${name}${TMP_SUFFIX}`;
    this.disk.mkdirp(this.dir);
    this.disk.writeFile(tmpPath, encodeSnapFile(snapshot));
    this.disk.sync(tmpPath);
    this.disk.rename(tmpPath, `${this.dir}/${name}`);
    this.disk.syncDir(this.dir);
    return name;
  }

  /** Snapshot files by name, newest (highest index, then term) first. */
  list(): SnapFile[] {
    const files: SnapFile[] = [];
    for (const file of this.disk.list(this.dir)) {
      const match = SNAP_RE.exec(file);
      if (!match) continue;
      files.push({ file, term: parseInt(match[1] as string, 16), index: parseInt(match[2] as string, 16) });
    }
    return files.sort((a, b) => b.index - a.index || b.term - a.term);
  }

  /**
   * The newest snapshot that decodes, passes its CRC, matches its name and is accepted (for
   * example: has a marker in the WAL). Corrupt files are skipped, reported and renamed.
   */
  loadNewest(accept?: (marker: WalSnapshotMarker) => boolean): SnapLoadResult {
    const skipped: SnapSkip[] = [];
    for (const candidate of this.list()) {
      if (accept && !accept(candidate)) continue;
      const path = `${this.dir}/${candidate.file}`;
      let snapshot: Snapshot;
      try {
        snapshot = decodeSnapFile(this.disk.read(path));
        if (snapshot.meta.index !== candidate.index || snapshot.meta.term !== candidate.term) {
          throw new CodecError(
            `holds index ${snapshot.meta.index} term ${snapshot.meta.term}, not what its name says`,
          );
        }
      } catch (error) {
        if (!(error instanceof CodecError) && !(error instanceof RangeError)) throw error;
        skipped.push({ file: candidate.file, reason: error.message });
        this.disk.rename(path, path + BROKEN_SUFFIX);
        this.disk.syncDir(this.dir);
        continue;
      }
      return { snapshot, file: candidate.file, skipped };
    }
    return { skipped };
  }

  /** Removes all but the `keep` newest snapshot files, and leftover temp files. */
  purge(keep: number): string[] {
    assert(Number.isSafeInteger(keep) && keep >= 1, `purge must keep at least one snapshot: ${keep}`);
    const removed: string[] = [];
    for (const candidate of this.list().slice(keep)) removed.push(candidate.file);
    for (const file of this.disk.list(this.dir)) {
      if (file.endsWith(TMP_SUFFIX)) removed.push(file);
    }
    for (const file of removed) this.disk.remove(`${this.dir}/${file}`);
    if (removed.length > 0) this.disk.syncDir(this.dir);
    return removed;
  }
}
