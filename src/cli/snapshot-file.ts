/**
 * Snapshot files as `etcdctl snapshot save` writes them from a tsetcd member: the backend
 * encoded by mvcc's encodeSnapshot ("TSMVCC1\n" ... count, CRC-32C), zero-padded to a multiple
 * of 512 bytes (etcdctl expects bbolt's page-aligned size), then the SHA-256 of all that as a
 * 32-byte trailer. Real etcd's bbolt files are recognised and refused: tsetcd cannot read them.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { bytesToRev, decodeSnapshot } from '../mvcc/index.js';
import type { SnapshotEntry } from '../mvcc/index.js';
import { crc32c } from '../util/index.js';

const SHA256_BYTES = 32;
const PAGE_BYTES = 512;
const MAGIC = Buffer.from('TSMVCC1\n');
/** bbolt's meta page magic (0xED0CDAED, little-endian) sits at byte 16 of page 0. */
const BOLT_MAGIC = 0xed0cdaed;

export class SnapshotFileError extends Error {}

export interface SnapshotContents {
  readonly entries: readonly SnapshotEntry[];
  /** The file carried the SHA-256 trailer (and it matched, unless the check was skipped). */
  readonly hadHash: boolean;
}

/** Reads and verifies a snapshot file; `skipHashCheck` as etcdctl's --skip-hash-check. */
export function readSnapshotFile(path: string, skipHashCheck: boolean): SnapshotContents {
  const bytes = readFileSync(path);
  if (bytes.length >= 20 && bytes.readUInt32LE(16) === BOLT_MAGIC) {
    throw new SnapshotFileError(`${path} is a bbolt database from real etcd; tsetcd restores only snapshots saved from tsetcd members`);
  }
  const hasHash = bytes.length % PAGE_BYTES === SHA256_BYTES;
  let body = bytes;
  if (hasHash) {
    body = bytes.subarray(0, bytes.length - SHA256_BYTES);
    const want = bytes.subarray(bytes.length - SHA256_BYTES);
    const got = createHash('sha256').update(body).digest();
    if (!skipHashCheck && !got.equals(want)) {
      throw new SnapshotFileError(`expected sha256 ${JSON.stringify([...want])}, got ${JSON.stringify([...got])}`);
    }
  } else if (!skipHashCheck) {
    throw new SnapshotFileError('snapshot missing hash but --skip-hash-check=false');
  }
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new SnapshotFileError(`${path} is not a tsetcd snapshot (no TSMVCC1 header)`);
  }
  try {
    return { entries: decodeSnapshot(trimPadding(body)), hadHash: hasHash };
  } catch (error) {
    throw new SnapshotFileError(`${path}: corrupt snapshot: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * The encoded backend without the zero padding: walks the entries until the position where the
 * trailer (entry count, CRC-32C of everything before the CRC) matches.
 */
function trimPadding(body: Uint8Array): Uint8Array {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let pos = MAGIC.length;
  let count = 0;
  while (pos + 8 <= body.length) {
    if (view.getUint32(pos) === count && view.getUint32(pos + 4) === crc32c(body.subarray(0, pos + 4))) return body.subarray(0, pos + 8);
    const keyBytes = view.getUint32(pos + 1);
    if (pos + 9 + keyBytes > body.length) break;
    const valueBytes = view.getUint32(pos + 5 + keyBytes);
    pos += 9 + keyBytes + valueBytes;
    count++;
  }
  throw new Error('no valid trailer (truncated file?)');
}

export interface SnapshotStatus {
  /** CRC-32C over every bucket name, key and value, in order (etcd hashes its bbolt buckets the same way). */
  readonly hash: number;
  readonly revision: number;
  readonly totalKey: number;
  readonly totalSize: number;
}

/** `etcdctl snapshot status`: hash, latest revision, number of backend keys, file size. */
export function snapshotStatus(path: string): SnapshotStatus {
  const { entries } = readSnapshotFile(path, true);
  let crc = 0;
  let revision = 0;
  for (const e of entries) {
    crc = crc32c(Buffer.concat([Buffer.from(e.bucket), e.key, e.value]), crc);
    if (e.bucket === 'key') {
      const main = bytesToRev(e.key).main;
      if (main > revision) revision = main;
    }
  }
  return { hash: crc >>> 0, revision, totalKey: entries.length, totalSize: statSync(path).size };
}
