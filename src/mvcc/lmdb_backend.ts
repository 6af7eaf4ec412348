/**
 * The production Backend over LMDB (the `member/db` directory): one named database per bucket,
 * binary keys in byte order, exactly like etcd's bbolt buckets. A batch commits in one
 * transactionSync (overlappingSync off): its data pages are on disk when commitBatch returns,
 * one fdatasync per batch however many applied entries it carries.
 *
 * The meta page that makes a commit current is not synced by default (LMDB's MDB_NOMETASYNC):
 * it reaches the disk with the next commit's fdatasync. LMDB keeps atomicity and consistency
 * that way; a machine crash (not a process crash: the page cache survives those) may undo the
 * last commit. That is safe here because the WAL is the durable record: the consistent index
 * commits with the state it describes, so the member replays every entry after it, and the WAL
 * keeps every entry after the older of the two snapshots kept. It halves the syncs per commit
 * (measured: ~2-4 us less CPU per applied put at 70 puts per commit, and the commit holds the
 * event loop about half as long). `syncEveryCommit` restores a durable return.
 */
import { open, type Database, type RootDatabase } from 'lmdb';
import { assert } from '../util/index.js';
import { BUCKETS, BatchingBackend, type BucketName, type CommitOp } from './backend.js';
import { copyBytes } from './slab.js';

export interface LmdbBackendOptions {
  /** Upper bound of the memory map; LMDB grows the file up to it. */
  mapSizeBytes?: number;
  /** Sync the meta page at every commit too (LMDB's default): durable when commitBatch returns. */
  syncEveryCommit?: boolean;
  /**
   * Commit on lmdb-js's writer thread: commitBatch returns at once, the batch stays readable
   * from memory until its commit (and fdatasync) finishes, and the event loop never waits for
   * the disk. What a crash loses is the same as with NOMETASYNC (the last commits), which the
   * WAL replays. Call settled() before close() to end with everything committed.
   */
  asyncCommits?: boolean;
}

const DEFAULT_MAP_SIZE_BYTES = 8 * 1024 * 1024 * 1024;

/**
 * A value as lmdb-js takes it: it records the address of the value's ArrayBuffer (a native call,
 * cached on the ArrayBuffer), so values sharing a slab or Node's Buffer pool cost one lookup per
 * buffer, not one per value; a small on-heap array is copied into the pool instead.
 */
function toBuffer(value: Uint8Array): Buffer {
  return value.byteLength <= ON_HEAP_MAX_BYTES ? Buffer.from(value) : (value as Buffer);
}

/** V8 keeps typed arrays up to this size on the JS heap (no stable address until externalized). */
const ON_HEAP_MAX_BYTES = 64;

export class LmdbBackend extends BatchingBackend {
  private readonly env: RootDatabase;
  private readonly dbs = new Map<BucketName, Database<Buffer, Buffer>>();
  /** Size as of the last commit: the quota check asks on every write, and getStats is a native call. */
  private cachedSizeBytes: number | undefined;
  private readonly syncEveryCommit: boolean;
  private readonly asyncCommits: boolean;

  private constructor(readonly path: string, options: LmdbBackendOptions) {
    super();
    this.syncEveryCommit = options.syncEveryCommit === true;
    this.asyncCommits = options.asyncCommits === true;
    this.env = open({
      path,
      maxDbs: BUCKETS.length + 2,
      mapSize: options.mapSizeBytes ?? DEFAULT_MAP_SIZE_BYTES,
      overlappingSync: false,
      noSync: false,
      noMetaSync: !this.syncEveryCommit,
    });
    for (const b of BUCKETS) {
      this.dbs.set(b, this.env.openDB<Buffer, Buffer>({ name: b, keyEncoding: 'binary', encoding: 'binary' }));
    }
  }

  /** Opens (creating if needed) the LMDB environment at `path`, e.g. `<data-dir>/member/db`. */
  static open(path: string, options: LmdbBackendOptions = {}): LmdbBackend {
    return new LmdbBackend(path, options);
  }

  private db(bucket: BucketName): Database<Buffer, Buffer> {
    const db = this.dbs.get(bucket);
    assert(db !== undefined, () => `unknown bucket ${bucket}`);
    return db;
  }

  protected committedGet(bucket: BucketName, key: Uint8Array): Uint8Array | undefined {
    // The value sits in a buffer lmdb reuses on its next read (its own `length` is the value's):
    // one copy out, instead of getBinary's copy and then ours.
    const fast = this.db(bucket).getBinaryFast(key as Buffer);
    if (fast === undefined || fast === null) return undefined;
    return copyBytes(fast.subarray(0, fast.length));
  }

  protected committedForEach(bucket: BucketName, fn: (key: Uint8Array, value: Uint8Array) => void, start?: Uint8Array, end?: Uint8Array): void {
    const range: { start?: Buffer; end?: Buffer } = {};
    if (start !== undefined) range.start = Buffer.from(start);
    if (end !== undefined) range.end = Buffer.from(end);
    for (const { key, value } of this.db(bucket).getRange(range)) {
      fn(new Uint8Array(key), new Uint8Array(value));
    }
  }

  protected applyCommit(clearFirst: boolean, ops: CommitOp[]): void | Promise<void> {
    const keyDb = this.db('key');
    const metaDb = this.db('meta');
    const write = (): void => {
      if (clearFirst) for (const b of BUCKETS) this.db(b).clearSync();
      for (const op of ops) {
        const db = op.bucket === 'key' ? keyDb : metaDb;
        // Binary keys are copied into lmdb's instruction buffer, so no Buffer of our own is needed.
        const key = op.key as Buffer;
        if (op.value === undefined) db.removeSync(key);
        else db.putSync(key, toBuffer(op.value));
      }
    };
    if (!this.asyncCommits) {
      this.env.transactionSync(write);
      this.cachedSizeBytes = undefined;
      return;
    }
    // lmdb-js runs the callback on this thread once its writer holds the transaction, then
    // commits and syncs on the writer thread; transactions run in the order they were asked for.
    return this.env.transaction(write).then(() => {
      this.cachedSizeBytes = undefined;
    });
  }

  /**
   * Bytes of the data file in use (pages up to the last one written), like bbolt's Size(): it
   * changes only when a batch commits, so it is read once per commit, not once per request.
   */
  sizeBytes(): number {
    if (this.cachedSizeBytes === undefined) this.cachedSizeBytes = this.readSizeBytes();
    return this.cachedSizeBytes;
  }

  private readSizeBytes(): number {
    const stats = this.env.getStats() as { pageSize: number; lastPageNumber: number };
    return (stats.lastPageNumber + 1) * stats.pageSize;
  }

  close(): void {
    if (this.closed) return;
    this.abortBatch();
    // With asynchronous commits the WAL is always there to replay the last one (and a
    // synchronous rewrite could land before a commit still queued).
    if (!this.syncEveryCommit && !this.asyncCommits) this.syncLastCommit();
    this.closed = true;
    void this.env.close();
  }

  /**
   * Makes the last commit durable before closing (a restored member has no WAL to replay it
   * from): rewriting one meta entry with its own value is a commit whose fdatasync carries the
   * previous commit's meta page, and whose own undone meta would change nothing.
   */
  private syncLastCommit(): void {
    const meta = this.db('meta');
    let first: { key: Buffer; value: Buffer } | undefined;
    for (const entry of meta.getRange({ limit: 1 })) first = { key: Buffer.from(entry.key), value: Buffer.from(entry.value) };
    if (first === undefined) return;
    const { key, value } = first;
    this.env.transactionSync(() => meta.putSync(key, value));
  }
}
