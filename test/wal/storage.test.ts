import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRand } from '../../src/util/index.js';
import { nodeId } from '../../src/util/index.js';
import { SimDiskDevice } from '../../sim/index.js';
import type { Snapshot } from '../../src/raft/types.js';
import { NodeStorage } from '../../src/wal/index.js';
import { CrashDisk, META, SNAP_DIR, entries, flipByte, hs, tempRoot } from './helpers.js';

function snap(index: number, term: number): Snapshot {
  return {
    meta: { index, term, confState: { voters: [nodeId('000000000000000a')], learners: [] } },
    data: new Uint8Array([index & 0xff, term & 0xff, 42]),
  };
}

let root: string;
let cleanup: () => void;
beforeEach(() => {
  ({ root, cleanup } = tempRoot('storage'));
});
afterEach(() => cleanup());

describe('NodeStorage', () => {
  it('creates on first boot and restores hard state, snapshot and entries on the next', () => {
    const disk = new CrashDisk(root);
    const first = NodeStorage.boot(disk, META, { segmentSizeBytes: 512 });
    expect(first.created).toBe(true);
    expect(first.entries).toEqual([]);
    const storage = first.storage;
    for (let i = 1; i <= 40; i += 4) {
      storage.persist({ hardState: hs(1, i + 3, 'a'), entries: entries(i, i + 3, 1, 50), mustSync: true });
      if (i % 12 === 1 && i > 1) storage.saveLocalSnapshot(snap(i - 1, 1));
    }
    storage.persist({ entries: entries(41, 42, 1), mustSync: false }); // lost in the crash
    disk.crash();
    const second = NodeStorage.boot(disk, { nodeId: nodeId('zz'), clusterId: 'other' }, { segmentSizeBytes: 512 });
    expect(second.created).toBe(false);
    expect(second.metadata).toEqual(META);
    expect(second.snapshot).toEqual(snap(36, 1));
    expect(second.hardState).toEqual(hs(1, 40, 'a'));
    expect(second.entries).toEqual(entries(37, 40, 1, 50));
  });

  it('persists an installed snapshot so discarded entries stay gone', () => {
    const disk = new CrashDisk(root);
    const { storage } = NodeStorage.boot(disk, META);
    storage.persist({ hardState: hs(2, 3), entries: entries(1, 8, 2), mustSync: true });
    storage.persist({ hardState: hs(3, 20), entries: [], snapshot: snap(20, 3), mustSync: true });
    storage.persist({ hardState: hs(3, 21), entries: entries(21, 21, 3), mustSync: true });
    disk.crash();
    const boot = NodeStorage.boot(disk, META);
    expect(boot.snapshot?.meta.index).toBe(20);
    expect(boot.entries).toEqual(entries(21, 21, 3));
    expect(boot.hardState).toEqual(hs(3, 21));
  });

  it('falls back to an older snapshot when the newest file is corrupt, replaying the WAL from it', () => {
    const disk = new CrashDisk(root);
    const { storage } = NodeStorage.boot(disk, META, { segmentSizeBytes: 256 });
    for (let i = 1; i <= 30; i++) {
      storage.persist({ hardState: hs(1, i), entries: entries(i, i, 1, 40), mustSync: true });
      if (i % 10 === 0) storage.saveLocalSnapshot(snap(i, 1));
    }
    storage.close();
    const newest = disk.list(SNAP_DIR).filter((n) => n.endsWith('.snap')).at(-1) as string;
    flipByte(disk, `${SNAP_DIR}/${newest}`, 10);
    const boot = NodeStorage.boot(disk, META, { segmentSizeBytes: 256 });
    expect(boot.snapSkipped.map((s) => s.file)).toEqual([newest]);
    expect(boot.snapshot?.meta.index).toBe(20);
    expect(boot.entries).toEqual(entries(21, 30, 1, 40));
  });

  it('ignores a snapshot file whose WAL marker never made it (crash in between) on SimDisk', () => {
    const device = new SimDiskDevice(createRand(3));
    const disk = device.open();
    const { storage } = NodeStorage.boot(disk, META);
    storage.persist({ hardState: hs(1, 5), entries: entries(1, 5, 1), mustSync: true });
    storage.saveLocalSnapshot(snap(3, 1));
    storage.snaps.save(snap(5, 1)); // the process dies before the marker
    device.crash();
    const boot = NodeStorage.boot(device.open(), META);
    expect(boot.snapshot?.meta.index).toBe(3);
    expect(boot.entries).toEqual(entries(4, 5, 1));
  });
});
