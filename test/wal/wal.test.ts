import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AssertionError } from '../../src/util/index.js';
import { NodeDisk } from '../../src/env/node/index.js';
import { Wal, WalCorruptError, WalError, parseSegmentName } from '../../src/wal/index.js';
import { CrashDisk, META, WAL_DIR, entries, entry, flipByte, hs, segmentPaths, tempRoot } from './helpers.js';

const NO_SNAP = { index: 0, term: 0 };

let root: string;
let cleanup: () => void;
beforeEach(() => {
  ({ root, cleanup } = tempRoot('wal'));
});
afterEach(() => cleanup());

describe('Wal round trip', () => {
  it('reads back metadata, hard state and entries after close and reopen', () => {
    const disk = new NodeDisk(root);
    const wal = Wal.create(disk, WAL_DIR, META);
    wal.save(hs(1, 0, '000000000000000a'), entries(1, 3, 1), true);
    wal.save(hs(1, 2, '000000000000000a'), entries(4, 10, 1, 100), true);
    wal.close();
    disk.close();

    const reopened = Wal.open(new NodeDisk(root), WAL_DIR, NO_SNAP);
    expect(reopened.metadata).toEqual(META);
    expect(reopened.hardState).toEqual(hs(1, 2, '000000000000000a'));
    expect(reopened.entries).toEqual([...entries(1, 3, 1), ...entries(4, 10, 1, 100)]);
    expect(reopened.repaired).toBeUndefined();
    expect(reopened.wal.lastIndex()).toBe(10);
  });

  it('returns an empty hard state and no entries for a fresh WAL', () => {
    const disk = new NodeDisk(root);
    Wal.create(disk, WAL_DIR, META).close();
    const opened = Wal.open(disk, WAL_DIR, NO_SNAP);
    expect(opened.entries).toEqual([]);
    expect(opened.hardState).toEqual(hs(0, 0));
    expect(Wal.exists(disk, WAL_DIR)).toBe(true);
    expect(Wal.exists(disk, 'member/other')).toBe(false);
  });

  it('refuses to create over an existing WAL', () => {
    const disk = new NodeDisk(root);
    Wal.create(disk, WAL_DIR, META).close();
    expect(() => Wal.create(disk, WAL_DIR, META)).toThrow(WalError);
  });

  it('keeps appending after reopen, and a second reopen sees both halves', () => {
    const disk = new NodeDisk(root);
    Wal.create(disk, WAL_DIR, META).save(hs(1, 1), entries(1, 5, 1), true);
    const first = Wal.open(disk, WAL_DIR, NO_SNAP);
    first.wal.save(hs(2, 5), entries(6, 8, 2), true);
    const second = Wal.open(disk, WAL_DIR, NO_SNAP);
    expect(second.entries).toEqual([...entries(1, 5, 1), ...entries(6, 8, 2)]);
    expect(second.hardState).toEqual(hs(2, 5));
  });

  it('restart reads back exactly what was synced, and nothing unsynced', () => {
    const disk = new CrashDisk(root);
    const wal = Wal.create(disk, WAL_DIR, META);
    wal.save(hs(1, 2), entries(1, 4, 1), true);
    wal.save(hs(1, 4), entries(5, 9, 1), false);
    disk.crash();
    const opened = Wal.open(disk, WAL_DIR, NO_SNAP);
    expect(opened.entries).toEqual(entries(1, 4, 1));
    expect(opened.hardState).toEqual(hs(1, 2));
    expect(opened.repaired).toBeUndefined();
  });

  it('lifts the hard state term to a surviving entry whose hard state was torn off', () => {
    const disk = new CrashDisk(root);
    const wal = Wal.create(disk, WAL_DIR, META);
    wal.save(hs(1, 1, 'a'), entries(1, 2, 1), true);
    const [file] = segmentPaths(disk);
    const before = disk.size(file as string);
    wal.save(hs(2, 2), [entry(3, 2, 30)], false);
    const entryRecordBytes = 12 + 3 + 30 + 3; // header, type/term/index varints, data, padding
    // The crash keeps the entry record but tears the hard state record after it.
    disk.crash(() => entryRecordBytes + 5);
    const opened = Wal.open(disk, WAL_DIR, NO_SNAP);
    expect(opened.repaired).toMatchObject({ offset: before + entryRecordBytes, droppedBytes: 5 });
    expect(opened.entries.map((e) => e.term)).toEqual([1, 1, 2]);
    expect(opened.hardState).toEqual(hs(2, 1));
    // The lifted state was written and synced: a crash now does not take the term back.
    expect(disk.size(file as string)).toBeGreaterThan(before + entryRecordBytes);
    disk.crash();
    expect(Wal.open(disk, WAL_DIR, NO_SNAP).hardState).toEqual(hs(2, 1));
    opened.wal.save(undefined, [entry(4, 2)], true);
  });

  it('replaces a conflicting suffix on reopen', () => {
    const disk = new NodeDisk(root);
    const wal = Wal.create(disk, WAL_DIR, META);
    wal.save(hs(1, 3), entries(1, 6, 1), true);
    // A new leader at term 2 replaces 4..6 with a shorter log, then extends it.
    wal.save(hs(2, 3), entries(4, 5, 2), true);
    wal.save(undefined, entries(6, 7, 2), true);
    const opened = Wal.open(disk, WAL_DIR, NO_SNAP);
    expect(opened.entries).toEqual([...entries(1, 3, 1), ...entries(4, 7, 2)]);
    // And a replacement shorter than what it replaces drops the rest.
    opened.wal.save(hs(3, 3), [entry(5, 3)], true);
    expect(Wal.open(disk, WAL_DIR, NO_SNAP).entries).toEqual([
      ...entries(1, 3, 1),
      entry(4, 2),
      entry(5, 3),
    ]);
  });
});

describe('Wal assertions', () => {
  function fresh(): Wal {
    const wal = Wal.create(new NodeDisk(root), WAL_DIR, META);
    wal.save(hs(2, 3), entries(1, 5, 2), true);
    return wal;
  }

  it('rejects non-contiguous entries and gaps', () => {
    const wal = fresh();
    expect(() => wal.save(undefined, [entry(6, 2), entry(8, 2)], false)).toThrow(AssertionError);
    expect(() => wal.save(undefined, [entry(7, 2)], false)).toThrow(AssertionError);
  });

  it('rejects overwriting committed entries', () => {
    const wal = fresh();
    expect(() => wal.save(hs(3, 3), [entry(3, 3)], false)).toThrow(/committed/);
    wal.save(hs(3, 3), [entry(4, 3)], false); // 4 > commit 3 is fine
  });

  it('rejects commit beyond the last index, a term going back, a changed vote, entries above term', () => {
    const wal = fresh();
    expect(() => wal.save(hs(2, 6), [], false)).toThrow(/beyond the last index/);
    expect(() => wal.save(hs(1, 3), [], false)).toThrow(/term goes back/);
    wal.save(hs(4, 3, 'a'), [], false);
    expect(() => wal.save(hs(4, 3, 'b'), [], false)).toThrow(/vote changed/);
    expect(() => wal.save(undefined, [entry(6, 5)], false)).toThrow(/above the current term/);
    expect(() => wal.save(hs(4, 2, 'a'), [], false)).toThrow(/commit goes back/);
  });
});

describe('Wal torn tail repair', () => {
  /** A WAL whose last record is an entry; returns the file and the record's byte range. */
  function walWithLastRecord(disk: NodeDisk): { file: string; start: number; end: number } {
    const wal = Wal.create(disk, WAL_DIR, META);
    wal.save(hs(1, 0), entries(1, 3, 1), true);
    const [file] = segmentPaths(disk);
    const start = disk.size(file as string);
    wal.save(undefined, [entry(4, 1, 40)], true);
    const end = disk.size(file as string);
    wal.close();
    return { file: file as string, start, end };
  }

  it('cuts the last record torn at every byte offset, and reports it', () => {
    const disk = new NodeDisk(root);
    const { file, start, end } = walWithLastRecord(disk);
    const pristine = disk.read(file).slice();
    expect(end - start).toBeGreaterThan(40);
    for (let cut = start; cut < end; cut++) {
      disk.writeFile(file, pristine.subarray(0, cut));
      const opened = Wal.open(disk, WAL_DIR, NO_SNAP);
      expect(opened.entries).toEqual(entries(1, 3, 1));
      if (cut === start) {
        expect(opened.repaired).toBeUndefined();
      } else {
        expect(opened.repaired).toMatchObject({ file, offset: start, droppedBytes: cut - start });
      }
      expect(disk.size(file)).toBe(start);
    }
    // After a repair, appends continue where the valid data ended.
    const reopened = Wal.open(disk, WAL_DIR, NO_SNAP);
    reopened.wal.save(undefined, [entry(4, 1, 8)], true);
    expect(Wal.open(disk, WAL_DIR, NO_SNAP).entries).toEqual([...entries(1, 3, 1), entry(4, 1, 8)]);
  });

  it('treats a zero-filled tail as the end', () => {
    const disk = new NodeDisk(root);
    const { file, end } = walWithLastRecord(disk);
    disk.append(file, new Uint8Array(4096));
    const opened = Wal.open(disk, WAL_DIR, NO_SNAP);
    expect(opened.entries.map((e) => e.index)).toEqual([1, 2, 3, 4]);
    expect(opened.repaired).toMatchObject({ file, offset: end, droppedBytes: 4096 });
    expect(disk.size(file)).toBe(end);
  });

  it('treats a flipped byte in the last record as a torn tail when nothing valid follows', () => {
    const disk = new NodeDisk(root);
    const { file, start, end } = walWithLastRecord(disk);
    const pristine = disk.read(file).slice();
    for (let at = start; at < end; at++) {
      disk.writeFile(file, pristine);
      flipByte(disk, file, at);
      const opened = Wal.open(disk, WAL_DIR, NO_SNAP);
      expect(opened.entries).toEqual(entries(1, 3, 1));
      expect(opened.repaired).toMatchObject({ file, offset: start, droppedBytes: end - start });
    }
  });

  it('refuses a flipped byte in a middle record, naming the file and offset', () => {
    const disk = new NodeDisk(root);
    const wal = Wal.create(disk, WAL_DIR, META);
    wal.save(hs(1, 0), entries(1, 2, 1), true);
    const [file] = segmentPaths(disk);
    const start = disk.size(file as string);
    wal.save(undefined, [entry(3, 1, 24)], true);
    const end = disk.size(file as string);
    wal.save(undefined, entries(4, 5, 1), true);
    wal.close();
    const pristine = disk.read(file as string).slice();
    for (let at = start; at < end; at++) {
      disk.writeFile(file as string, pristine);
      flipByte(disk, file as string, at);
      let caught: unknown;
      try {
        Wal.open(disk, WAL_DIR, NO_SNAP);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(WalCorruptError);
      expect(caught).toMatchObject({ file, offset: start });
      expect(String((caught as Error).message)).toContain(`${file} at byte ${start}`);
      // Nothing was cut: the file is left as found for a human to look at.
      expect(disk.size(file as string)).toBe(pristine.length);
    }
  });

  it('refuses corruption in the header of the last segment', () => {
    const disk = new NodeDisk(root);
    Wal.create(disk, WAL_DIR, META).close();
    const [file] = segmentPaths(disk);
    flipByte(disk, file as string, 13);
    expect(() => Wal.open(disk, WAL_DIR, NO_SNAP)).toThrow(WalCorruptError);
  });
});

describe('Wal segments', () => {
  const SMALL = { segmentSizeBytes: 1024 };

  it('cuts segments at the size limit, named by seq and first index', () => {
    const disk = new NodeDisk(root);
    const wal = Wal.create(disk, WAL_DIR, META, SMALL);
    for (let i = 1; i <= 40; i += 4) wal.save(hs(1, i - 1), entries(i, i + 3, 1, 60), false);
    wal.close();
    const names = wal.segmentFiles();
    expect(names.length).toBeGreaterThan(3);
    const parsed = names.map((n) => parseSegmentName(n));
    parsed.forEach((p, i) => expect(p?.seq).toBe(i));
    expect(parsed[0]?.firstIndex).toBe(0);
    for (let i = 1; i < parsed.length; i++) {
      // Each cut happens after a save of 4 entries: the next segment starts after it.
      expect(((parsed[i]?.firstIndex as number) - 1) % 4).toBe(0);
    }
    expect(disk.list(WAL_DIR)).toEqual(names);
    const opened = Wal.open(disk, WAL_DIR, NO_SNAP, SMALL);
    expect(opened.entries).toEqual(entries(1, 40, 1, 60));
    expect(opened.hardState).toEqual(hs(1, 36));
  });

  it('releaseTo removes segments wholly before a snapshot; open from the snapshot still works', () => {
    const disk = new NodeDisk(root);
    const wal = Wal.create(disk, WAL_DIR, META, SMALL);
    for (let i = 1; i <= 60; i += 4) wal.save(hs(1, i + 3), entries(i, i + 3, 1, 60), false);
    const before = wal.segmentFiles();
    wal.saveSnapshotMarker({ index: 30, term: 1 });
    const removed = wal.releaseTo(30);
    const kept = wal.segmentFiles();
    expect(removed.length).toBeGreaterThan(0);
    expect([...removed, ...kept].slice(0, before.length)).toEqual(before);
    expect(parseSegmentName(kept[0] as string)?.firstIndex).toBeLessThanOrEqual(30);
    expect(parseSegmentName(kept[1] as string)?.firstIndex).toBeGreaterThan(30);
    for (const name of removed) expect(disk.exists(`${WAL_DIR}/${name}`)).toBe(false);
    wal.close();

    const opened = Wal.open(disk, WAL_DIR, { index: 30, term: 1 }, SMALL);
    expect(opened.entries).toEqual(entries(31, 60, 1, 60));
    expect(opened.hardState).toEqual(hs(1, 60));
    expect(() => Wal.open(disk, WAL_DIR, NO_SNAP, SMALL)).toThrow(/no WAL segment/);
    expect(Wal.snapshotMarkers(disk, WAL_DIR).map((m) => m.index)).toContain(30);
  });

  it('rejects opening from a snapshot with no marker, or a marker of another term', () => {
    const disk = new NodeDisk(root);
    const wal = Wal.create(disk, WAL_DIR, META);
    wal.save(hs(2, 5), entries(1, 5, 2), true);
    wal.saveSnapshotMarker({ index: 5, term: 2 });
    expect(() => Wal.open(disk, WAL_DIR, { index: 4, term: 2 })).toThrow(/not found/);
    expect(() => Wal.open(disk, WAL_DIR, { index: 5, term: 1 })).toThrow(/term/);
    expect(Wal.open(disk, WAL_DIR, { index: 5, term: 2 }).entries).toEqual([]);
  });

  it('continues after an installed snapshot past the end of the log', () => {
    const disk = new NodeDisk(root);
    const wal = Wal.create(disk, WAL_DIR, META);
    wal.save(hs(2, 3), entries(1, 3, 2), true);
    wal.save(hs(3, 3), [], true);
    wal.saveSnapshotMarker({ index: 50, term: 3 }, { replacesLog: true });
    wal.save(hs(3, 52), entries(51, 52, 3), true);
    const opened = Wal.open(disk, WAL_DIR, { index: 50, term: 3 });
    expect(opened.entries).toEqual(entries(51, 52, 3));
    expect(() => Wal.open(disk, WAL_DIR, NO_SNAP)).toThrow(/replaced the log/);
    expect(Wal.snapshotMarkers(disk, WAL_DIR)).toEqual([
      { index: 0, term: 0 },
      { index: 50, term: 3 },
    ]);
  });

  it('never resurrects entries an installed snapshot discarded', () => {
    const disk = new CrashDisk(root);
    const wal = Wal.create(disk, WAL_DIR, META);
    wal.save(hs(2, 5), entries(1, 10, 2), true);
    // The leader's snapshot at 7 (term 3) does not match our entry 7: Raft drops the whole log.
    wal.saveSnapshotMarker({ index: 7, term: 3 }, { replacesLog: true });
    // Crash before the hard state of the same Ready was written.
    disk.crash();
    const opened = Wal.open(disk, WAL_DIR, { index: 7, term: 3 });
    expect(opened.entries).toEqual([]);
    // Commit and term are lifted to the snapshot, the vote dropped with the old term.
    expect(opened.hardState).toEqual(hs(3, 7));
    expect(Wal.snapshotMarkers(disk, WAL_DIR)).toContainEqual({ index: 7, term: 3 });
    expect(() => Wal.open(disk, WAL_DIR, NO_SNAP)).toThrow(/replaced the log/);
    // The log continues right after the snapshot.
    opened.wal.save(hs(3, 8), entries(8, 9, 3), true);
    expect(Wal.open(disk, WAL_DIR, { index: 7, term: 3 }).entries).toEqual(entries(8, 9, 3));
  });

  it('keeps the log after a local snapshot', () => {
    const disk = new NodeDisk(root);
    const wal = Wal.create(disk, WAL_DIR, META);
    wal.save(hs(2, 8), entries(1, 10, 2), true);
    wal.saveSnapshotMarker({ index: 8, term: 2 });
    expect(Wal.open(disk, WAL_DIR, { index: 8, term: 2 }).entries).toEqual(entries(9, 10, 2));
    expect(Wal.open(disk, WAL_DIR, NO_SNAP).entries).toEqual(entries(1, 10, 2));
    expect(() => wal.saveSnapshotMarker({ index: 11, term: 2 })).toThrow(AssertionError);
    expect(() => wal.saveSnapshotMarker({ index: 7, term: 2 })).toThrow(/goes back/);
  });

  it('refuses a flipped byte in a segment that is not the last', () => {
    const disk = new NodeDisk(root);
    const wal = Wal.create(disk, WAL_DIR, META, SMALL);
    for (let i = 1; i <= 40; i += 4) wal.save(hs(1, 0), entries(i, i + 3, 1, 60), false);
    wal.close();
    const [first] = segmentPaths(disk);
    const size = disk.size(first as string);
    flipByte(disk, first as string, size - 20);
    expect(() => Wal.open(disk, WAL_DIR, NO_SNAP, SMALL)).toThrow(/not the last/);
  });

  it('detects a segment swapped for another WAL\'s through metadata and the crc chain', () => {
    const diskA = new NodeDisk(`${root}/a`);
    const diskB = new NodeDisk(`${root}/b`);
    for (const [disk, term] of [
      [diskA, 1],
      [diskB, 2],
    ] as const) {
      const wal = Wal.create(disk, WAL_DIR, META, SMALL);
      for (let i = 1; i <= 40; i += 4) wal.save(hs(term, 0), entries(i, i + 3, term, 60), false);
      wal.close();
    }
    const second = (segmentPaths(diskA)[1] as string);
    expect(segmentPaths(diskB)[1]).toBe(second);
    diskA.writeFile(second, diskB.read(second));
    expect(() => Wal.open(diskA, WAL_DIR, NO_SNAP, SMALL)).toThrow(/crc chain broken/);
  });

  it('ignores leftovers: temp segments and old segments cut off by a gap', () => {
    const disk = new NodeDisk(root);
    const wal = Wal.create(disk, WAL_DIR, META, SMALL);
    for (let i = 1; i <= 40; i += 4) wal.save(hs(1, i + 3), entries(i, i + 3, 1, 60), false);
    wal.saveSnapshotMarker({ index: 36, term: 1 });
    wal.close();
    const files = segmentPaths(disk);
    expect(files.length).toBeGreaterThan(3);
    // An interrupted release removed segment 1 but not segment 0.
    disk.remove(files[1] as string);
    disk.writeFile(`${WAL_DIR}/0000000000000099-0000000000000099.wal.tmp`, new Uint8Array([1, 2]));
    const opened = Wal.open(disk, WAL_DIR, { index: 36, term: 1 }, SMALL);
    expect(opened.entries).toEqual(entries(37, 40, 1, 60));
    expect(disk.exists(files[0] as string)).toBe(false);
    expect(disk.list(WAL_DIR).some((n) => n.endsWith('.tmp'))).toBe(false);
  });
});

describe('Wal overwrite below the snapshot', () => {
  it('drops entries after an index rewritten before the snapshot was taken', () => {
    const { root: dirRoot, cleanup: done } = tempRoot('walsnapover');
    try {
      const disk = new NodeDisk(dirRoot);
      const wal = Wal.create(disk, WAL_DIR, META);
      wal.save(hs(1, 0), entries(1, 3, 1), false);
      wal.save(hs(2, 1), [entry(2, 2)], false); // replaces 2..3
      wal.saveSnapshotMarker({ index: 1, term: 1 });
      expect(Wal.open(disk, WAL_DIR, { index: 1, term: 1 }).entries).toEqual([entry(2, 2)]);
      wal.save(hs(2, 2), [entry(3, 2)], true);
      wal.saveSnapshotMarker({ index: 2, term: 2 });
      expect(Wal.open(disk, WAL_DIR, { index: 2, term: 2 }).entries).toEqual([entry(3, 2)]);
    } finally {
      done();
    }
  });
});

describe('Wal segments after a shrinking overwrite', () => {
  it('reads correctly when a later segment starts at a lower index', () => {
    const { root: dirRoot, cleanup: done } = tempRoot('walshrink');
    try {
      const disk = new NodeDisk(dirRoot);
      const small = { segmentSizeBytes: 256 };
      const wal = Wal.create(disk, WAL_DIR, META, small);
      wal.save(hs(1, 2), entries(1, 6, 1, 100), false); // cut: next segment starts at 7
      wal.save(hs(2, 2), entries(3, 4, 2, 100), false); // log shrinks to 4; cut at 5
      const names = wal.segmentFiles();
      expect(names.map((n) => parseSegmentName(n)?.firstIndex)).toEqual([0, 7, 5]);
      wal.save(hs(2, 5), [entry(5, 2)], true);
      wal.saveSnapshotMarker({ index: 5, term: 2 });
      const fromStart = Wal.open(disk, WAL_DIR, NO_SNAP, small);
      expect(fromStart.entries).toEqual([...entries(1, 2, 1, 100), ...entries(3, 4, 2, 100), entry(5, 2)]);
      expect(Wal.open(disk, WAL_DIR, { index: 5, term: 2 }, small).entries).toEqual([]);
      wal.releaseTo(5);
      expect(wal.segmentFiles()).toEqual([names[2]]);
    } finally {
      done();
    }
  });
});
