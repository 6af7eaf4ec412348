/** Messages between the bench driver and its forked load workers (IPC, 'advanced' serialization). */
import type { ClientLib, WorkloadName } from './args.js';

export interface WorkerConfig {
  readonly workerIndex: number;
  readonly workload: WorkloadName;
  /** host:port of every member; connections are spread over them round-robin. */
  readonly endpoints: readonly string[];
  readonly clients: number;
  readonly conns: number;
  readonly keySizeBytes: number;
  readonly valSizeBytes: number;
  /** Size of the key space read or written (range reads the preloaded keys 0..keys-1). */
  readonly keys: number;
  readonly watchers: number;
  /** Which gRPC client the generator uses: the lean node:http2 one (default) or grpc-js. */
  readonly clientLib: ClientLib;
}

export type DriverMessage =
  | { readonly type: 'setup'; readonly config: WorkerConfig }
  /** Put keys [from, to) of the shared key space with this worker's clients. */
  | { readonly type: 'preload'; readonly from: number; readonly to: number }
  /** Build the workload's clients (grant leases, open streams) outside the measured window. */
  | { readonly type: 'prepare' }
  /** Run the workload unmeasured for a while first: JIT-compiled servers (and generators) warm up. */
  | { readonly type: 'warmup'; readonly durationMs: number }
  | { readonly type: 'go'; readonly durationMs: number };

export interface WorkerResult {
  readonly workerIndex: number;
  /** Per-request latency in ms of every request that completed inside the window. */
  readonly latenciesMs: Float64Array;
  readonly completed: number;
  /** Error message (gRPC code: message) -> count. */
  readonly errors: Readonly<Record<string, number>>;
  /** Requests that completed but did not do what they asked (a failed compare in txn-cas). */
  readonly unsuccessful: number;
  /** Measured by the worker itself: the window it ran (ms) and its own CPU over it (cores). */
  readonly windowMs: number;
  readonly cpuCores: number;
  /** watch: puts issued to generate the events (completed counts events). */
  readonly puts: number;
}

export type WorkerMessage =
  | { readonly type: 'connected' }
  | { readonly type: 'preloaded'; readonly puts: number; readonly errors: number }
  | { readonly type: 'prepared' }
  | { readonly type: 'warmed' }
  | { readonly type: 'result'; readonly result: WorkerResult }
  | { readonly type: 'error'; readonly message: string };

/** A key of exactly sizeBytes bytes: prefix then the number, zero-padded (longer numbers overflow the size). */
export function keyOf(prefix: string, n: number, sizeBytes: number): Uint8Array {
  const digits = String(n);
  const pad = Math.max(0, sizeBytes - prefix.length - digits.length);
  return new TextEncoder().encode(prefix + '0'.repeat(pad) + digits);
}
