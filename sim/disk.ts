/**
 * A node's disk in the simulator.
 *
 * FAULT MODEL (what the storage code must survive, and nothing more):
 *
 * 1. Content. Each file has durable content and the content readers see. append, writeFile and
 *    truncate change what readers see at once; sync(path) makes the file's current content
 *    durable. A crash reverts every file to its durable content.
 * 2. Torn tail. If a file was changed only by appends since its last sync, a crash may keep a
 *    prefix of the unsynced bytes (probability `tornWriteProb`, prefix length uniform from none
 *    to all of them): the last unsynced append may survive torn, earlier ones whole. A file with
 *    any other unsynced change (writeFile, truncate) reverts wholly to its durable content.
 * 3. Metadata. Creating, renaming and removing files is durable only after syncDir(parent). After
 *    a crash, names come from the durable namespace: a file created and synced but whose parent
 *    was never syncDir'ed is gone; a rename not yet syncDir'ed is undone. A file whose name is
 *    durable but whose content was never synced comes back empty (or torn). A rename across
 *    directories needs syncDir of both; syncing only one can leave the file under both names or
 *    under neither, as on a real file system. Directories (mkdirp, removing an empty directory)
 *    are durable at once: a simplification, since etcd creates its directories at start-up.
 * 4. Latent corruption. With probability `corruptionProb` per crash, one bit of one durable
 *    byte flips (in a file `corruptiblePath` accepts). Nothing reports it: the CRCs must catch it.
 * 5. EIO on sync (fsyncgate). With probability `syncFailProb` (or when injected) sync throws
 *    DiskError('EIO'). Like Linux, the kernel then drops the file's dirty pages: nothing of it
 *    becomes durable until the next crash, and later syncs of that file *succeed* without
 *    persisting anything. Readers still see the data. So the only safe reaction is the one etcd
 *    and PostgreSQL take: treat EIO from sync as fatal. syncDir can fail the same way, in which
 *    case none of the directory's changes became durable (it may be retried).
 * 6. ENOSPC on write. With probability `writeFailProb` append/writeFile throw DiskError('ENOSPC')
 *    before changing anything.
 * 7. Slow sync. Each sync/syncDir costs a latency drawn from [syncLatencyMsMin, syncLatencyMsMax],
 *    plus, with probability `slowSyncProb`, up to `slowSyncMsMax` more. The disk cannot block a
 *    synchronous caller on virtual time, so it exposes the cost: `lastSyncLatencyMs`, and
 *    `takeSyncLatencyMs()` (accumulated since last taken) for the node loop to charge.
 *
 * A SimDiskDevice is the machine's disk and survives crashes; open() gives the running process
 * its SimDisk view. crash() applies the faults above and closes the view for good (a dropped
 * node's stray Promise chains get DiskError('EBADF') rather than writing into the next life);
 * the restarted process calls open() again and sees only what was durable.
 */
import { assert } from '../src/util/index.js';
import type { SeededRand } from '../src/util/index.js';
import { DiskError } from '../src/env/index.js';
import type { Clock, Disk } from '../src/env/index.js';

export interface SimDiskOptions {
  readonly tornWriteProb?: number;
  readonly corruptionProb?: number;
  readonly corruptiblePath?: (path: string) => boolean;
  readonly syncFailProb?: number;
  readonly writeFailProb?: number;
  readonly syncLatencyMsMin?: number;
  readonly syncLatencyMsMax?: number;
  readonly slowSyncProb?: number;
  readonly slowSyncMsMax?: number;
}

export interface CrashReport {
  /** Files that kept part of their unsynced appends: [path, bytes kept, unsynced bytes]. */
  readonly torn: ReadonlyArray<readonly [string, number, number]>;
  /** Files with unsynced changes that were lost (wholly or partly). */
  readonly reverted: readonly string[];
  /** Latent corruption: path, byte offset and the bit flipped. */
  readonly corrupted: ReadonlyArray<{ readonly path: string; readonly offset: number; readonly bit: number }>;
}

export interface DiskStats {
  appends: number;
  bytesWritten: number;
  syncs: number;
  syncDirs: number;
  syncFailures: number;
  writeFailures: number;
  crashes: number;
}

/** File content: current bytes, plus what is durable (a prefix of them while only appended). */
class Inode {
  private buf: Uint8Array;
  private len = 0;
  private durableLen = 0;
  /** Set once a non-append change happens after the last sync: the durable bytes, copied. */
  private durableCopy: Uint8Array | undefined = undefined;
  /** After a failed sync: dirty pages were dropped and later syncs persist nothing. */
  poisoned = false;

  constructor(initialCapacity = 64) {
    this.buf = new Uint8Array(initialCapacity);
  }

  get size(): number {
    return this.len;
  }

  get dirty(): boolean {
    return this.durableCopy !== undefined || this.len !== this.durableLen;
  }

  /** Unsynced appended bytes, or undefined if some other kind of change is unsynced. */
  get unsyncedAppendBytes(): number | undefined {
    return this.durableCopy === undefined ? this.len - this.durableLen : undefined;
  }

  read(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  durable(): Uint8Array {
    return this.durableCopy ?? this.buf.subarray(0, this.durableLen);
  }

  append(data: Uint8Array): void {
    this.reserve(this.len + data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }

  replace(data: Uint8Array): void {
    this.beforeRewrite();
    this.buf = new Uint8Array(Math.max(64, data.length));
    this.buf.set(data);
    this.len = data.length;
  }

  truncate(size: number): void {
    this.beforeRewrite();
    this.reserve(size);
    if (size > this.len) this.buf.fill(0, this.len, size);
    this.len = size;
  }

  sync(): void {
    if (this.poisoned) return;
    this.durableLen = this.len;
    this.durableCopy = undefined;
  }

  /** Crash: back to durable content plus `keepUnsyncedBytes` of the unsynced appends. */
  revert(keepUnsyncedBytes: number): void {
    const durable = this.durable();
    assert(keepUnsyncedBytes === 0 || this.durableCopy === undefined, 'torn tail kept on a rewritten file');
    assert(this.durableCopy !== undefined || this.durableLen + keepUnsyncedBytes <= this.len, 'torn tail longer than the unsynced bytes');
    if (this.durableCopy !== undefined) {
      this.buf = new Uint8Array(Math.max(64, durable.length));
      this.buf.set(durable);
    }
    this.len = (this.durableCopy?.length ?? this.durableLen) + keepUnsyncedBytes;
    this.durableLen = this.len;
    this.durableCopy = undefined;
    this.poisoned = false;
  }

  flipBit(offset: number, bit: number): void {
    assert(!this.dirty && offset < this.len, 'flipBit on a dirty inode or past its end');
    this.buf[offset] = (this.buf[offset] as number) ^ (1 << bit);
  }

  private beforeRewrite(): void {
    if (this.durableCopy === undefined) this.durableCopy = this.buf.slice(0, this.durableLen);
  }

  private reserve(capacity: number): void {
    if (capacity <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(capacity, this.buf.length * 2));
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
  }
}

export function normalizePath(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  assert(!parts.includes('..'), () => `disk path must not contain '..': ${path}`);
  return parts.join('/');
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The machine's disk: durable state that survives crashes of the process using it. */
export class SimDiskDevice {
  // The two namespaces are shared with SimDisk views (same file, not exported from sim/index.ts).
  /** Names the running process sees. */
  files = new Map<string, Inode>();
  /** Names that survive a crash. */
  durableFiles = new Map<string, Inode>();
  readonly dirs = new Set<string>(['']);
  readonly stats: DiskStats = { appends: 0, bytesWritten: 0, syncs: 0, syncDirs: 0, syncFailures: 0, writeFailures: 0, crashes: 0 };
  /** Every fault applied, as text, for failure reports. */
  readonly faultLog: string[] = [];
  private view: SimDisk | undefined = undefined;
  private injectedSyncFailures = 0;

  constructor(
    readonly rand: SeededRand,
    private faultOptions: SimDiskOptions = {},
  ) {
    const o = faultOptions;
    for (const p of [o.tornWriteProb, o.corruptionProb, o.syncFailProb, o.writeFailProb, o.slowSyncProb]) {
      assert(p === undefined || (p >= 0 && p <= 1), () => `SimDiskDevice: probability ${p} out of [0, 1]`);
    }
  }

  get options(): SimDiskOptions {
    return this.faultOptions;
  }

  /** Turns off every injected fault (torn writes, corruption, EIO, ENOSPC, slow syncs) from now on. */
  quiesce(): void {
    this.faultOptions = { syncLatencyMsMin: this.faultOptions.syncLatencyMsMin ?? 0, syncLatencyMsMax: this.faultOptions.syncLatencyMsMin ?? 0 };
    this.injectedSyncFailures = 0;
  }

  /** The running process's view. One at a time: crash() closes it. */
  /**
   * `timers` (the process's clock) runs syncAsync completions in virtual time; a crash drops them
   * with the process's other timers. Without it the view has no syncAsync and the node syncs
   * synchronously.
   */
  open(timers?: Pick<Clock, 'setTimer'>): SimDisk {
    assert(this.view === undefined || this.view.closed, 'SimDiskDevice.open(): a view is already open');
    this.view = new SimDisk(this, timers);
    return this.view;
  }

  /** The next `count` sync/syncDir calls fail with EIO. */
  injectSyncFailures(count: number): void {
    this.injectedSyncFailures += count;
  }

  /** Decides whether this sync fails; consumes an injected failure first. */
  nextSyncFails(): boolean {
    if (this.injectedSyncFailures > 0) {
      this.injectedSyncFailures--;
      return true;
    }
    return this.rand.chance(this.options.syncFailProb ?? 0);
  }

  /** Process crash (or power loss): closes the view, drops what was not durable, applies faults. */
  crash(): CrashReport {
    this.view?.close();
    this.stats.crashes++;
    const torn: Array<readonly [string, number, number]> = [];
    const reverted: string[] = [];
    const seen = new Set<Inode>();
    for (const path of [...this.durableFiles.keys()].sort()) {
      const inode = this.durableFiles.get(path) as Inode;
      if (seen.has(inode)) continue;
      seen.add(inode);
      if (!inode.dirty) {
        inode.poisoned = false;
        continue;
      }
      const unsynced = inode.unsyncedAppendBytes ?? 0;
      const keep = this.tornBytes(inode);
      inode.revert(keep);
      if (keep > 0) {
        torn.push([path, keep, unsynced]);
        this.faultLog.push(`crash: ${path} kept ${keep} of ${unsynced} unsynced bytes`);
      }
      if (keep < unsynced || unsynced === 0) reverted.push(path);
    }
    this.files = new Map(this.durableFiles);
    const corrupted = this.maybeCorrupt();
    return { torn, reverted, corrupted };
  }

  /** A clean OS shutdown: everything written so far becomes durable (unless a sync failed). */
  flushAll(): void {
    for (const inode of this.files.values()) inode.sync();
    this.durableFiles = new Map(this.files);
  }

  /** The durable content of `path` (what a crash now would leave), for tests and reports. */
  durableContent(path: string): Uint8Array | undefined {
    return this.durableFiles.get(normalizePath(path))?.durable().slice();
  }

  durablePaths(): string[] {
    return [...this.durableFiles.keys()].sort();
  }

  private tornBytes(inode: Inode): number {
    const unsynced = inode.unsyncedAppendBytes;
    if (unsynced === undefined || unsynced === 0 || inode.poisoned) return 0;
    if (!this.rand.chance(this.options.tornWriteProb ?? 0)) return 0;
    return this.rand.between(0, unsynced);
  }

  private maybeCorrupt(): CrashReport['corrupted'] {
    if (!this.rand.chance(this.options.corruptionProb ?? 0)) return [];
    const accept = this.options.corruptiblePath ?? (() => true);
    const candidates = this.durablePaths().filter((p) => accept(p) && (this.durableFiles.get(p)?.size ?? 0) > 0);
    if (candidates.length === 0) return [];
    const path = this.rand.pick(candidates);
    const inode = this.durableFiles.get(path) as Inode;
    const offset = this.rand.int(inode.size);
    const bit = this.rand.int(8);
    inode.flipBit(offset, bit);
    this.faultLog.push(`crash: corrupted ${path} byte ${offset} bit ${bit}`);
    return [{ path, offset, bit }];
  }
}

/** The Disk a running node uses: a view of a SimDiskDevice until the next crash. */
export class SimDisk implements Disk {
  private isClosed = false;
  private lastSyncMs = 0;
  private owedSyncMs = 0;

  constructor(
    private readonly device: SimDiskDevice,
    timers?: Pick<Clock, 'setTimer'>,
  ) {
    if (timers !== undefined) this.syncAsync = (path, done) => this.startAsyncSync(timers, path, done);
  }

  syncAsync?: (path: string, done: (error: DiskError | undefined) => void) => void;

  /**
   * An fdatasync on another thread: it takes the sync latency in virtual time, and only when it
   * completes does the file's content (as of then) become durable. A crash before that loses the
   * unsynced writes exactly as a crash during a blocking sync would. Errors are those of sync().
   */
  private startAsyncSync(timers: Pick<Clock, 'setTimer'>, path: string, done: (error: DiskError | undefined) => void): void {
    this.file(path, 'sync');
    const latencyMs = this.drawSyncLatencyMs();
    timers.setTimer(latencyMs, () => {
      let failure: DiskError | undefined;
      try {
        this.syncNow(path);
      } catch (error) {
        if (!(error instanceof DiskError)) throw error;
        failure = error;
      }
      done(failure);
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Latency of the last sync/syncDir, in virtual ms. */
  get lastSyncLatencyMs(): number {
    return this.lastSyncMs;
  }

  /** Sync latency accumulated since the last call, for the node loop to charge; resets it. */
  takeSyncLatencyMs(): number {
    const owed = this.owedSyncMs;
    this.owedSyncMs = 0;
    return owed;
  }

  close(): void {
    this.isClosed = true;
  }

  mkdirp(dir: string): void {
    const path = this.open(dir);
    const parts = path === '' ? [] : path.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (this.device.files.has(prefix)) throw new DiskError('ENOTDIR', `mkdirp ${dir}: ${prefix} is a file`);
      this.device.dirs.add(prefix);
    }
  }

  list(dir: string): string[] {
    const path = this.open(dir);
    if (!this.device.dirs.has(path)) return [];
    const names = new Set<string>();
    for (const p of this.device.files.keys()) if (parentOf(p) === path) names.add(baseName(p));
    for (const d of this.device.dirs) if (d !== '' && parentOf(d) === path) names.add(baseName(d));
    return [...names].sort();
  }

  exists(path: string): boolean {
    const p = this.open(path);
    return this.device.files.has(p) || this.device.dirs.has(p);
  }

  size(path: string): number {
    return this.file(path, 'size').size;
  }

  read(path: string): Uint8Array {
    return this.file(path, 'read').read();
  }

  append(path: string, data: Uint8Array): void {
    const inode = this.fileForWrite(path, 'append');
    inode.append(data);
    this.device.stats.appends++;
    this.device.stats.bytesWritten += data.length;
  }

  writeFile(path: string, data: Uint8Array): void {
    this.fileForWrite(path, 'writeFile').replace(data);
    this.device.stats.bytesWritten += data.length;
  }

  truncate(path: string, size: number): void {
    assert(Number.isInteger(size) && size >= 0, () => `truncate(${path}): bad size ${size}`);
    this.file(path, 'truncate').truncate(size);
  }

  rename(from: string, to: string): void {
    const src = this.open(from);
    const dst = this.open(to);
    const inode = this.file(src, 'rename');
    if (this.device.dirs.has(dst)) throw new DiskError('EISDIR', `rename ${from} -> ${to}: target is a directory`);
    this.requireParent(dst, 'rename');
    this.device.files.delete(src);
    this.device.files.set(dst, inode);
  }

  remove(path: string): void {
    const p = this.open(path);
    if (this.device.files.delete(p)) return;
    if (p !== '' && this.device.dirs.has(p)) {
      if (this.list(p).length > 0) throw new DiskError('ENOTEMPTY', `remove ${path}`);
      this.device.dirs.delete(p);
      return;
    }
    throw new DiskError('ENOENT', `remove ${path}`);
  }

  sync(path: string): void {
    this.file(path, 'sync');
    this.chargeSync();
    this.syncNow(path);
  }

  private syncNow(path: string): void {
    const inode = this.file(path, 'sync');
    this.device.stats.syncs++;
    if (this.device.nextSyncFails()) {
      inode.poisoned = true;
      this.device.stats.syncFailures++;
      this.device.faultLog.push(`sync ${this.open(path)}: EIO (dirty pages dropped)`);
      throw new DiskError('EIO', `sync ${path}`);
    }
    inode.sync();
  }

  syncDir(dir: string): void {
    const d = this.open(dir);
    if (!this.device.dirs.has(d)) throw new DiskError('ENOENT', `syncDir ${dir}`);
    this.chargeSync();
    this.device.stats.syncDirs++;
    if (this.device.nextSyncFails()) {
      this.device.stats.syncFailures++;
      this.device.faultLog.push(`syncDir ${d}: EIO`);
      throw new DiskError('EIO', `syncDir ${dir}`);
    }
    const durable = this.device.durableFiles;
    for (const p of [...durable.keys()]) if (parentOf(p) === d && !this.device.files.has(p)) durable.delete(p);
    for (const [p, inode] of this.device.files) if (parentOf(p) === d) durable.set(p, inode);
  }

  private open(path: string): string {
    if (this.isClosed) throw new DiskError('EBADF', `disk closed by a crash (${path})`);
    return normalizePath(path);
  }

  private file(path: string, op: string): Inode {
    const p = this.open(path);
    const inode = this.device.files.get(p);
    if (inode !== undefined) return inode;
    if (this.device.dirs.has(p)) throw new DiskError('EISDIR', `${op} ${path}`);
    throw new DiskError('ENOENT', `${op} ${path}`);
  }

  private fileForWrite(path: string, op: string): Inode {
    const p = this.open(path);
    if (this.device.rand.chance(this.device.options.writeFailProb ?? 0)) {
      this.device.stats.writeFailures++;
      this.device.faultLog.push(`${op} ${p}: ENOSPC`);
      throw new DiskError('ENOSPC', `${op} ${path}`);
    }
    const existing = this.device.files.get(p);
    if (existing !== undefined) return existing;
    if (this.device.dirs.has(p)) throw new DiskError('EISDIR', `${op} ${path}`);
    this.requireParent(p, op);
    const inode = new Inode();
    this.device.files.set(p, inode);
    return inode;
  }

  private requireParent(path: string, op: string): void {
    if (!this.device.dirs.has(parentOf(path))) throw new DiskError('ENOENT', `${op} ${path}: no directory ${parentOf(path)}`);
  }

  private chargeSync(): void {
    this.owedSyncMs += this.drawSyncLatencyMs();
  }

  private drawSyncLatencyMs(): number {
    const o = this.device.options;
    const min = o.syncLatencyMsMin ?? 0;
    const max = o.syncLatencyMsMax ?? min;
    let ms = min === max ? min : this.device.rand.between(min, max);
    if (this.device.rand.chance(o.slowSyncProb ?? 0)) ms += this.device.rand.between(0, o.slowSyncMsMax ?? 0);
    this.lastSyncMs = ms;
    return ms;
  }
}
