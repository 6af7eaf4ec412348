/** Tables and warnings of `npm run bench`, from the raw per-run results. */
import { cpus } from 'node:os';
import type { BenchOptions, TargetName, WorkloadName } from './args.js';
import type { ClusterRun, MemoryProbe, WorkloadResult } from './run.js';
import { fmt, formatTable, median, mib } from './stats.js';

/** Below this many keys RSS growth is mostly allocator and heap noise. */
export const MEMORY_KEYS_MIN = 10_000;

export interface WorkloadMedians {
  readonly target: TargetName;
  readonly workload: WorkloadName;
  readonly rounds: number;
  /** Median number of latency samples per round: below ~1000, p99.9 is just the slowest request. */
  readonly samples: number;
  readonly throughputPerSec: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly serverCpuCores: number;
  readonly serverRssBytesPeak: number;
  readonly generatorCpuCoresMax: number;
  readonly errors: number;
  /** Server CPU ms per completed request: the server's cost, independent of how loaded the machine was. */
  readonly serverCpuMsPerRequest: number;
  /** watch: the puts per second that produced the events (each reaches every watcher of its worker). */
  readonly putsPerSec: number;
}

export interface BenchSummary {
  readonly medians: readonly WorkloadMedians[];
  readonly ratios: readonly { workload: WorkloadName; throughput: number; p50: number; p99: number; cpuPerRequest: number }[];
  readonly memory: readonly {
    target: TargetName;
    keys: number;
    extrapolatedMiBPerMillionKeys: number;
    anonMiB: number;
    fileMiB: number;
    /** Measured after the load: total RSS, and disk use of the data dir and of the backend database. */
    rssAfterMiB: number;
    dataDirMiB: number;
    dbMiB: number;
  }[];
  readonly warnings: readonly string[];
}

function mediansOf(results: readonly WorkloadResult[]): Omit<WorkloadMedians, 'target' | 'workload'> {
  const m = (f: (r: WorkloadResult) => number): number => median(results.map(f));
  return {
    rounds: results.length,
    samples: m((r) => r.latency.count),
    throughputPerSec: m((r) => r.throughputPerSec),
    p50Ms: m((r) => r.latency.p50Ms),
    p90Ms: m((r) => r.latency.p90Ms),
    p99Ms: m((r) => r.latency.p99Ms),
    p999Ms: m((r) => r.latency.p999Ms),
    serverCpuCores: m((r) => r.serverCpuCores),
    serverRssBytesPeak: m((r) => r.serverRssBytesPeak),
    generatorCpuCoresMax: Math.max(...results.flatMap((r) => r.generatorCpuCores)),
    errors: results.reduce((n, r) => n + r.errorCount, 0),
    putsPerSec: m((r) => r.putsPerSec),
    serverCpuMsPerRequest: m((r) => (r.throughputPerSec > 0 ? (r.serverCpuCores * 1000) / r.throughputPerSec : Number.NaN)),
  };
}

function warningsOf(runs: readonly ClusterRun[]): string[] {
  const out: string[] = [];
  const cores = cpus().length;
  const load = Math.max(...runs.flatMap((r) => r.workloads.map((w) => w.loadAverage1m)));
  if (load > cores)
    out.push(`load average reached ${fmt(load)} on ${cores} cores: other processes compete for CPU, so throughput and latency ` +
      `are CPU-starved and noisy; "srv CPU ms/req" is the steadier comparison`);
  for (const run of runs) for (const f of run.failures) out.push(`${run.target} round ${run.round} ${f.workload}: FAILED: ${f.error}`);
  for (const run of runs)
    for (const r of run.workloads) {
      const label = `${r.target} round ${r.round} ${r.workload}`;
      if (r.generatorSaturated)
        out.push(`${label}: a load generator used ${fmt(Math.max(...r.generatorCpuCores) * 100, 0)}% of a core: it may be the bottleneck (add --workers)`);
      if (r.machineCpuShare > 0.9)
        out.push(`${label}: server + generators used ${fmt(r.machineCpuShare * 100, 0)}% of the machine's CPU: they compete for cores`);
      if (r.errorCount > 0) out.push(`${label}: ${r.errorCount} errors: ${JSON.stringify(r.errors)}`);
    }
  return out;
}

export function summarizeRuns(options: BenchOptions, runs: readonly ClusterRun[]): BenchSummary {
  const all = runs.flatMap((r) => r.workloads);
  const medians: WorkloadMedians[] = [];
  for (const workload of options.workloads)
    for (const target of options.targets) {
      const rs = all.filter((r) => r.target === target && r.workload === workload);
      if (rs.length > 0) medians.push({ target, workload, ...mediansOf(rs) });
    }
  const ratios = options.workloads.flatMap((workload) => {
    const e = medians.find((m) => m.target === 'etcd' && m.workload === workload);
    const t = medians.find((m) => m.target === 'tsetcd' && m.workload === workload);
    if (e === undefined || t === undefined) return [];
    return [{ workload, throughput: t.throughputPerSec / e.throughputPerSec, p50: t.p50Ms / e.p50Ms, p99: t.p99Ms / e.p99Ms,
      cpuPerRequest: t.serverCpuMsPerRequest / e.serverCpuMsPerRequest }];
  });
  const probes: MemoryProbe[] = runs.flatMap((r) => r.memory);
  const memory = options.targets.flatMap((target) => {
    const ps = probes.filter((p) => p.target === target);
    if (ps.length === 0) return [];
    const keys = Math.max(...ps.map((p) => p.keys));
    const biggest = ps.filter((p) => p.keys === keys);
    const mibOf = (f: (p: MemoryProbe) => number): number => median(biggest.map(f)) / (1024 * 1024);
    return [{
      target, keys,
      extrapolatedMiBPerMillionKeys: mibOf((p) => p.extrapolatedBytesPerMillionKeys),
      anonMiB: mibOf((p) => p.extrapolatedAnonBytesPerMillionKeys),
      fileMiB: mibOf((p) => p.extrapolatedFileBytesPerMillionKeys),
      rssAfterMiB: mibOf((p) => p.rssBytesAfter),
      dataDirMiB: mibOf((p) => p.dataDirBytes ?? 0),
      dbMiB: mibOf((p) => p.dbBytes ?? 0),
    }];
  });
  return { medians, ratios, memory, warnings: warningsOf(runs) };
}

export function formatSummary(options: BenchOptions, s: BenchSummary): string {
  const header = ['workload', 'target', 'rounds', 'samples', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'srv CPU%', 'srv CPU ms/req', 'srv RSS MiB', 'gen CPU% max', 'errors'];
  const rows = s.medians.map((m) => [
    m.workload, m.target, String(m.rounds), fmt(m.samples, 0), fmt(m.throughputPerSec, 0), fmt(m.p50Ms), fmt(m.p90Ms), fmt(m.p99Ms), fmt(m.p999Ms),
    fmt(m.serverCpuCores * 100, 0), fmt(m.serverCpuMsPerRequest, 3), mib(m.serverRssBytesPeak), fmt(m.generatorCpuCoresMax * 100, 0), String(m.errors),
  ]);
  const parts = [
    `${options.nodes} member(s), ${options.clients} clients, ${options.conns} conns, ${options.workers} workers (${options.clientLib} client), ` +
      `key ${options.keySizeBytes} B, value ${options.valSizeBytes} B, ${options.durationMs / 1000} s per run after ${options.warmupMs / 1000} s of warm-up, ${options.keys} keys; medians over rounds`,
    formatTable(header, rows),
  ];
  const watch = s.medians.filter((m) => m.workload === 'watch');
  if (watch.length > 0)
    parts.push(watch.map((m) => `watch (${m.target}): req/s counts events delivered; ${fmt(m.putsPerSec, 0)} puts/s fed ${options.watchers} watchers per worker, ` +
      `latency is put sent -> event received`).join('\n'));
  if (s.ratios.length > 0)
    parts.push(formatTable(['workload', 'tsetcd/etcd req/s', 'p50', 'p99', 'srv CPU/req'],
      s.ratios.map((r) => [r.workload, fmt(r.throughput), fmt(r.p50), fmt(r.p99), fmt(r.cpuPerRequest)])));
  if (s.memory.length > 0)
    parts.push(s.memory.map((m) =>
      m.keys < MEMORY_KEYS_MIN
        ? `memory (${m.target}): only ${m.keys} keys loaded; too few to extrapolate (use --memory-keys ${MEMORY_KEYS_MIN} or more)`
        : m.keys >= 1_000_000
          ? `memory (${m.target}): MEASURED after loading ${m.keys} keys of ${options.valSizeBytes} B: RSS ${fmt(m.rssAfterMiB, 0)} MiB in all, ` +
            `growth ${fmt((m.extrapolatedMiBPerMillionKeys * m.keys) / 1e6, 0)} MiB (private ${fmt((m.anonMiB * m.keys) / 1e6, 0)} MiB + mapped db file ${fmt((m.fileMiB * m.keys) / 1e6, 0)} MiB); ` +
            `disk: data dir ${fmt(m.dataDirMiB, 0)} MiB, backend db ${fmt(m.dbMiB, 0)} MiB`
          : `memory (${m.target}): RSS growth while loading ${m.keys} keys of ${options.valSizeBytes} B, EXTRAPOLATED linearly: ` +
            `~${fmt(m.extrapolatedMiBPerMillionKeys, 0)} MiB per million keys (private ${fmt(m.anonMiB, 0)} MiB + mapped db file ${fmt(m.fileMiB, 0)} MiB; ` +
            `an estimate: the heap part includes headroom the GC had not returned); disk after the load: data dir ${fmt(m.dataDirMiB, 0)} MiB, backend db ${fmt(m.dbMiB, 0)} MiB`).join('\n'));
  if (s.warnings.length > 0) parts.push(['warnings:', ...s.warnings.map((w) => `  - ${w}`)].join('\n'));
  return parts.join('\n\n');
}
