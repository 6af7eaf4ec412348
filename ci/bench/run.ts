/**
 * The bench driver: for each round and target, start the server(s), run every workload from
 * forked worker processes, sample server and generator CPU/RSS over the measured window, stop.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchOptions, TargetName, WorkloadName } from './args.js';
import type { DriverMessage, WorkerConfig, WorkerMessage, WorkerResult } from './protocol.js';
import { ProcSampler, loadAverage, rssBreakdownOf } from './procstat.js';
import type { RssBreakdown } from './procstat.js';
import { REPO_ROOT, startCluster } from './servers.js';
import { snapshotRevision } from './snapshot.js';
import type { RunningCluster } from './servers.js';
import { summarize } from './stats.js';
import type { LatencySummary } from './stats.js';

/** A generator process above this share of one core may be what limits the throughput. */
export const GENERATOR_SATURATED_CORES = 0.9;
/** Keys of the memory probe live far above the workloads' key space. */
const MEMORY_KEY_OFFSET = 100_000_000;

export interface WorkloadResult {
  readonly target: TargetName;
  readonly round: number;
  readonly workload: WorkloadName;
  readonly nodes: number;
  readonly windowMs: number;
  /** Completed requests (events delivered, for watch) per second over the window. */
  readonly throughputPerSec: number;
  readonly latency: LatencySummary;
  readonly errors: Readonly<Record<string, number>>;
  readonly errorCount: number;
  readonly unsuccessful: number;
  /** watch: puts per second that produced the events. */
  readonly putsPerSec: number;
  /** Sum over members: CPU cores busy on average over the window; RSS at its end and peak. */
  readonly serverCpuCores: number;
  readonly serverRssBytesEnd: number;
  readonly serverRssBytesPeak: number;
  /** Per worker, measured by the worker itself. */
  readonly generatorCpuCores: readonly number[];
  readonly generatorSaturated: boolean;
  /** Server + generators against the machine's cores: near 1.0 everything competes for CPU. */
  readonly machineCpuShare: number;
  readonly loadAverage1m: number;
}

export interface MemoryProbe {
  readonly target: TargetName;
  readonly round: number;
  readonly keys: number;
  readonly valSizeBytes: number;
  readonly rssBytesBefore: number;
  readonly rssBytesAfter: number;
  /** Linear extrapolation of the growth to a million keys: an estimate, not a measurement. */
  readonly extrapolatedBytesPerMillionKeys: number;
  /** The same for private memory only (heap), and for resident pages of the mapped database file. */
  readonly extrapolatedAnonBytesPerMillionKeys: number;
  readonly extrapolatedFileBytesPerMillionKeys: number;
  readonly loadMs: number;
  /** Disk use (allocated blocks) after loading: every member's whole data dir, and its backend database alone. */
  readonly dataDirBytes: number;
  readonly dbBytes: number;
}

export interface ClusterRun {
  readonly target: TargetName;
  readonly round: number;
  readonly startupMs: number;
  readonly workloads: readonly WorkloadResult[];
  readonly memory: readonly MemoryProbe[];
  /** Workloads that could not run on this target (e.g. an RPC it does not implement yet). */
  readonly failures: readonly { readonly workload: WorkloadName; readonly error: string }[];
}

type Log = (line: string) => void;

class WorkerHandle {
  private readonly waiters = new Map<string, (m: WorkerMessage) => void>();
  private failure: Error | undefined;
  readonly child: ChildProcess;

  constructor(readonly index: number, sourceRoot: string) {
    this.child = fork(join(sourceRoot, 'ci', 'bench', 'worker.ts'), [], {
      cwd: sourceRoot,
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: WorkerMessage) => {
      if (m.type === 'error') this.fail(new Error(`worker ${index}: ${m.message}`));
      else this.waiters.get(m.type)?.(m);
    });
    // Any exit while a reply is still awaited is a failure (a worker killed by a signal, code
    // null, used to leave the driver waiting forever). Judged a moment later: the worker's last
    // message may still be on its way when 'exit' fires.
    this.child.on('exit', (code, signal) => {
      setTimeout(() => this.fail(new Error(`worker ${index} exited (code ${code}, signal ${signal})`)), 500);
    });
  }

  private fail(e: Error): void {
    this.failure = e;
    for (const w of this.waiters.values()) w({ type: 'error', message: e.message });
  }

  /** Sends a message and waits for the reply of the given type. */
  request<T extends WorkerMessage['type']>(message: DriverMessage, reply: T): Promise<Extract<WorkerMessage, { type: T }>> {
    return new Promise((resolve, reject) => {
      if (this.failure !== undefined) return reject(this.failure);
      this.waiters.set(reply, (m) => {
        this.waiters.delete(reply);
        if (m.type === 'error') reject(new Error(m.message));
        else resolve(m as Extract<WorkerMessage, { type: T }>);
      });
      this.child.send(message);
    });
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** n split into parts as even as possible, each at least `min`. */
export function split(n: number, parts: number, min = 0): number[] {
  return Array.from({ length: parts }, (_, i) => Math.max(min, Math.floor(n / parts) + (i < n % parts ? 1 : 0)));
}

function workerConfigs(options: BenchOptions, workload: WorkloadName, endpoints: readonly string[]): WorkerConfig[] {
  const clients = split(options.clients, options.workers, 1);
  const conns = split(options.conns, options.workers, 1);
  return clients.map((c, i) => ({
    workerIndex: i,
    workload,
    endpoints,
    clients: c,
    conns: conns[i] as number,
    keySizeBytes: options.keySizeBytes,
    valSizeBytes: options.valSizeBytes,
    keys: options.keys,
    watchers: options.watchers,
    clientLib: options.clientLib,
  }));
}

async function withWorkers<T>(sourceRoot: string, configs: readonly WorkerConfig[], body: (ws: readonly WorkerHandle[]) => Promise<T>): Promise<T> {
  const ws = configs.map((_, i) => new WorkerHandle(i, sourceRoot));
  try {
    await Promise.all(ws.map((w, i) => w.request({ type: 'setup', config: configs[i] as WorkerConfig }, 'connected')));
    return await body(ws);
  } finally {
    for (const w of ws) w.kill();
  }
}

function serverRss(cluster: RunningCluster): RssBreakdown {
  const parts = cluster.members.map((m) => rssBreakdownOf(m.pid) ?? { totalBytes: 0, anonBytes: 0, fileBytes: 0 });
  return {
    totalBytes: parts.reduce((s, p) => s + p.totalBytes, 0),
    anonBytes: parts.reduce((s, p) => s + p.anonBytes, 0),
    fileBytes: parts.reduce((s, p) => s + p.fileBytes, 0),
  };
}

interface Loaded {
  readonly before: RssBreakdown;
  readonly after: RssBreakdown;
  readonly ms: number;
}

/** Puts keys [from, to) through the workers and measures the servers' RSS growth. */
async function preloadKeys(ws: readonly WorkerHandle[], cluster: RunningCluster, from: number, to: number): Promise<Loaded> {
  const before = serverRss(cluster);
  const startedMs = Date.now();
  const bounds = split(to - from, ws.length);
  let at = from;
  const replies = await Promise.all(
    ws.map((w, i) => {
      const lo = at;
      at += bounds[i] as number;
      return w.request({ type: 'preload', from: lo, to: at }, 'preloaded');
    }),
  );
  const errors = replies.reduce((n, r) => n + r.errors, 0);
  if (errors > 0) throw new Error(`preload: ${errors} puts failed`);
  return { before, after: serverRss(cluster), ms: Date.now() - startedMs };
}

/** Allocated bytes under `path` (st_blocks, so a sparse or preallocated file counts what it uses). */
function diskBytes(path: string, include: (file: string) => boolean = () => true): number {
  let total = 0;
  const walk = (p: string): void => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return; // removed while walking (a WAL segment cut, a snapshot purged)
    }
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(join(p, name));
    else if (include(p)) total += st.blocks * 512;
  };
  walk(path);
  return total;
}

/** etcd keeps its bbolt file at member/snap/db, tsetcd its LMDB environment under member/db/. */
function isBackendFile(file: string): boolean {
  return /[/\\]member[/\\](snap[/\\]db|db[/\\].*)$/.test(file);
}

function memoryProbe(target: TargetName, round: number, keys: number, valSizeBytes: number, m: Loaded, dataRoot: string): MemoryProbe {
  const perMillion = (f: (r: RssBreakdown) => number): number => ((f(m.after) - f(m.before)) / keys) * 1e6;
  return {
    dataDirBytes: diskBytes(dataRoot, (f) => !f.endsWith('.log')),
    dbBytes: diskBytes(dataRoot, isBackendFile),
    target, round, keys, valSizeBytes,
    rssBytesBefore: m.before.totalBytes,
    rssBytesAfter: m.after.totalBytes,
    extrapolatedBytesPerMillionKeys: perMillion((r) => r.totalBytes),
    extrapolatedAnonBytesPerMillionKeys: perMillion((r) => r.anonBytes),
    extrapolatedFileBytesPerMillionKeys: perMillion((r) => r.fileBytes),
    loadMs: m.ms,
  };
}

function aggregate(target: TargetName, round: number, workload: WorkloadName, options: BenchOptions, results: readonly WorkerResult[],
  server: { cpuCores: number; rssBytesEnd: number; rssBytesPeak: number }): WorkloadResult {
  const windowMs = Math.max(...results.map((r) => r.windowMs));
  const completed = results.reduce((n, r) => n + r.completed, 0);
  const errors: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
  const generatorCpuCores = results.map((r) => r.cpuCores);
  const cores = cpus().length;
  return {
    target, round, workload, nodes: options.nodes, windowMs,
    throughputPerSec: (completed * 1000) / windowMs,
    latency: summarize(results.map((r) => r.latenciesMs)),
    errors,
    errorCount: Object.values(errors).reduce((a, b) => a + b, 0),
    unsuccessful: results.reduce((n, r) => n + r.unsuccessful, 0),
    putsPerSec: (results.reduce((n, r) => n + r.puts, 0) * 1000) / windowMs,
    serverCpuCores: server.cpuCores,
    serverRssBytesEnd: server.rssBytesEnd,
    serverRssBytesPeak: server.rssBytesPeak,
    generatorCpuCores,
    generatorSaturated: generatorCpuCores.some((c) => c > GENERATOR_SATURATED_CORES),
    machineCpuShare: (server.cpuCores + generatorCpuCores.reduce((a, b) => a + b, 0)) / cores,
    loadAverage1m: loadAverage()[0],
  };
}

async function runWorkload(cluster: RunningCluster, round: number, workload: WorkloadName, options: BenchOptions, state: { preloaded: boolean }, log: Log, sourceRoot: string): Promise<{ result: WorkloadResult; memory?: MemoryProbe }> {
  const endpoints = cluster.members.map((m) => m.clientUrl);
  return withWorkers(sourceRoot, workerConfigs(options, workload, endpoints), async (ws) => {
    let memory: MemoryProbe | undefined;
    if ((workload === 'range' || workload === 'range-serializable') && !state.preloaded) {
      const m = await preloadKeys(ws, cluster, 0, options.keys);
      state.preloaded = true;
      memory = memoryProbe(cluster.target, round, options.keys, options.valSizeBytes, m, cluster.dataRoot);
      log(`  preloaded ${options.keys} keys in ${m.ms} ms`);
    }
    await Promise.all(ws.map((w) => w.request({ type: 'prepare' }, 'prepared')));
    if (options.warmupMs > 0) await Promise.all(ws.map((w) => w.request({ type: 'warmup', durationMs: options.warmupMs }, 'warmed')));
    const pids = cluster.members.map((m) => m.pid);
    const sampler = new ProcSampler(pids);
    const replies = await Promise.all(ws.map((w) => w.request({ type: 'go', durationMs: options.durationMs }, 'result')));
    const server = sampler.stop();
    const result = aggregate(cluster.target, round, workload, options, replies.map((r) => r.result), server);
    return memory === undefined ? { result } : { result, memory };
  });
}

/** One start of the target: every workload in order, then stop. */
export async function runCluster(target: TargetName, round: number, options: BenchOptions, log: Log, sourceRoot: string = REPO_ROOT): Promise<ClusterRun> {
  const cluster = await startCluster(target, { nodes: options.nodes, cpuProfDir: target === 'tsetcd' ? options.cpuProfDir : undefined, tsetcdRoot: sourceRoot });
  log(`${target} round ${round}: ${options.nodes} member(s) up in ${cluster.startupMs} ms`);
  const workloads: WorkloadResult[] = [];
  const memory: MemoryProbe[] = [];
  const failures: { workload: WorkloadName; error: string }[] = [];
  try {
    if (options.memoryKeys > 0) {
      const m = await withWorkers(sourceRoot, workerConfigs(options, 'put', cluster.members.map((x) => x.clientUrl)), (ws) =>
        preloadKeys(ws, cluster, MEMORY_KEY_OFFSET, MEMORY_KEY_OFFSET + options.memoryKeys));
      memory.push(memoryProbe(target, round, options.memoryKeys, options.valSizeBytes, m, cluster.dataRoot));
      log(`  memory probe: ${options.memoryKeys} keys in ${m.ms} ms`);
    }
    const state = { preloaded: false };
    for (const w of options.workloads) {
      let r: Awaited<ReturnType<typeof runWorkload>>;
      try {
        r = await runWorkload(cluster, round, w, options, state, log, sourceRoot);
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        failures.push({ workload: w, error });
        log(`  ${w}: FAILED: ${error}`);
        continue;
      }
      if (r.memory !== undefined) memory.push(r.memory);
      workloads.push(r.result);
      log(`  ${w}: ${r.result.throughputPerSec.toFixed(0)}/s p50 ${r.result.latency.p50Ms.toFixed(2)} ms p99 ${r.result.latency.p99Ms.toFixed(2)} ms` +
        ` server ${(r.result.serverCpuCores * 100).toFixed(0)}% CPU, generators ${r.result.generatorCpuCores.map((c) => (c * 100).toFixed(0) + '%').join('/')}` +
        (r.result.errorCount > 0 ? `, ${r.result.errorCount} errors` : ''));
    }
  } finally {
    await cluster.stop();
  }
  return { target, round, startupMs: cluster.startupMs, workloads, memory, failures };
}

/**
 * Rounds alternate the targets (etcd, tsetcd, etcd, tsetcd, ...) so drift in the machine's load
 * hits both. With options.rev, tsetcd and the workers run from a git-archive snapshot of it.
 */
export async function runBench(options: BenchOptions, log: Log = () => {}): Promise<ClusterRun[]> {
  const snapshot = options.rev === undefined ? undefined : snapshotRevision(options.rev);
  if (snapshot !== undefined) log(`source: ${options.rev} = ${snapshot.commit} (git archive in ${snapshot.root})`);
  try {
    const runs: ClusterRun[] = [];
    for (let round = 1; round <= options.rounds; round++)
      for (const target of options.targets) runs.push(await runCluster(target, round, options, log, snapshot?.root ?? REPO_ROOT));
    return runs;
  } finally {
    snapshot?.remove();
  }
}
