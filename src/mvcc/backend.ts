/**
 * The Backend: an ordered byte-key store with two buckets, laid out as etcd lays out bbolt:
 * "key" holds revision keys -> encoded KeyValue, "meta" holds the consistent index, term and
 * compaction marks. Reads are synchronous. Writes go into a batch that commits atomically, so many
 * applied Raft entries share one transaction and one sync. Reads see the open batch's own writes.
 * A commit survives a process crash once commitBatch returns; LMDB may leave the last commit to a
 * machine crash until the next one (see lmdb_backend.ts), which the WAL replays.
 */
import { assert } from '../util/index.js';

export type BucketName = 'key' | 'meta';
export const BUCKETS: readonly BucketName[] = ['key', 'meta'];

export interface Backend {
  get(bucket: BucketName, key: Uint8Array): Uint8Array | undefined;
  /** Entries with start <= key < end in ascending byte order; bounds optional. */
  forEach(bucket: BucketName, fn: (key: Uint8Array, value: Uint8Array) => void, start?: Uint8Array, end?: Uint8Array): void;
  beginBatch(): void;
  inBatch(): boolean;
  /**
   * The backend keeps `key` and `value` as given (no copy): the caller hands them over and must
   * not change them afterwards. Every writer makes fresh arrays per write anyway.
   */
  put(bucket: BucketName, key: Uint8Array, value: Uint8Array): void;
  delete(bucket: BucketName, key: Uint8Array): void;
  /** Drop every entry of every bucket (restore from a snapshot), as part of the open batch. */
  clearAll(): void;
  /** Atomic on return, and survives a process crash (a machine crash: see the file comment). */
  commitBatch(): void;
  /** Forget the open batch's writes. */
  abortBatch(): void;
  /** Approximate bytes used on disk (or in memory), for the NOSPACE quota. */
  sizeBytes(): number;
  close(): void;
}

/** Up to this many bytes, one fromCharCode call beats a Buffer wrapper and its latin1 decode. */
const SHORT_KEY_BYTES = 64;

function latin1(bytes: Uint8Array): string {
  if (bytes.length <= SHORT_KEY_BYTES) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function fromLatin1(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

export interface CommitOp {
  bucket: BucketName;
  key: Uint8Array;
  /** undefined: delete. */
  value: Uint8Array | undefined;
}

/**
 * Holds the open batch as an overlay over committed state; subclasses provide committed reads and
 * the atomic apply. Keeps the read-your-writes logic in one place for both implementations.
 */
export abstract class BatchingBackend implements Backend {
  /** Per bucket, by latin1 key: the op as it will commit, so commit needs no conversions. */
  private pending: Map<BucketName, Map<string, CommitOp>> | undefined;
  private pendingClear = false;
  protected closed = false;

  protected abstract committedGet(bucket: BucketName, key: Uint8Array): Uint8Array | undefined;
  protected abstract committedForEach(bucket: BucketName, fn: (key: Uint8Array, value: Uint8Array) => void, start?: Uint8Array, end?: Uint8Array): void;
  protected abstract applyCommit(clearFirst: boolean, ops: CommitOp[]): void;
  abstract sizeBytes(): number;
  abstract close(): void;

  get(bucket: BucketName, key: Uint8Array): Uint8Array | undefined {
    assert(!this.closed, 'backend closed');
    const p = this.pending?.get(bucket);
    if (p !== undefined && p.size > 0) {
      const op = p.get(latin1(key));
      if (op !== undefined) return op.value;
    }
    if (this.pendingClear) return undefined;
    return this.committedGet(bucket, key);
  }

  forEach(bucket: BucketName, fn: (key: Uint8Array, value: Uint8Array) => void, start?: Uint8Array, end?: Uint8Array): void {
    assert(!this.closed, 'backend closed');
    const p = this.pending?.get(bucket);
    if ((p === undefined || p.size === 0) && !this.pendingClear) {
      this.committedForEach(bucket, fn, start, end);
      return;
    }
    const merged = new Map<string, Uint8Array>();
    if (!this.pendingClear) this.committedForEach(bucket, (k, v) => merged.set(latin1(k), v), start, end);
    const lo = start === undefined ? undefined : latin1(start);
    const hi = end === undefined ? undefined : latin1(end);
    for (const [k, op] of p ?? []) {
      if ((lo !== undefined && k < lo) || (hi !== undefined && k >= hi)) continue;
      if (op.value === undefined) merged.delete(k);
      else merged.set(k, op.value);
    }
    const keys = [...merged.keys()].sort();
    for (const k of keys) fn(fromLatin1(k), merged.get(k) as Uint8Array);
  }

  beginBatch(): void {
    assert(!this.closed, 'backend closed');
    assert(this.pending === undefined, 'batch already open');
    this.pending = new Map();
    this.pendingClear = false;
  }

  inBatch(): boolean {
    return this.pending !== undefined;
  }

  private bucketOverlay(bucket: BucketName): Map<string, CommitOp> {
    assert(this.pending !== undefined, 'write outside a batch');
    let p = this.pending.get(bucket);
    if (p === undefined) {
      p = new Map();
      this.pending.set(bucket, p);
    }
    return p;
  }

  put(bucket: BucketName, key: Uint8Array, value: Uint8Array): void {
    this.bucketOverlay(bucket).set(latin1(key), { bucket, key, value });
  }

  delete(bucket: BucketName, key: Uint8Array): void {
    this.bucketOverlay(bucket).set(latin1(key), { bucket, key, value: undefined });
  }

  clearAll(): void {
    assert(this.pending !== undefined, 'clear outside a batch');
    this.pending = new Map();
    this.pendingClear = true;
  }

  commitBatch(): void {
    assert(this.pending !== undefined, 'commit without a batch');
    const ops: CommitOp[] = [];
    for (const bucket of BUCKETS) {
      const p = this.pending.get(bucket);
      if (p === undefined) continue;
      for (const op of p.values()) ops.push(op);
    }
    const clearFirst = this.pendingClear;
    this.pending = undefined;
    this.pendingClear = false;
    if (ops.length > 0 || clearFirst) this.applyCommit(clearFirst, ops);
  }

  abortBatch(): void {
    this.pending = undefined;
    this.pendingClear = false;
  }
}

/**
 * In-memory backend for the simulator and tests. Committed state survives a simulated crash
 * (the simulator keeps this object as the node's "disk"); the open batch does not: call crash().
 */
export class MemoryBackend extends BatchingBackend {
  private readonly buckets = new Map<BucketName, Map<string, Uint8Array>>(BUCKETS.map((b) => [b, new Map()]));
  private readonly sortedCache = new Map<BucketName, string[]>();
  private bytesUsed = 0;
  /** Number of committed batches: lets tests check that a batch means one sync. */
  commits = 0;

  protected committedGet(bucket: BucketName, key: Uint8Array): Uint8Array | undefined {
    return this.buckets.get(bucket)?.get(latin1(key));
  }

  private sortedKeys(bucket: BucketName): string[] {
    let keys = this.sortedCache.get(bucket);
    if (keys === undefined) {
      keys = [...(this.buckets.get(bucket) as Map<string, Uint8Array>).keys()].sort();
      this.sortedCache.set(bucket, keys);
    }
    return keys;
  }

  protected committedForEach(bucket: BucketName, fn: (key: Uint8Array, value: Uint8Array) => void, start?: Uint8Array, end?: Uint8Array): void {
    const map = this.buckets.get(bucket) as Map<string, Uint8Array>;
    const keys = this.sortedKeys(bucket);
    const lo = start === undefined ? undefined : latin1(start);
    const hi = end === undefined ? undefined : latin1(end);
    let i = 0;
    if (lo !== undefined) {
      let h = keys.length;
      while (i < h) {
        const mid = (i + h) >>> 1;
        if ((keys[mid] as string) < lo) i = mid + 1;
        else h = mid;
      }
    }
    for (; i < keys.length; i++) {
      const k = keys[i] as string;
      if (hi !== undefined && k >= hi) break;
      fn(fromLatin1(k), map.get(k) as Uint8Array);
    }
  }

  protected applyCommit(clearFirst: boolean, ops: CommitOp[]): void {
    if (clearFirst) {
      for (const m of this.buckets.values()) m.clear();
      this.sortedCache.clear();
      this.bytesUsed = 0;
    }
    const removed = new Set<BucketName>();
    for (const op of ops) {
      const m = this.buckets.get(op.bucket) as Map<string, Uint8Array>;
      const k = latin1(op.key);
      const old = m.get(k);
      if (old !== undefined) this.bytesUsed -= k.length + old.length;
      if (op.value === undefined) {
        if (m.delete(k)) removed.add(op.bucket);
        continue;
      }
      m.set(k, op.value);
      this.bytesUsed += k.length + op.value.length;
      if (old === undefined) this.insertSorted(op.bucket, k);
    }
    // Deletions (compaction) are rare and batched: rebuild those buckets' order lazily.
    for (const bucket of removed) this.sortedCache.delete(bucket);
    this.commits++;
    assert(this.bytesUsed >= 0, 'memory backend size went negative');
  }

  /** Revision keys only grow, so a new key is almost always appended. */
  private insertSorted(bucket: BucketName, k: string): void {
    const keys = this.sortedCache.get(bucket);
    if (keys === undefined) return;
    const last = keys[keys.length - 1];
    if (last === undefined || last < k) {
      keys.push(k);
      return;
    }
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((keys[mid] as string) < k) lo = mid + 1;
      else hi = mid;
    }
    keys.splice(lo, 0, k);
  }

  sizeBytes(): number {
    return this.bytesUsed;
  }

  /** A simulated crash: unsynced (uncommitted) writes are lost. */
  crash(): void {
    this.abortBatch();
  }

  close(): void {
    this.abortBatch();
  }
}

