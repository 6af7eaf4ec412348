/**
 * One load-generator process of `npm run bench` (forked by the driver): its own gRPC
 * connections, its share of the clients, per-request latencies measured here and sent back raw.
 */
import { performance } from 'node:perf_hooks';
import { Compare_CompareTarget, Compare_CompareResult, createGrpcClient } from '../../src/grpc/index.js';
import { createH2BenchClient } from './h2-client.js';
import type { BenchClient } from './h2-client.js';
import type { DriverMessage, WorkerConfig, WorkerMessage, WorkerResult } from './protocol.js';
import { keyOf } from './protocol.js';

/** Growable Float64Array: 10 s at 10k req/s is 100k samples. */
class Samples {
  private data = new Float64Array(4096);
  length = 0;
  push(x: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = x;
  }
  take(): Float64Array {
    return this.data.slice(0, this.length);
  }
}

interface Window {
  readonly endAtMs: number;
  readonly samples: Samples;
  readonly errors: Map<string, number>;
  unsuccessful: number;
  puts: number;
}

/** What one client does once: resolves true when it succeeded, false when it completed without effect. */
type Op = () => Promise<boolean>;

function send(message: WorkerMessage): void {
  process.send?.(message);
}

function errorKey(e: unknown): string {
  const s = e as { grpcCode?: number; message?: string };
  return typeof s.grpcCode === 'number' ? `code ${s.grpcCode}: ${s.message ?? ''}` : String(e);
}

function countError(errors: Map<string, number>, e: unknown): void {
  const k = errorKey(e);
  errors.set(k, (errors.get(k) ?? 0) + 1);
}

function randomValue(sizeBytes: number): Uint8Array {
  const v = new Uint8Array(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) v[i] = 97 + Math.floor(Math.random() * 26);
  return v;
}

const randomIndex = (n: number): number => Math.floor(Math.random() * n);

/** Cancels the streams the workload opened. */
const closers: (() => void)[] = [];

/** Runs op back to back until the window closes; only completions inside the window count. */
async function clientLoop(op: Op, w: Window, recordLatency: boolean): Promise<void> {
  while (performance.now() < w.endAtMs) {
    const startMs = performance.now();
    try {
      const ok = await op();
      const endMs = performance.now();
      if (endMs > w.endAtMs) break;
      if (recordLatency) w.samples.push(endMs - startMs);
      if (!ok) w.unsuccessful++;
    } catch (e) {
      if (performance.now() > w.endAtMs) break;
      countError(w.errors, e);
    }
  }
}

function makeOps(cfg: WorkerConfig, conns: readonly BenchClient[]): Op[] {
  const value = randomValue(cfg.valSizeBytes);
  const ops: Op[] = [];
  for (let i = 0; i < cfg.clients; i++) {
    const c = conns[i % conns.length] as BenchClient;
    switch (cfg.workload) {
      case 'put':
        ops.push(() => c.unary('put', { key: keyOf('k', randomIndex(cfg.keys), cfg.keySizeBytes), value }).then(() => true));
        break;
      case 'range':
      case 'range-serializable': {
        const serializable = cfg.workload === 'range-serializable';
        ops.push(() =>
          c.unary('range', { key: keyOf('k', randomIndex(cfg.keys), cfg.keySizeBytes), serializable }).then((r) => r.kvs.length === 1),
        );
        break;
      }
      case 'txn-cas':
        ops.push(casOp(c, keyOf(`c${cfg.workerIndex}-`, i, cfg.keySizeBytes), value));
        break;
      default:
        throw new Error(`makeOps: ${cfg.workload} is not a unary workload`);
    }
  }
  return ops;
}

/** Compare-and-swap on the client's own key: put only if its mod revision is the one last seen. */
function casOp(c: BenchClient, key: Uint8Array, value: Uint8Array): Op {
  let lastModRevision = 0n;
  return async () => {
    const r = await c.unary('txn', {
      compare: [{ target: Compare_CompareTarget.MOD, result: Compare_CompareResult.EQUAL, key, targetUnion: { case: 'modRevision', value: lastModRevision } }],
      success: [{ request: { case: 'requestPut', value: { key, value } } }],
      failure: [{ request: { case: 'requestRange', value: { key } } }],
    });
    if (r.succeeded) {
      lastModRevision = r.header?.revision ?? 0n;
      return true;
    }
    const rr = r.responses[0]?.response;
    lastModRevision = rr?.case === 'responseRange' ? (rr.value.kvs[0]?.modRevision ?? 0n) : 0n;
    return false;
  };
}

/** Each client keeps one LeaseKeepAlive stream open and sends the next keep-alive when the last is answered. */
async function keepAliveOps(cfg: WorkerConfig, conns: readonly BenchClient[]): Promise<Op[]> {
  const ops: Op[] = [];
  for (let i = 0; i < cfg.clients; i++) {
    const c = conns[i % conns.length] as BenchClient;
    const grant = await c.unary('leaseGrant', { TTL: 600n });
    const stream = c.bidi('leaseKeepAlive');
    const responses = stream[Symbol.asyncIterator]();
    ops.push(async () => {
      stream.send({ ID: grant.ID });
      const next = await responses.next();
      if (next.done === true) throw new Error('keep-alive stream ended');
      return next.value.TTL > 0n;
    });
    closers.push(() => stream.cancel());
  }
  return ops;
}

const WATCH_CREATED_TIMEOUT_MS = 5_000;
const WATCH_CREATE_ATTEMPTS = 3;

/**
 * Opens a watch stream and waits for its created response. Against etcd 3.4 the created response
 * now and then never came (the whole bench then hung in setup): a stream that stays silent for
 * 5 s is cancelled and opened again, and after three tries the worker fails with an error.
 */
async function openWatch(c: BenchClient, start: Uint8Array, end: Uint8Array): Promise<AsyncIterator<{ created: boolean; events: Array<{ kv?: { value: Uint8Array } | undefined }> }>> {
  for (let attempt = 1; ; attempt++) {
    const stream = c.bidi('watch');
    closers.push(() => stream.cancel());
    stream.send({ requestUnion: { case: 'createRequest', value: { key: start, rangeEnd: end } } });
    const it = stream[Symbol.asyncIterator]();
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<'silent'>((resolve) => (timer = setTimeout(() => resolve('silent'), WATCH_CREATED_TIMEOUT_MS)));
    const first = await Promise.race([it.next(), silent]);
    clearTimeout(timer);
    if (first !== 'silent') {
      if (first.done === true || !first.value.created) throw new Error('watch was not created');
      return it as AsyncIterator<{ created: boolean; events: Array<{ kv?: { value: Uint8Array } | undefined }> }>;
    }
    stream.cancel();
    if (attempt >= WATCH_CREATE_ATTEMPTS) throw new Error(`watch not created after ${attempt} attempts of ${WATCH_CREATED_TIMEOUT_MS} ms`);
  }
}

/**
 * Watch: `watchers` streams per worker watch this worker's prefix; the clients put under it with
 * the send time in the value, and each delivered event counts once with its put-to-event latency.
 */
async function setupWatch(cfg: WorkerConfig, conns: readonly BenchClient[], getWindow: () => Window | undefined): Promise<Op[]> {
  const prefix = `w${cfg.workerIndex}/`;
  const enc = new TextEncoder();
  const start = enc.encode(prefix);
  const end = enc.encode(`w${cfg.workerIndex}0`); // '0' follows '/' in ASCII: the prefix's range end
  for (let i = 0; i < cfg.watchers; i++) {
    const c = conns[i % conns.length] as BenchClient;
    const it = await openWatch(c, start, end);
    void (async () => {
      try {
        for (let r = await it.next(); r.done !== true; r = await it.next()) {
          const w = getWindow();
          const nowMs = performance.now();
          if (w === undefined || nowMs > w.endAtMs) continue;
          for (const ev of r.value.events) {
            const v = ev.kv?.value;
            if (v === undefined || v.length < 8) continue;
            w.samples.push(nowMs - new DataView(v.buffer, v.byteOffset, 8).getFloat64(0, true));
          }
        }
      } catch {
        // Cancelled at the end of the run.
      }
    })();
  }
  const valueSize = Math.max(8, cfg.valSizeBytes);
  const ops: Op[] = [];
  for (let i = 0; i < cfg.clients; i++) {
    const c = conns[i % conns.length] as BenchClient;
    ops.push(async () => {
      const value = new Uint8Array(valueSize);
      new DataView(value.buffer).setFloat64(0, performance.now(), true);
      await c.unary('put', { key: keyOf(prefix, randomIndex(cfg.keys), cfg.keySizeBytes), value });
      const w = getWindow();
      if (w !== undefined && performance.now() <= w.endAtMs) w.puts++;
      return true;
    });
  }
  return ops;
}

/**
 * Puts per preload request: one txn of many puts (etcd allows 128 ops) so loading is not one
 * fsync a key, kept under 1 MiB so it stays below etcd's 1.5 MiB request limit.
 */
const PRELOAD_PUTS_PER_TXN_MAX = 100;
const PRELOAD_TXN_BYTES_MAX = 1 << 20;

async function preload(cfg: WorkerConfig, conns: readonly BenchClient[], from: number, to: number): Promise<{ puts: number; errors: number }> {
  const value = randomValue(cfg.valSizeBytes);
  const perTxn = Math.max(1, Math.min(PRELOAD_PUTS_PER_TXN_MAX, Math.floor(PRELOAD_TXN_BYTES_MAX / (cfg.keySizeBytes + cfg.valSizeBytes + 16))));
  let next = from;
  let puts = 0;
  let errors = 0;
  const one = async (c: BenchClient): Promise<void> => {
    while (next < to) {
      const lo = next;
      const hi = Math.min(to, lo + perTxn);
      next = hi;
      const success = [];
      for (let k = lo; k < hi; k++) success.push({ request: { case: 'requestPut' as const, value: { key: keyOf('k', k, cfg.keySizeBytes), value } } });
      try {
        await c.unary('txn', { success });
        puts += hi - lo;
      } catch {
        errors += hi - lo;
      }
    }
  };
  await Promise.all(Array.from({ length: cfg.clients }, (_, i) => one(conns[i % conns.length] as BenchClient)));
  return { puts, errors };
}

async function run(cfg: WorkerConfig, durationMs: number, ops: Op[], setWindow: (w: Window) => void): Promise<WorkerResult> {
  const cpuStart = process.cpuUsage();
  const startMs = performance.now();
  const w: Window = { endAtMs: startMs + durationMs, samples: new Samples(), errors: new Map(), unsuccessful: 0, puts: 0 };
  setWindow(w);
  await Promise.all(ops.map((op) => clientLoop(op, w, cfg.workload !== 'watch')));
  const windowMs = Math.min(performance.now(), w.endAtMs) - startMs;
  const cpu = process.cpuUsage(cpuStart);
  const wallMs = performance.now() - startMs;
  return {
    workerIndex: cfg.workerIndex,
    latenciesMs: w.samples.take(),
    completed: w.samples.length,
    errors: Object.fromEntries(w.errors),
    unsuccessful: w.unsuccessful,
    windowMs,
    cpuCores: (cpu.user + cpu.system) / 1000 / wallMs,
    puts: cfg.workload === 'watch' ? w.puts : w.samples.length,
  };
}

function main(): void {
  let cfg: WorkerConfig | undefined;
  let conns: BenchClient[] = [];
  let window: Window | undefined;
  let ops: Op[] = [];
  // The worker lives until its result is out. Waiting on nothing but gRPC streams (a watch's
  // created response) with the IPC channel unreferenced let the process end with code 0 in the
  // middle of 'prepare', and the driver never got its reply.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  process.on('message', (m: DriverMessage) => {
    const fail = (e: unknown): void => {
      // Exit only once the message is out, or the driver would see a bare exit code.
      const message: WorkerMessage = { type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : JSON.stringify(e) };
      if (process.send === undefined) process.exit(1);
      else process.send(message, () => process.exit(1));
    };
    if (m.type === 'setup') {
      cfg = m.config;
      const c = cfg;
      conns = Array.from({ length: c.conns }, (_, i) => {
        const endpoint = c.endpoints[(c.workerIndex * c.conns + i) % c.endpoints.length] as string;
        return c.clientLib === 'grpc-js' ? createGrpcClient(endpoint, { ownConnection: true }) : createH2BenchClient(endpoint);
      });
      // One call per connection so connecting is not measured.
      Promise.all(conns.map((x) => x.unary('range', { key: new TextEncoder().encode('warmup'), serializable: true })))
        .then(() => send({ type: 'connected' }), fail);
    } else if (m.type === 'preload' && cfg !== undefined) {
      preload(cfg, conns, m.from, m.to).then((r) => send({ type: 'preloaded', ...r }), fail);
    } else if (m.type === 'prepare' && cfg !== undefined) {
      const c = cfg;
      const prepared =
        c.workload === 'watch' ? setupWatch(c, conns, () => window)
        : c.workload === 'lease-keepalive' ? keepAliveOps(c, conns)
        : Promise.resolve(makeOps(c, conns));
      prepared.then((o) => {
        ops = o;
        send({ type: 'prepared' });
      }, fail);
    } else if (m.type === 'warmup' && cfg !== undefined) {
      // The same loop as the measured run; its window and numbers are thrown away.
      run(cfg, m.durationMs, ops, (w) => (window = w)).then(() => send({ type: 'warmed' }), fail);
    } else if (m.type === 'go' && cfg !== undefined) {
      run(cfg, m.durationMs, ops, (w) => (window = w))
        .then((result) => {
          for (const close of closers) close();
          for (const x of conns) x.close();
          // Disconnect only once the result is out: disconnecting right after send() could drop
          // it, and the driver then waited forever for a result.
          process.send?.({ type: 'result', result } satisfies WorkerMessage, () => {
            clearInterval(keepAlive);
            process.disconnect?.();
          });
        }, fail);
    }
  });
}

main();
