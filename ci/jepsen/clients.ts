/**
 * Client workers: each is bound to one member (worker i talks to member i mod n, as Jepsen's
 * clients do), runs one operation at a time, and records invoke / completion in the shared
 * history. A request whose outcome is unknown (timeout, connection lost mid-call) is recorded
 * `info` and the worker continues under a fresh process id, since the old request may still
 * take effect later.
 */
import { createGrpcClient, GrpcCode } from '../../src/grpc/index.js';
import type { EtcdGrpcClient, GrpcStatusError } from '../../src/grpc/index.js';
import type { HistoryRecorder, Value } from '../../histories/index.js';
import type { NodeName } from '../../nemesis/index.js';

/** `error`: the request failed (rather than answered): the worker backs off and reconnects. */
export type Outcome = { readonly type: 'ok' | 'fail' | 'info'; readonly value: Value; readonly error?: true };

export interface Invocation {
  readonly f: string;
  readonly value: Value;
}

/** What a workload does; `execute` maps every error itself (see `errorOutcome`). */
export interface Workload {
  readonly name: string;
  next(): Invocation;
  execute(client: EtcdGrpcClient, op: Invocation, deadlineMs: number): Promise<Outcome>;
}

function isStatusError(e: unknown): e is GrpcStatusError {
  return typeof e === 'object' && e !== null && typeof (e as { grpcCode?: unknown }).grpcCode === 'number';
}

/**
 * True only when the request certainly never reached a member: grpc-js failed the call before
 * sending because it had no connection. Everything else (deadline, reset, server errors such as
 * "request timed out" or "leader changed") may have been applied.
 */
export function neverSent(error: unknown): boolean {
  return isStatusError(error) && error.grpcCode === GrpcCode.UNAVAILABLE && error.message.includes('No connection established');
}

/**
 * The history outcome of a failed request. Reads change nothing, so a failed read is `fail`.
 * A cas that never ran is still `info`: the model reads a failed cas as "the compare was false".
 */
export function errorOutcome(error: unknown, op: Invocation, kind: 'read' | 'write' | 'cas'): Outcome {
  if (!isStatusError(error)) throw error;
  if (kind === 'read') return { type: 'fail', value: op.value, error: true };
  if (kind === 'write' && neverSent(error)) return { type: 'fail', value: op.value, error: true };
  return { type: 'info', value: op.value, error: true };
}

export interface ClientStats {
  invoked: number;
  ok: number;
  fail: number;
  info: number;
  /** Completions caused by a failed request (timeout, refused, server error), not an answer. */
  errors: number;
  readonly byF: Record<string, { ok: number; fail: number; info: number }>;
}

export interface WorkerConfig {
  readonly recorder: HistoryRecorder;
  readonly nowNs: () => number;
  readonly nodes: readonly NodeName[];
  readonly urlOf: (node: NodeName) => string;
  readonly clients: number;
  readonly opTimeoutMs: number;
  readonly workload: Workload;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs the workers until `stop()` is called; resolves with the counts when all have finished. */
export class Workers {
  readonly stats: ClientStats = { invoked: 0, ok: 0, fail: 0, info: 0, errors: 0, byF: {} };
  private stopped = false;
  private nextProcess: number;
  private readonly channels = new Map<number, EtcdGrpcClient>();
  private running: Promise<void>[] = [];
  private failure: unknown;

  constructor(private readonly config: WorkerConfig) {
    this.nextProcess = config.clients;
  }

  start(): void {
    // A worker that throws (a workload bug) stops them all; stop() rethrows it. Caught here so
    // that it is never an unhandled rejection, which would kill the runner before its teardown.
    this.running = Array.from({ length: this.config.clients }, (_, slot) => this.loop(slot).catch((error: unknown) => {
      this.failure ??= error;
      this.stopped = true;
    }));
  }

  async stop(): Promise<ClientStats> {
    this.stopped = true;
    await Promise.all(this.running);
    if (this.failure !== undefined) throw this.failure;
    for (const c of this.channels.values()) c.close();
    this.channels.clear();
    return this.stats;
  }

  private channel(slot: number, node: NodeName): EtcdGrpcClient {
    let c = this.channels.get(slot);
    if (c === undefined) {
      c = createGrpcClient(this.config.urlOf(node), { ownConnection: true });
      this.channels.set(slot, c);
    }
    return c;
  }

  /** A broken channel can sit in reconnect backoff for seconds: start a fresh one instead. */
  private resetChannel(slot: number): void {
    this.channels.get(slot)?.close();
    this.channels.delete(slot);
  }

  private async loop(slot: number): Promise<void> {
    const { recorder, nodes, workload, opTimeoutMs } = this.config;
    const node = nodes[slot % nodes.length] as NodeName;
    let process = slot;
    while (!this.stopped) {
      const op = workload.next();
      recorder.invoke(process, op.f, op.value, this.config.nowNs(), node);
      this.stats.invoked++;
      let outcome: Outcome;
      try {
        outcome = await workload.execute(this.channel(slot, node), op, opTimeoutMs);
      } catch (error) {
        // A workload bug, not a server answer: keep the history well-formed, then fail loudly.
        recorder.complete(process, 'info', op.f, op.value, this.config.nowNs(), node);
        throw error;
      }
      recorder.complete(process, outcome.type, op.f, outcome.value, this.config.nowNs(), node);
      this.count(op.f, outcome.type);
      if (outcome.type === 'info') process = this.nextProcess++;
      if (outcome.error === true) {
        this.stats.errors++;
        this.resetChannel(slot);
        // Back off so a dead member does not turn into a busy loop of refused calls.
        await sleep(50 + Math.floor(Math.random() * 50));
      }
    }
  }

  private count(f: string, type: Outcome['type']): void {
    this.stats[type]++;
    const byF = (this.stats.byF[f] ??= { ok: 0, fail: 0, info: 0 });
    byF[type]++;
  }
}
