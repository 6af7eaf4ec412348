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

/** Writes not yet in committed state: per bucket, by latin1 key, the op as it will commit. */
interface Layer {
  readonly ops: Map<BucketName, Map<string, CommitOp>>;
  /** The layer starts from empty buckets (a restore), not from what lies below it. */
  clear: boolean;
}

/**
 * Holds writes not yet committed as layers over committed state: the open batch on top, and
 * below it batches whose commit is still running (a subclass may commit asynchronously by
 * returning a promise from applyCommit). Reads see every layer, newest first, so an applied
 * write is readable at once whether or not its commit has finished. Keeps the read-your-writes
 * logic in one place for both implementations.
 */
export abstract class BatchingBackend implements Backend {
  private pending: Layer | undefined;
  /** Batches handed to applyCommit whose commit has not finished, oldest first. */
  private readonly inflight: Layer[] = [];
  /** The last asynchronous commit's completion. */
  private inflightDone: Promise<void> = Promise.resolve();
  /** An asynchronous commit failed: every later call throws it (the member must stop). */
  private failure: unknown = undefined;
  protected closed = false;

  protected abstract committedGet(bucket: BucketName, key: Uint8Array): Uint8Array | undefined;
  protected abstract committedForEach(bucket: BucketName, fn: (key: Uint8Array, value: Uint8Array) => void, start?: Uint8Array, end?: Uint8Array): void;
  /** Applies a batch atomically; a promise means the commit finishes later (reads meanwhile see the batch). */
  protected abstract applyCommit(clearFirst: boolean, ops: CommitOp[]): void | Promise<void>;
  abstract sizeBytes(): number;
  abstract close(): void;

  private usable(): void {
    assert(!this.closed, 'backend closed');
    if (this.failure !== undefined) throw this.failure;
  }

  /** Resolves once every batch committed so far has finished committing (throws if one failed). */
  async settled(): Promise<void> {
    while (this.inflight.length > 0 && this.failure === undefined) await this.inflightDone;
    if (this.failure !== undefined) throw this.failure;
  }

  get(bucket: BucketName, key: Uint8Array): Uint8Array | undefined {
    this.usable();
    if (this.pending !== undefined || this.inflight.length > 0) {
      let k: string | undefined;
      for (let i = this.inflight.length; i >= 0; i--) {
        const layer = i === this.inflight.length ? this.pending : this.inflight[i];
        if (layer === undefined) continue;
        const ops = layer.ops.get(bucket);
        if (ops !== undefined && ops.size > 0) {
          k ??= latin1(key);
          const op = ops.get(k);
          if (op !== undefined) return op.value;
        }
        if (layer.clear) return undefined;
      }
    }
    return this.committedGet(bucket, key);
  }

  /** The layers that touch `bucket`, oldest first, from the newest clearing layer up. */
  private layersFor(bucket: BucketName): { layers: Layer[]; fromEmpty: boolean } {
    const all = this.pending === undefined ? this.inflight : [...this.inflight, this.pending];
    let from = 0;
    let fromEmpty = false;
    for (let i = all.length - 1; i >= 0; i--) {
      if ((all[i] as Layer).clear) {
        from = i;
        fromEmpty = true;
        break;
      }
    }
    const layers = all.slice(from).filter((l) => (l.ops.get(bucket)?.size ?? 0) > 0);
    return { layers, fromEmpty };
  }

  forEach(bucket: BucketName, fn: (key: Uint8Array, value: Uint8Array) => void, start?: Uint8Array, end?: Uint8Array): void {
    this.usable();
    const { layers, fromEmpty } = this.layersFor(bucket);
    if (layers.length === 0 && !fromEmpty) {
      this.committedForEach(bucket, fn, start, end);
      return;
    }
    const merged = new Map<string, Uint8Array>();
    if (!fromEmpty) this.committedForEach(bucket, (k, v) => merged.set(latin1(k), v), start, end);
    const lo = start === undefined ? undefined : latin1(start);
    const hi = end === undefined ? undefined : latin1(end);
    for (const layer of layers) {
      for (const [k, op] of layer.ops.get(bucket) ?? []) {
        if ((lo !== undefined && k < lo) || (hi !== undefined && k >= hi)) continue;
        if (op.value === undefined) merged.delete(k);
        else merged.set(k, op.value);
      }
    }
    const keys = [...merged.keys()].sort();
    for (const k of keys) fn(fromLatin1(k), merged.get(k) as Uint8Array);
  }

  beginBatch(): void {
    this.usable();
    assert(this.pending === undefined, 'batch already open');
    this.pending = { ops: new Map(), clear: false };
  }

  inBatch(): boolean {
    return this.pending !== undefined;
  }

  private bucketOverlay(bucket: BucketName): Map<string, CommitOp> {
    assert(this.pending !== undefined, 'write outside a batch');
    let p = this.pending.ops.get(bucket);
    if (p === undefined) {
      p = new Map();
      this.pending.ops.set(bucket, p);
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
    this.pending = { ops: new Map(), clear: true };
  }

  commitBatch(): void {
    this.usable();
    const layer = this.pending;
    assert(layer !== undefined, 'commit without a batch');
    this.pending = undefined;
    const ops: CommitOp[] = [];
    for (const bucket of BUCKETS) {
      const p = layer.ops.get(bucket);
      if (p === undefined) continue;
      for (const op of p.values()) ops.push(op);
    }
    if (ops.length === 0 && !layer.clear) return;
    const running = this.applyCommit(layer.clear, ops);
    if (running === undefined) return;
    this.inflight.push(layer);
    this.inflightDone = running.then(
      () => {
        // Commits finish in the order they were made (one writer), so the oldest layer is done.
        assert(this.inflight[0] === layer, 'asynchronous commits finished out of order');
        this.inflight.shift();
      },
      (error: unknown) => {
        this.failure ??= error;
        this.inflight.length = 0;
      },
    );
  }

  abortBatch(): void {
    this.pending = undefined;
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

