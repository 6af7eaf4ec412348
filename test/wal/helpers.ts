import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeDisk } from '../../src/env/node/index.js';
import type { Disk } from '../../src/env/index.js';
import type { Entry, HardState } from '../../src/raft/types.js';
import { nodeId } from '../../src/util/index.js';
import type { WalMetadata } from '../../src/wal/index.js';

export const META: WalMetadata = { nodeId: nodeId('000000000000000a'), clusterId: 'cdf818194e3a8c32' };
export const WAL_DIR = 'member/wal';
export const SNAP_DIR = 'member/snap';

export function tempRoot(label: string): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), `tsetcd-${label}-`));
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Deterministic payload bytes, different for each (index, term). */
export function entry(index: number, term: number, dataBytes = 16): Entry {
  const data = new Uint8Array(dataBytes);
  for (let i = 0; i < dataBytes; i++) data[i] = (index * 31 + term * 7 + i) & 0xff;
  return { index, term, type: 'normal', data };
}

export function entries(from: number, to: number, term: number, dataBytes = 16): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term, dataBytes));
  return out;
}

export function hs(term: number, commit: number, vote = ''): HardState {
  return { term, commit, vote: vote as HardState['vote'] };
}

/**
 * NodeDisk plus the crash model the simulator uses: data is durable only after sync(path).
 * crash() truncates every file back to its synced length, optionally keeping a prefix of the
 * unsynced bytes (a torn write).
 */
export class CrashDisk implements Disk {
  readonly inner: NodeDisk;
  private readonly syncedBytes = new Map<string, number>();
  private readonly touched = new Set<string>();

  constructor(root: string) {
    this.inner = new NodeDisk(root);
  }

  mkdirp(dir: string): void {
    this.inner.mkdirp(dir);
  }
  list(dir: string): string[] {
    return this.inner.list(dir);
  }
  exists(path: string): boolean {
    return this.inner.exists(path);
  }
  size(path: string): number {
    return this.inner.size(path);
  }
  read(path: string): Uint8Array {
    return this.inner.read(path);
  }
  append(path: string, data: Uint8Array): void {
    this.touched.add(path);
    this.inner.append(path, data);
  }
  writeFile(path: string, data: Uint8Array): void {
    this.touched.add(path);
    this.syncedBytes.set(path, 0);
    this.inner.writeFile(path, data);
  }
  truncate(path: string, size: number): void {
    this.inner.truncate(path, size);
    const synced = this.syncedBytes.get(path);
    if (synced !== undefined && synced > size) this.syncedBytes.set(path, size);
  }
  rename(from: string, to: string): void {
    this.inner.rename(from, to);
    const synced = this.syncedBytes.get(from);
    this.syncedBytes.delete(from);
    if (synced === undefined) this.syncedBytes.delete(to);
    else this.syncedBytes.set(to, synced);
    if (this.touched.delete(from)) this.touched.add(to);
  }
  remove(path: string): void {
    this.inner.remove(path);
    this.syncedBytes.delete(path);
    this.touched.delete(path);
  }
  sync(path: string): void {
    this.inner.sync(path);
    this.syncedBytes.set(path, this.inner.size(path));
  }
  syncDir(dir: string): void {
    this.inner.syncDir(dir);
  }

  syncedSize(path: string): number {
    return this.syncedBytes.get(path) ?? 0;
  }

  /** Drops unsynced bytes; `keepUnsynced(path, unsyncedBytes)` picks how many survive. */
  crash(keepUnsynced: (path: string, unsyncedBytes: number) => number = () => 0): void {
    for (const path of this.touched) {
      if (!this.inner.exists(path)) continue;
      const size = this.inner.size(path);
      const synced = Math.min(this.syncedBytes.get(path) ?? 0, size);
      const keep = Math.min(keepUnsynced(path, size - synced), size - synced);
      this.inner.truncate(path, synced + keep);
      // What survived a crash is on the platter now.
      this.syncedBytes.set(path, synced + keep);
    }
    this.inner.close();
  }
}

/** Flips one byte of a file in place. */
export function flipByte(disk: Disk, path: string, offset: number): void {
  const bytes = disk.read(path).slice();
  bytes[offset] = (bytes[offset] as number) ^ 0x5a;
  disk.writeFile(path, bytes);
}

export function segmentPaths(disk: Disk): string[] {
  return disk
    .list(WAL_DIR)
    .filter((n) => n.endsWith('.wal'))
    .map((n) => `${WAL_DIR}/${n}`);
}

/** Thrown by CountdownDisk: the process dies in the middle of a WAL call. */
export class SimulatedCrash extends Error {}

/** Passes calls through until its budget of mutating calls runs out, then "crashes". */
export class CountdownDisk implements Disk {
  budget: number | undefined;
  constructor(public inner: Disk) {}
  private spend(): void {
    if (this.budget === undefined) return;
    this.budget--;
    if (this.budget <= 0) {
      this.budget = undefined;
      throw new SimulatedCrash();
    }
  }
  mkdirp(dir: string): void {
    this.spend();
    this.inner.mkdirp(dir);
  }
  list(dir: string): string[] {
    return this.inner.list(dir);
  }
  exists(path: string): boolean {
    return this.inner.exists(path);
  }
  size(path: string): number {
    return this.inner.size(path);
  }
  read(path: string): Uint8Array {
    return this.inner.read(path);
  }
  append(path: string, data: Uint8Array): void {
    this.spend();
    this.inner.append(path, data);
  }
  writeFile(path: string, data: Uint8Array): void {
    this.spend();
    this.inner.writeFile(path, data);
  }
  truncate(path: string, size: number): void {
    this.spend();
    this.inner.truncate(path, size);
  }
  rename(from: string, to: string): void {
    this.spend();
    this.inner.rename(from, to);
  }
  remove(path: string): void {
    this.spend();
    this.inner.remove(path);
  }
  sync(path: string): void {
    this.spend();
    this.inner.sync(path);
  }
  syncDir(dir: string): void {
    this.spend();
    this.inner.syncDir(dir);
  }
}

