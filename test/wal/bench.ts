/**
 * WAL append throughput on this machine's disk: 4 KiB entries, one fsync per save vs. 100
 * entries per fsynced save, plus a no-sync run for the CPU cost; then open (replay) speed of
 * a 64 MiB segment, and the worst repair scan (64 MiB of zeros after the last record). Run:
 *   npx tsx test/wal/bench.ts [rounds]
 * Prints entries/s per round and the median. Not a test (vitest ignores it).
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NodeDisk } from '../../src/env/node/index.js';
import type { Entry } from '../../src/raft/types.js';
import { nodeId } from '../../src/util/index.js';
import { Wal } from '../../src/wal/index.js';

const ENTRY_BYTES = 4096;

function run(totalEntries: number, perSave: number, sync: boolean): number {
  const root = mkdtempSync(join(tmpdir(), 'tsetcd-walbench-'));
  try {
    const disk = new NodeDisk(root);
    const wal = Wal.create(disk, 'member/wal', { nodeId: nodeId('1'), clusterId: 'bench' });
    const data = new Uint8Array(ENTRY_BYTES).map((_, i) => i & 0xff);
    const startMs = performance.now();
    for (let index = 1; index <= totalEntries; index += perSave) {
      const batch: Entry[] = [];
      for (let i = index; i < index + perSave && i <= totalEntries; i++) {
        batch.push({ index: i, term: 1, type: 'normal', data });
      }
      const last = batch[batch.length - 1] as Entry;
      wal.save({ term: 1, vote: nodeId('1'), commit: last.index }, batch, sync);
    }
    const elapsedMs = performance.now() - startMs;
    wal.close();
    disk.close();
    return (totalEntries / elapsedMs) * 1000;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** The disk alone: append 4 KiB + fdatasync with plain fs calls, for comparison. */
function rawFsBaseline(total: number): number {
  const root = mkdtempSync(join(tmpdir(), 'tsetcd-walbench-'));
  try {
    const fd = openSync(join(root, 'raw'), 'a');
    const data = new Uint8Array(ENTRY_BYTES).fill(1);
    const startMs = performance.now();
    for (let i = 0; i < total; i++) {
      writeSync(fd, data);
      fdatasyncSync(fd);
    }
    const elapsedMs = performance.now() - startMs;
    closeSync(fd);
    return (total / elapsedMs) * 1000;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const rounds = Number(process.argv[2] ?? 3);
const cases = [
  { name: '4 KiB, fsync every save (1 entry/save)', total: 3000, perSave: 1, sync: true },
  { name: '4 KiB, 100 entries per fsynced save', total: 50_000, perSave: 100, sync: true },
  { name: '4 KiB, 100 entries per save, no fsync', total: 50_000, perSave: 100, sync: false },
];
for (const c of [{ name: 'raw fs: append 4 KiB + fdatasync (no WAL)', total: 3000, perSave: 0, sync: true }, ...cases]) {
  const results: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // The baseline runs just before the WAL cases, so both see similar neighbours.
    results.push(c.perSave === 0 ? rawFsBaseline(c.total) : run(c.total, c.perSave, c.sync));
  }
  results.sort((a, b) => a - b);
  const median = results[Math.floor(results.length / 2)] as number;
  console.log(
    `${c.name}: median ${Math.round(median)} entries/s (${(median * ENTRY_BYTES / 2 ** 20).toFixed(1)} MiB/s); ` +
      `rounds ${results.map((x) => Math.round(x)).join(', ')}`,
  );
}

function replayBench(): void {
  const root = mkdtempSync(join(tmpdir(), 'tsetcd-walbench-'));
  try {
    const disk = new NodeDisk(root);
    const wal = Wal.create(disk, 'member/wal', { nodeId: nodeId('1'), clusterId: 'bench' });
    const data = new Uint8Array(ENTRY_BYTES).map((_, i) => i & 0xff);
    const total = 16_000; // ~64 MiB, one segment
    for (let index = 1; index <= total; index += 100) {
      const batch: Entry[] = [];
      for (let i = index; i < index + 100; i++) batch.push({ index: i, term: 1, type: 'normal', data });
      wal.save({ term: 1, vote: nodeId('1'), commit: index + 99 }, batch, false);
    }
    wal.close();
    let startMs = performance.now();
    const opened = Wal.open(disk, 'member/wal', { index: 0, term: 0 });
    let elapsedMs = performance.now() - startMs;
    console.log(
      `open/replay ${opened.entries.length} x 4 KiB entries: ${Math.round(elapsedMs)} ms ` +
        `(${Math.round((opened.entries.length / elapsedMs) * 1000)} entries/s)`,
    );
    opened.wal.close();
    const [segment] = opened.wal.segmentFiles();
    disk.append(`member/wal/${segment}`, new Uint8Array(64 * 2 ** 20));
    startMs = performance.now();
    const repaired = Wal.open(disk, 'member/wal', { index: 0, term: 0 });
    elapsedMs = performance.now() - startMs;
    console.log(
      `open with a 64 MiB zero tail: ${Math.round(elapsedMs)} ms, repaired ${repaired.repaired?.droppedBytes} bytes`,
    );
    disk.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

replayBench();
