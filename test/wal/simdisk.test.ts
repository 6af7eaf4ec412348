import { describe, expect, it } from 'vitest';
import { DiskError } from '../../src/env/index.js';
import type { Disk } from '../../src/env/index.js';
import { createRand } from '../../src/util/index.js';
import { SimDiskDevice } from '../../sim/index.js';
import { NodeStorage, SnapStore, Wal, WalError } from '../../src/wal/index.js';
import { CountdownDisk, META, SNAP_DIR, SimulatedCrash, WAL_DIR, entries, hs } from './helpers.js';

const NO_SNAP = { index: 0, term: 0 };

describe('Wal over SimDisk', () => {
  it('treats EIO from fsync as fatal; a reopen after the crash sees only what was durable', () => {
    const device = new SimDiskDevice(createRand(7));
    const wal = Wal.create(device.open(), WAL_DIR, META);
    wal.save(hs(1, 2), entries(1, 3, 1), true);
    device.injectSyncFailures(1);
    expect(() => wal.save(hs(1, 3), entries(4, 6, 1), true)).toThrow(DiskError);
    // Linux dropped the dirty pages: a later "successful" sync would persist nothing.
    expect(() => wal.save(hs(1, 3), [], true)).toThrow(WalError);
    expect(() => wal.sync()).toThrow(/failed earlier/);
    wal.close();
    device.crash();
    const disk = device.open();
    const opened = Wal.open(disk, WAL_DIR, NO_SNAP);
    expect(opened.entries).toEqual(entries(1, 3, 1));
    expect(opened.hardState).toEqual(hs(1, 2));
    opened.wal.save(hs(1, 5), entries(4, 5, 1), true);
    expect(Wal.open(disk, WAL_DIR, NO_SNAP).entries).toEqual(entries(1, 5, 1));
  });

  it('treats ENOSPC on append as fatal too', () => {
    const device = new SimDiskDevice(createRand(8));
    const disk = device.open();
    let appendsFail = false;
    // SimDisk's ENOSPC is random; this wrapper fails every append while the flag is set.
    const flaky: Disk = Object.assign(Object.create(disk) as Disk, {
      append(path: string, data: Uint8Array): void {
        if (appendsFail) throw new DiskError('ENOSPC', `append ${path}`);
        disk.append(path, data);
      },
    });
    const wal = Wal.create(flaky, WAL_DIR, META);
    wal.save(hs(1, 1), entries(1, 2, 1), true);
    appendsFail = true;
    expect(() => wal.save(hs(1, 2), entries(3, 3, 1), true)).toThrow(/ENOSPC/);
    appendsFail = false;
    expect(() => wal.save(hs(1, 2), entries(3, 3, 1), true)).toThrow(/failed earlier/);
    const reopened = Wal.open(disk, WAL_DIR, NO_SNAP);
    expect(reopened.entries).toEqual(entries(1, 2, 1));
    reopened.wal.save(hs(1, 2), entries(3, 3, 1), true);
    expect(Wal.open(disk, WAL_DIR, NO_SNAP).entries).toEqual(entries(1, 3, 1));
  });

  it('keeps segments and snapshots durable across crashes (names need syncDir on SimDisk)', () => {
    const device = new SimDiskDevice(createRand(11));
    let disk = device.open();
    const wal = Wal.create(disk, WAL_DIR, META, { segmentSizeBytes: 300 });
    for (let i = 1; i <= 30; i += 3) wal.save(hs(1, i + 2), entries(i, i + 2, 1, 40), true);
    const store = new SnapStore(disk, SNAP_DIR);
    store.save({ meta: { index: 20, term: 1, confState: { voters: [], learners: [] } }, data: new Uint8Array([1]) });
    wal.saveSnapshotMarker({ index: 20, term: 1 });
    wal.releaseTo(20);
    device.crash();
    disk = device.open();
    const markers = Wal.snapshotMarkers(disk, WAL_DIR);
    const loaded = new SnapStore(disk, SNAP_DIR).loadNewest((m) => markers.some((k) => k.index === m.index));
    expect(loaded.snapshot?.meta.index).toBe(20);
    const opened = Wal.open(disk, WAL_DIR, { index: 20, term: 1 }, { segmentSizeBytes: 300 });
    expect(opened.entries).toEqual(entries(21, 30, 1, 40));
  });

  it('boots after a crash at any point of creating the WAL', () => {
    for (let calls = 1; calls <= 8; calls++) {
      const device = new SimDiskDevice(createRand(100 + calls), { tornWriteProb: 1 });
      const disk = new CountdownDisk(device.open());
      disk.budget = calls;
      let crashed = false;
      try {
        NodeStorage.boot(disk, META).storage.persist({ hardState: hs(1, 1), entries: entries(1, 1, 1), mustSync: true });
      } catch (error) {
        if (!(error instanceof SimulatedCrash)) throw error;
        crashed = true;
      }
      expect(crashed).toBe(true);
      device.crash();
      const boot = NodeStorage.boot(device.open(), META);
      boot.storage.persist({ hardState: hs(1, 2), entries: entries(1, 2, 1), mustSync: true });
      device.crash();
      expect(NodeStorage.boot(device.open(), META).entries).toEqual(entries(1, 2, 1));
    }
  });
});
