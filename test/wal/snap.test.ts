import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NodeDisk } from '../../src/env/node/index.js';
import type { Snapshot } from '../../src/raft/types.js';
import { nodeId } from '../../src/util/index.js';
import { SnapStore, Wal, snapFileName } from '../../src/wal/index.js';
import { META, SNAP_DIR, WAL_DIR, entries, flipByte, hs, tempRoot } from './helpers.js';

function snap(index: number, term: number, dataBytes = 64): Snapshot {
  const data = new Uint8Array(dataBytes).map((_, i) => (index + i) & 0xff);
  return { meta: { index, term, confState: { voters: [nodeId('1'), nodeId('2')], learners: [nodeId('3')] } }, data };
}

let root: string;
let cleanup: () => void;
beforeEach(() => {
  ({ root, cleanup } = tempRoot('snap'));
});
afterEach(() => cleanup());

describe('SnapStore', () => {
  it('saves under etcd-style names and loads the newest', () => {
    const disk = new NodeDisk(root);
    const store = new SnapStore(disk, SNAP_DIR);
    expect(store.loadNewest()).toEqual({ skipped: [] });
    store.save(snap(10, 1));
    store.save(snap(25, 2));
    store.save(snap(20, 2));
    expect(disk.list(SNAP_DIR)).toEqual([
      '0000000000000001-000000000000000a.snap',
      '0000000000000002-0000000000000014.snap',
      '0000000000000002-0000000000000019.snap',
    ]);
    const loaded = store.loadNewest();
    expect(loaded.snapshot).toEqual(snap(25, 2));
    expect(loaded.file).toBe(snapFileName({ index: 25, term: 2 }));
    expect(loaded.skipped).toEqual([]);
  });

  it('skips and reports corrupt snapshots, falling back to an older valid one', () => {
    const disk = new NodeDisk(root);
    const store = new SnapStore(disk, SNAP_DIR);
    store.save(snap(10, 1));
    store.save(snap(20, 1));
    const newest = store.save(snap(30, 1));
    flipByte(disk, `${SNAP_DIR}/${newest}`, 40);
    const truncated = store.save(snap(40, 1));
    disk.truncate(`${SNAP_DIR}/${truncated}`, 5);
    const loaded = store.loadNewest();
    expect(loaded.snapshot).toEqual(snap(20, 1));
    expect(loaded.skipped.map((s) => s.file)).toEqual([truncated, newest]);
    expect(loaded.skipped[1]?.reason).toMatch(/crc/);
    // The broken files are set aside so the next start does not trip over them.
    expect(disk.list(SNAP_DIR)).toContain(`${newest}.broken`);
    expect(store.loadNewest().skipped).toEqual([]);
  });

  it('rejects a file whose content does not match its name', () => {
    const disk = new NodeDisk(root);
    const store = new SnapStore(disk, SNAP_DIR);
    store.save(snap(10, 1));
    const name = store.save(snap(20, 1));
    disk.rename(`${SNAP_DIR}/${name}`, `${SNAP_DIR}/${snapFileName({ index: 30, term: 1 })}`);
    const loaded = store.loadNewest();
    expect(loaded.snapshot?.meta.index).toBe(10);
    expect(loaded.skipped[0]?.reason).toMatch(/name/);
  });

  it('loads only snapshots the WAL has a committed marker for', () => {
    const disk = new NodeDisk(root);
    const store = new SnapStore(disk, SNAP_DIR);
    const wal = Wal.create(disk, WAL_DIR, META);
    wal.save(hs(1, 8), entries(1, 8, 1), true);
    store.save(snap(5, 1));
    wal.saveSnapshotMarker({ index: 5, term: 1 });
    // Crash window: the snapshot file is durable but its WAL marker was never written.
    store.save(snap(8, 1));
    const markers = Wal.snapshotMarkers(disk, WAL_DIR);
    const loaded = store.loadNewest((m) => markers.some((k) => k.index === m.index && k.term === m.term));
    expect(loaded.snapshot?.meta.index).toBe(5);
    expect(Wal.open(disk, WAL_DIR, { index: 5, term: 1 }).entries).toEqual(entries(6, 8, 1));
  });

  it('purge keeps the newest files and removes temp leftovers', () => {
    const disk = new NodeDisk(root);
    const store = new SnapStore(disk, SNAP_DIR);
    for (let i = 1; i <= 5; i++) store.save(snap(i * 10, 1));
    disk.writeFile(`${SNAP_DIR}/0000000000000001-0000000000000063.snap.tmp`, new Uint8Array(3));
    const removed = store.purge(2);
    expect(removed).toHaveLength(4);
    expect(store.list().map((f) => f.index)).toEqual([50, 40]);
    expect(disk.list(SNAP_DIR).some((n) => n.endsWith('.tmp'))).toBe(false);
  });
});
