import { describe, it, expect } from 'vitest';
import { parseBenchArgs, parseDurationMs } from '../../ci/bench/args.js';
import type { BenchOptions } from '../../ci/bench/args.js';
import { keyOf } from '../../ci/bench/protocol.js';
import { formatSummary, summarizeRuns } from '../../ci/bench/report.js';
import { runBench, split } from '../../ci/bench/run.js';
import { median, percentile, summarize } from '../../ci/bench/stats.js';

describe('bench helpers', () => {
  it('parses etcd-benchmark-like flags, durations and workload lists', () => {
    const o = parseBenchArgs(['--compare', '--workload', 'put,range', '--duration', '5s', '--clients=8', '--workers', '2']);
    expect(o).not.toBe('help');
    const opts = o as BenchOptions;
    expect(opts.targets).toEqual(['etcd', 'tsetcd']);
    expect(opts.rounds).toBe(3);
    expect(opts.workloads).toEqual(['put', 'range']);
    expect(opts.durationMs).toBe(5000);
    expect(opts.clients).toBe(8);
    expect(opts.warmupMs).toBe(5000);
    expect(opts.clientLib).toBe('h2');
    const other = parseBenchArgs(['--warmup', '0', '--client-lib', 'grpc-js']) as BenchOptions;
    expect(other.warmupMs).toBe(0);
    expect(other.clientLib).toBe('grpc-js');
    expect(() => parseBenchArgs(['--client-lib', 'curl'])).toThrow(/client-lib/);
    expect(parseDurationMs('250ms')).toBe(250);
    expect(parseDurationMs('2m')).toBe(120_000);
    expect(() => parseBenchArgs(['--workload', 'nope'])).toThrow(/unknown workload/);
    expect(() => parseBenchArgs(['--nodes', '2'])).toThrow(/nodes/);
    expect(() => parseBenchArgs(['--workers', '5', '--clients', '4'])).toThrow(/workers/);
  });

  it('splits clients evenly and keys have the requested size', () => {
    expect(split(10, 3)).toEqual([4, 3, 3]);
    expect(split(1, 3, 1)).toEqual([1, 1, 1]);
    expect(split(7, 2).reduce((a, b) => a + b, 0)).toBe(7);
    expect(keyOf('k', 42, 16).length).toBe(16);
    expect(new TextDecoder().decode(keyOf('k', 42, 8))).toBe('k0000042');
  });

  it('percentiles are nearest-rank over the merged samples of every worker', () => {
    const a = Float64Array.from({ length: 500 }, (_, i) => 2 * i + 1); // odd 1..999
    const b = Float64Array.from({ length: 500 }, (_, i) => 2 * i + 2); // even 2..1000
    const s = summarize([a, b]);
    expect(s.count).toBe(1000);
    expect(s.p50Ms).toBe(500);
    expect(s.p90Ms).toBe(900);
    expect(s.p99Ms).toBe(990);
    expect(s.p999Ms).toBe(999);
    expect(s.maxMs).toBe(1000);
    expect(s.meanMs).toBeCloseTo(500.5);
    expect(percentile(new Float64Array(0), 0.5)).toBe(0);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });
});

describe('bench harness against a real tsetcd member', () => {
  it('runs put and range from one worker and reports sane numbers', async () => {
    const opts = parseBenchArgs([
      '--target', 'tsetcd', '--workload', 'put,range', '--duration', '2s', '--workers', '1', '--clients', '4', '--conns', '1',
      '--keys', '40', '--warmup', '1s', '--no-extras', '--quiet', '--rev', 'HEAD',
    ]) as BenchOptions;
    const runs = await runBench(opts);
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(run.failures).toEqual([]);
    expect(run.workloads.map((w) => w.workload)).toEqual(['put', 'range']);
    for (const w of run.workloads) {
      expect(w.throughputPerSec).toBeGreaterThan(0);
      expect(w.latency.count).toBeGreaterThan(0);
      expect(w.latency.p50Ms).toBeGreaterThan(0);
      expect(w.latency.p50Ms).toBeLessThanOrEqual(w.latency.p90Ms);
      expect(w.latency.p90Ms).toBeLessThanOrEqual(w.latency.p99Ms);
      expect(w.latency.p99Ms).toBeLessThanOrEqual(w.latency.p999Ms);
      expect(w.latency.p999Ms).toBeLessThanOrEqual(w.latency.maxMs);
      expect(w.errorCount).toBe(0);
      expect(w.serverCpuCores).toBeGreaterThan(0);
      expect(w.serverRssBytesPeak).toBeGreaterThan(1 << 20);
      expect(w.generatorCpuCores).toHaveLength(1);
      expect(w.generatorCpuCores[0]).toBeGreaterThan(0);
    }
    // Every preloaded key exists, so a linearizable range finds it: none came back empty.
    expect(run.workloads[1]!.unsuccessful).toBe(0);
    expect(run.memory).toHaveLength(1);
    expect(run.memory[0]!.keys).toBe(40);
    const summary = summarizeRuns(opts, runs);
    expect(summary.medians.map((m) => `${m.target}/${m.workload}`)).toEqual(['tsetcd/put', 'tsetcd/range']);
    const table = formatSummary(opts, summary);
    expect(table).toMatch(/^put\s+tsetcd\s+1\s+\d+\s+\d+/m);
    expect(table).toMatch(/too few to extrapolate/);
  });
});
