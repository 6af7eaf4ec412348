import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pairOps, parseHistory } from '../histories/index.js';
import { checkLinearizability } from './linear/check.js';
import { kvModel } from './linear/kv.js';
import { casRegisterModel } from './linear/register.js';

/**
 * Wall time to parse and check porcupine's sample histories, for comparison with porcupine
 * (Go): all 102 etcd logs with the cas-register model, and the 6 kv logs per key. Like
 * porcupine's CheckOperations, the kv check stops at the first failing key here
 * (afterFailureMs 0); the CLI goes on to name every failing key.
 */
const DIR = join(import.meta.dirname, '..', '..', 'shared', 'histories', 'porcupine');
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);

function load(model: string): string[] {
  const rows = readFileSync(join(DIR, 'EXPECTED.tsv'), 'utf8').trim().split('\n').slice(1);
  return rows.map((r) => r.split('\t')).filter((r) => r[2] === model).map((r) => readFileSync(join(DIR, r[0] as string), 'utf8'));
}

function timeAll(texts: readonly string[], kv: boolean): { ms: number; cpuMs: number; steps: number } {
  const started = performance.now();
  const cpu = process.cpuUsage();
  let steps = 0;
  for (const text of texts) {
    const ops = pairOps(parseHistory(text).ops);
    const options = { timeoutMs: 120_000, afterFailureMs: 0, shrinkMs: 0 };
    const r = kv ? checkLinearizability(kvModel(), ops, options) : checkLinearizability(casRegisterModel(), ops, options);
    if (r.verdict === 'unknown') throw new Error('bench history answered unknown');
    for (const p of r.partitions) steps += p.stats.steps;
  }
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000, steps };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

const etcd = load('etcd');
const kv = load('kv');
const etcdMs: number[] = [];
const kvMs: number[] = [];
const etcdCpu: number[] = [];
const kvCpu: number[] = [];
for (let run = 1; run <= RUNS; run++) {
  const e = timeAll(etcd, false);
  const k = timeAll(kv, true);
  etcdMs.push(e.ms);
  kvMs.push(k.ms);
  etcdCpu.push(e.cpuMs);
  kvCpu.push(k.cpuMs);
  console.log(
    `run ${run}: ${etcd.length} etcd logs ${e.ms.toFixed(0)} ms wall, ${e.cpuMs.toFixed(0)} ms CPU (${e.steps} steps); ` +
      `${kv.length} kv logs ${k.ms.toFixed(0)} ms wall, ${k.cpuMs.toFixed(0)} ms CPU (${k.steps} steps)`,
  );
}
console.log(
  `median of ${RUNS}: etcd logs ${median(etcdMs).toFixed(0)} ms wall / ${median(etcdCpu).toFixed(0)} ms CPU, ` +
    `kv logs ${median(kvMs).toFixed(0)} ms wall / ${median(kvCpu).toFixed(0)} ms CPU (run 1 includes JIT warm-up; CPU includes GC threads)`,
);
