/**
 * Flags of `npm run bench`, named after etcd's benchmark tool where one exists
 * (--clients, --conns, --key-size, --val-size, --total becomes --duration here).
 */
export type TargetName = 'tsetcd' | 'etcd';
/** The load generator's gRPC client: 'h2' (node:http2 directly, ci/bench/h2-client.ts) or grpc-js. */
export type ClientLib = 'h2' | 'grpc-js';
export type WorkloadName = 'put' | 'range' | 'range-serializable' | 'txn-cas' | 'watch' | 'lease-keepalive';
export const ALL_WORKLOADS: readonly WorkloadName[] = ['put', 'range', 'range-serializable', 'txn-cas', 'watch', 'lease-keepalive'];

export interface BenchOptions {
  readonly targets: readonly TargetName[];
  readonly compare: boolean;
  readonly rounds: number;
  readonly nodes: 1 | 3;
  readonly workloads: readonly WorkloadName[];
  readonly clients: number;
  /** Total gRPC connections, spread over the workers (each worker opens at least one). */
  readonly conns: number;
  readonly workers: number;
  readonly keySizeBytes: number;
  readonly valSizeBytes: number;
  readonly durationMs: number;
  /** Each workload first runs unmeasured this long (tsetcd's JIT warms up; etcd is compiled ahead). */
  readonly warmupMs: number;
  readonly keys: number;
  /** Watch streams per worker for the watch workload. */
  readonly watchers: number;
  readonly clientLib: ClientLib;
  /** When > 0, a separate load of this many keys measures RSS growth per key. */
  readonly memoryKeys: number;
  readonly json: string | undefined;
  /** Writes a V8 CPU profile of each tsetcd member into this directory and prints the top functions. */
  readonly cpuProfDir: string | undefined;
  readonly simSeeds: number;
  readonly checker: boolean;
  readonly quiet: boolean;
  /** Run tsetcd and the workers from `git archive <rev>` instead of the working tree (which others are editing). */
  readonly rev: string | undefined;
}

export class BenchFlagError extends Error {}

const USAGE = `npm run bench -- [--target tsetcd|etcd] [--compare] [--rounds 3] [--nodes 1|3]
  [--workload put,range,range-serializable,txn-cas,watch,lease-keepalive|all]
  [--clients 100] [--conns 4] [--workers 2] [--key-size 16] [--val-size 256]
  [--duration 10s] [--warmup 5s] [--keys 10000] [--watchers 8] [--client-lib h2|grpc-js] [--memory-keys 0] [--json out.json]
  [--cpu-prof DIR] [--sim-seeds 10] [--no-checker] [--no-extras] [--quiet] [--rev HEAD]`;
export { USAGE as BENCH_USAGE };

/** "10s", "500ms", "2m" or a bare number of seconds. */
export function parseDurationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (m === null) throw new BenchFlagError(`bad duration ${JSON.stringify(text)}`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(unit === 'ms' ? n : unit === 'm' ? n * 60_000 : n * 1000);
}

function parseWorkloads(text: string): WorkloadName[] {
  if (text === 'all') return [...ALL_WORKLOADS];
  const names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const n of names) if (!(ALL_WORKLOADS as readonly string[]).includes(n)) throw new BenchFlagError(`unknown workload ${n}`);
  if (names.length === 0) throw new BenchFlagError('empty --workload');
  return names as WorkloadName[];
}

function positiveInt(name: string, text: string, min = 1): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new BenchFlagError(`--${name} must be an integer >= ${min}, got ${text}`);
  return n;
}

const BOOLEAN_FLAGS = new Set(['compare', 'no-checker', 'no-extras', 'quiet', 'help']);

function toMap(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) throw new BenchFlagError(`unexpected argument ${arg}`);
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (eq >= 0) out.set(name, arg.slice(eq + 1));
    else if (BOOLEAN_FLAGS.has(name)) out.set(name, 'true');
    else {
      const value = argv[++i];
      if (value === undefined) throw new BenchFlagError(`--${name} needs a value`);
      out.set(name, value);
    }
  }
  return out;
}

const KNOWN = new Set(['target', 'compare', 'rounds', 'nodes', 'workload', 'clients', 'conns', 'workers', 'key-size', 'val-size',
  'duration', 'warmup', 'keys', 'watchers', 'client-lib', 'memory-keys', 'json', 'cpu-prof', 'sim-seeds', 'no-checker', 'no-extras', 'quiet', 'help', 'rev']);

export function parseBenchArgs(argv: readonly string[]): BenchOptions | 'help' {
  const f = toMap(argv);
  for (const k of f.keys()) if (!KNOWN.has(k)) throw new BenchFlagError(`unknown flag --${k}`);
  if (f.has('help')) return 'help';
  const compare = f.has('compare');
  const target = f.get('target') ?? 'tsetcd';
  if (target !== 'tsetcd' && target !== 'etcd') throw new BenchFlagError(`--target must be tsetcd or etcd`);
  const nodes = positiveInt('nodes', f.get('nodes') ?? '1');
  if (nodes !== 1 && nodes !== 3) throw new BenchFlagError('--nodes must be 1 or 3');
  const noExtras = f.has('no-extras');
  const clientLib = f.get('client-lib') ?? 'h2';
  if (clientLib !== 'h2' && clientLib !== 'grpc-js') throw new BenchFlagError('--client-lib must be h2 or grpc-js');
  const options: BenchOptions = {
    targets: compare ? ['etcd', 'tsetcd'] : [target],
    compare,
    rounds: positiveInt('rounds', f.get('rounds') ?? (compare ? '3' : '1')),
    nodes,
    workloads: parseWorkloads(f.get('workload') ?? 'put'),
    clients: positiveInt('clients', f.get('clients') ?? '100'),
    conns: positiveInt('conns', f.get('conns') ?? '4'),
    workers: positiveInt('workers', f.get('workers') ?? '2'),
    keySizeBytes: positiveInt('key-size', f.get('key-size') ?? '16', 8),
    valSizeBytes: positiveInt('val-size', f.get('val-size') ?? '256', 0),
    durationMs: parseDurationMs(f.get('duration') ?? '10s'),
    warmupMs: parseDurationMs(f.get('warmup') ?? '5s'),
    keys: positiveInt('keys', f.get('keys') ?? '10000'),
    watchers: positiveInt('watchers', f.get('watchers') ?? '8'),
    clientLib,
    memoryKeys: positiveInt('memory-keys', f.get('memory-keys') ?? '0', 0),
    json: f.get('json'),
    cpuProfDir: f.get('cpu-prof'),
    simSeeds: noExtras ? 0 : positiveInt('sim-seeds', f.get('sim-seeds') ?? '10', 0),
    checker: !noExtras && !f.has('no-checker'),
    quiet: f.has('quiet'),
    rev: f.get('rev'),
  };
  if (options.workers > options.clients) throw new BenchFlagError('--workers must not exceed --clients');
  return options;
}
