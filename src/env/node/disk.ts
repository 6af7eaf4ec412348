import * as fs from 'node:fs';
import * as path from 'node:path';
import { assert } from '../../util/index.js';
import { DiskError } from '../disk.js';
import type { Disk } from '../disk.js';

/**
 * Disk over a real directory with synchronous fs calls. Appended files keep an O_APPEND file
 * descriptor open and cached, so an append is one write(2) and a sync is one fdatasync(2) on it.
 * Paths are relative to `root` and may not escape it.
 */
export class NodeDisk implements Disk {
  private readonly root: string;
  /** Relative path -> O_APPEND descriptor of files we have appended to. */
  private readonly appendFds = new Map<string, number>();

  constructor(root: string) {
    this.root = path.resolve(root);
    fs.mkdirSync(this.root, { recursive: true });
  }

  mkdirp(dir: string): void {
    wrap(() => fs.mkdirSync(this.abs(dir), { recursive: true }));
  }

  list(dir: string): string[] {
    try {
      return fs.readdirSync(this.abs(dir)).sort();
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw toDiskError(error);
    }
  }

  exists(p: string): boolean {
    return fs.existsSync(this.abs(p));
  }

  size(p: string): number {
    return wrap(() => fs.statSync(this.abs(p)).size);
  }

  read(p: string): Uint8Array {
    const buf = wrap(() => fs.readFileSync(this.abs(p)));
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  append(p: string, data: Uint8Array): void {
    const fd = this.appendFd(p);
    let writtenBytes = 0;
    // writeSync may write less than asked (rare on regular files); loop until done.
    while (writtenBytes < data.length) {
      writtenBytes += wrap(() => fs.writeSync(fd, data, writtenBytes, data.length - writtenBytes));
    }
  }

  writeFile(p: string, data: Uint8Array): void {
    wrap(() => fs.writeFileSync(this.abs(p), data));
  }

  truncate(p: string, size: number): void {
    assert(Number.isSafeInteger(size) && size >= 0, `truncate ${p}: bad size ${size}`);
    const fd = this.appendFds.get(p);
    if (fd !== undefined) wrap(() => fs.ftruncateSync(fd, size));
    else wrap(() => fs.truncateSync(this.abs(p), size));
  }

  rename(from: string, to: string): void {
    this.closeFd(from);
    this.closeFd(to);
    wrap(() => fs.renameSync(this.abs(from), this.abs(to)));
  }

  /** Removes a file or an empty directory (never recursively, as SimDisk). */
  remove(p: string): void {
    this.closeFd(p);
    const full = this.abs(p);
    wrap(() => (fs.statSync(full).isDirectory() ? fs.rmdirSync(full) : fs.unlinkSync(full)));
  }

  sync(p: string): void {
    const cached = this.appendFds.get(p);
    if (cached !== undefined) {
      wrap(() => fs.fdatasyncSync(cached));
      return;
    }
    // fdatasync flushes the inode's data whichever descriptor it is called on.
    const fd = wrap(() => fs.openSync(this.abs(p), 'r'));
    try {
      wrap(() => fs.fdatasyncSync(fd));
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * fdatasync on libuv's thread pool. Only appended files (the WAL) have a cached descriptor to
   * sync this way; anything else syncs at once and reports on the next turn. A descriptor closed
   * while its sync is in flight (shutdown) reports EBADF, which the stopped node ignores.
   */
  syncAsync(p: string, done: (error: DiskError | undefined) => void): void {
    const cached = this.appendFds.get(p);
    if (cached === undefined) {
      let failure: DiskError | undefined;
      try {
        this.sync(p);
      } catch (error) {
        if (!(error instanceof DiskError)) throw error;
        failure = error;
      }
      setImmediate(() => done(failure));
      return;
    }
    fs.fdatasync(cached, (error) => done(error ? toDiskError(error) : undefined));
  }

  syncDir(dir: string): void {
    const fd = wrap(() => fs.openSync(this.abs(dir), 'r'));
    try {
      wrap(() => fs.fsyncSync(fd));
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Closes every cached descriptor. The disk stays usable; later appends reopen. */
  close(): void {
    for (const p of [...this.appendFds.keys()]) this.closeFd(p);
  }

  /** Number of cached append descriptors (for tests). */
  openFdCount(): number {
    return this.appendFds.size;
  }

  private appendFd(p: string): number {
    let fd = this.appendFds.get(p);
    if (fd === undefined) {
      fd = wrap(() => fs.openSync(this.abs(p), 'a'));
      this.appendFds.set(p, fd);
    }
    return fd;
  }

  private closeFd(p: string): void {
    const fd = this.appendFds.get(p);
    if (fd === undefined) return;
    this.appendFds.delete(p);
    fs.closeSync(fd);
  }

  private abs(p: string): string {
    assert(!path.isAbsolute(p), `disk path must be relative: ${p}`);
    const full = path.resolve(this.root, p);
    assert(
      full === this.root || full.startsWith(this.root + path.sep),
      `disk path escapes the data dir: ${p}`,
    );
    return full;
  }
}

function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function toDiskError(error: unknown): DiskError {
  if (error instanceof DiskError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DiskError(errorCode(error) ?? 'EIO', message);
}

/** Turns the OS's errors into DiskError; anything else (an assertion) passes through. */
function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (errorCode(error) === undefined) throw error;
    throw toDiskError(error);
  }
}
