/**
 * Throughput of the store on both backends. Not a test (vitest ignores it); run with
 *   npx tsx test/mvcc/bench.ts
 * 256-byte values over 10k distinct keys; "batch N" = N applied puts per durable commit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmdbBackend, MemoryBackend, MvccStore } from '../../src/mvcc/index.js';
import { utf8 } from '../../src/util/index.js';

const value = new Uint8Array(256).fill(120);
const key = (i: number): Uint8Array => utf8(`key-${String(i % 10000).padStart(8, '0')}`);

function timeit(label: string, n: number, fn: () => void): void {
  const t = performance.now();
  fn();
  const ms = performance.now() - t;
  console.log(`${label.padEnd(44)} ${String(n).padStart(6)} ops ${ms.toFixed(0).padStart(6)} ms ${String(Math.round(n / (ms / 1000))).padStart(8)}/s`);
}

function puts(s: MvccStore, n: number, batch: number, base = 0): void {
  for (let i = 0; i < n; i += batch) {
    s.beginBatch();
    for (let j = i; j < Math.min(n, i + batch); j++) {
      s.put({ key: key(base + j), value });
      s.setConsistentIndex(base + j + 1, 1);
    }
    s.commitBatch();
  }
}

const mem = new MemoryBackend();
const ms = MvccStore.open(mem);
timeit('memory put, batch 1', 50000, () => puts(ms, 50000, 1));
timeit('memory put, batch 100', 50000, () => puts(ms, 50000, 100, 50000));
timeit('memory range, one key', 50000, () => {
  for (let i = 0; i < 50000; i++) ms.range({ key: key(i) });
});
timeit('memory range, 10k-key prefix, limit 10', 1000, () => {
  for (let i = 0; i < 1000; i++) ms.range({ key: utf8('key-'), rangeEnd: utf8('key.'), limit: 10 });
});
timeit('memory reopen (100k revisions, 10k keys)', 1, () => MvccStore.open(mem));
timeit('memory compact at 90000', 1, () => ms.compact({ revision: 90000 }));

const root = mkdtempSync(join(tmpdir(), 'bench-lmdb-'));
try {
  const ls = MvccStore.open(LmdbBackend.open(join(root, 'db')));
  timeit('lmdb put, batch 1 (one fsync each)', 1000, () => puts(ls, 1000, 1));
  timeit('lmdb put, batch 100', 50000, () => puts(ls, 50000, 100, 1000));
  timeit('lmdb put, batch 1000', 50000, () => puts(ls, 50000, 1000, 51000));
  timeit('lmdb range, one key', 50000, () => {
    for (let i = 0; i < 50000; i++) ls.range({ key: key(i) });
  });
  timeit('lmdb reopen (101k revisions, 10k keys)', 1, () => MvccStore.open(LmdbBackend.open(join(root, 'db'))));
  console.log(`lmdb size: ${ls.backendSizeBytes()} bytes`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
