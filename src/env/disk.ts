/**
 * The node's data directory. Paths are relative to it, '/'-separated. Synchronous on purpose,
 * with one exception: the node loop persists a Ready before it sends, and a synchronous API keeps
 * the simulator deterministic without extra scheduling. The exception is syncAsync, the WAL's
 * fdatasync off the loop's thread (completed by a timer on virtual time in the simulator), so a
 * member keeps reading requests while its log syncs. When data is durable is explicit:
 *
 * - `append`, `writeFile`, `truncate` change the file's content at once for readers, but the
 *   change is durable only after `sync(path)`. A crash loses unsynced changes (and may tear the
 *   last unsynced append).
 * - `rename`, `remove` and file creation are durable only after `syncDir(dir)` of the parent.
 *
 * Errors are thrown as DiskError with a code ('ENOENT', 'EIO', 'ENOSPC', ...).
 */
export class DiskError extends Error {
  override readonly name = 'DiskError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export interface Disk {
  mkdirp(dir: string): void;
  /** File names (not paths) directly inside `dir`, sorted; [] if it does not exist. */
  list(dir: string): string[];
  exists(path: string): boolean;
  size(path: string): number;
  read(path: string): Uint8Array;
  /** Appends, creating the file if missing. */
  append(path: string, data: Uint8Array): void;
  /** Creates or replaces the whole file's content. */
  writeFile(path: string, data: Uint8Array): void;
  truncate(path: string, size: number): void;
  rename(from: string, to: string): void;
  remove(path: string): void;
  sync(path: string): void;
  /**
   * sync(path) without blocking the caller: `done` runs later (never synchronously) once the
   * file's content as of some moment after the call is durable, or with the error sync would
   * have thrown. The node loop uses it to take the WAL's fdatasync off its thread and keep
   * accepting requests meanwhile. Optional: without it the node syncs synchronously.
   */
  syncAsync?(path: string, done: (error: DiskError | undefined) => void): void;
  syncDir(dir: string): void;
}
