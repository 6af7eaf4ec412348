/**
 * CPU cost of the apply path alone, without gRPC, Raft or the load generator: an Applier over a
 * fresh backend (LMDB in a temp dir, or memory) applies N encoded put payloads in batches with
 * flush() after each, as the node loop does once per Ready. Virtual time advances by --batch-ms
 * per batch, so with the server's batchIntervalMs (100) LMDB commits every 100 / batch-ms
 * batches, as it would at that request rate.
 *
 *   npx tsx ci/bench/apply-cost.ts [--entries 20000] [--batch 100] [--runs 5] [--keys 10000]
 *     [--key-bytes 16] [--value-bytes 256] [--batch-ms 10] [--interval-ms 100]
 *     [--backend lmdb|memory] [--watchers 0] [--warmup 5000] [--sync-every-commit 0|1]
 *
 * Prints CPU µs per applied entry (user + system from process.cpuUsage, which includes LMDB's
 * commit and fsync on this thread) as the median of the runs, and the spread.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Applier, encodePayload } from '../../src/apply/index.js';
import { LmdbBackend, MemoryBackend } from '../../src/mvcc/index.js';
import type { Backend } from '../../src/mvcc/index.js';
// Time moves only when the bench says so; timers fire as it passes them.
import { ManualClock } from '../../test/util/manual-clock.js';

interface Options {
  entries: number;
  batch: number;
  runs: number;
  keys: number;
  keyBytes: number;
  valueBytes: number;
  batchMs: number;
  intervalMs: number;
  backend: 'lmdb' | 'memory';
  watchers: number;
  warmup: number;
  /** 1: LMDB syncs its meta page at every commit too (durable on return). */
  syncEveryCommit: number;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { entries: 20_000, batch: 100, runs: 5, keys: 10_000, keyBytes: 16, valueBytes: 256, batchMs: 10, intervalMs: 100, backend: 'lmdb', watchers: 0, warmup: 5_000, syncEveryCommit: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i] ?? '';
    const value = argv[i + 1] ?? '';
    const name = flag.replace(/^--/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    if (!(name in o)) throw new Error(`unknown flag ${flag}`);
    if (name === 'backend') {
      if (value !== 'lmdb' && value !== 'memory') throw new Error('--backend lmdb|memory');
      o.backend = value;
    } else {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) throw new Error(`bad value for ${flag}: ${value}`);
      (o as unknown as Record<string, number>)[name] = n;
    }
  }
  return o;
}

/** The bench's key set: fixed-width, so every key has exactly keyBytes bytes. */
function keyOf(i: number, keyBytes: number): Uint8Array {
  const text = `k${String(i).padStart(keyBytes - 1, '0')}`.slice(0, keyBytes);
  return new TextEncoder().encode(text);
}

/** Payloads as the KV API proposes them: the gRPC PutRequest fields, lease as a bigint. */
function makePayloads(o: Options, count: number, seed: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let x = seed >>> 0 || 1;
  const value = new Uint8Array(o.valueBytes).fill(0x61);
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const key = keyOf(x % o.keys, o.keyBytes);
    out.push(encodePayload({ put: { key, value, lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } }));
  }
  return out;
}

interface RunResult {
  usPerEntry: number;
  wallUsPerEntry: number;
}

function applyAll(applier: Applier, clock: ManualClock, payloads: readonly Uint8Array[], firstIndex: number, o: Options): number {
  let index = firstIndex;
  for (let at = 0; at < payloads.length; at += o.batch) {
    const end = Math.min(payloads.length, at + o.batch);
    for (let i = at; i < end; i++) {
      const r = applier.apply(++index, 2, payloads[i] as Uint8Array);
      if (!r.ok) throw new Error(`apply failed: ${r.error.message}`);
    }
    applier.flush();
    clock.advance(o.batchMs);
  }
  return index;
}

function oneRun(o: Options, run: number): RunResult {
  const dir = o.backend === 'lmdb' ? mkdtempSync(join(tmpdir(), 'tsetcd-apply-cost-')) : undefined;
  const backend: Backend = dir === undefined ? new MemoryBackend() : LmdbBackend.open(join(dir, 'db'), { syncEveryCommit: o.syncEveryCommit === 1 });
  try {
    const clock = new ManualClock();
    const applier = new Applier(backend, { clock, batchIntervalMs: o.intervalMs });
    for (let w = 0; w < o.watchers; w++) {
      const stream = applier.watchHub.openStream(() => undefined);
      stream.watch({ key: keyOf(w % o.keys, o.keyBytes) });
    }
    // Warm-up fills the key space (so puts overwrite, as in a long bench) and lets the JIT settle.
    const warm = makePayloads(o, o.warmup, 7 + run);
    let index = applyAll(applier, clock, warm, 0, o);
    applier.commitNow();
    const payloads = makePayloads(o, o.entries, 1000 + run);
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    index = applyAll(applier, clock, payloads, index, o);
    applier.commitNow();
    const c1 = process.cpuUsage(c0);
    const wallNs = Number(process.hrtime.bigint() - t0);
    if (applier.appliedIndex() !== index) throw new Error('applied index does not match');
    return { usPerEntry: (c1.user + c1.system) / o.entries, wallUsPerEntry: wallNs / 1000 / o.entries };
  } finally {
    backend.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >>> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  const results: RunResult[] = [];
  for (let run = 0; run < o.runs; run++) results.push(oneRun(o, run));
  const cpu = results.map((r) => r.usPerEntry);
  const wall = results.map((r) => r.wallUsPerEntry);
  const f = (x: number): string => x.toFixed(2);
  console.log(
    `apply-cost: ${o.backend}, ${o.entries} puts x ${o.runs} runs, batch ${o.batch}, ${o.keys} keys, ${o.keyBytes} B keys, ${o.valueBytes} B values, ` +
      `commit every ${o.intervalMs} ms at ${o.batchMs} ms/batch, ${o.watchers} watchers`,
  );
  console.log(`CPU µs/put: median ${f(median(cpu))} (min ${f(Math.min(...cpu))}, max ${f(Math.max(...cpu))}); wall µs/put median ${f(median(wall))}`);
}

main();
