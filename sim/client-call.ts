import type { NodeId, SeededRand } from '../src/util/index.js';
import { HistoryRecorder } from '../histories/index.js';
import type { Value } from '../histories/index.js';
import type { SimLoop } from './loop.js';
import type { MemberServices, ServiceRegistry } from './services.js';

export type CallOutcome<T> =
  | { readonly kind: 'ok'; readonly value: T; readonly executedAtMs: number }
  | { readonly kind: 'error'; readonly error: unknown; readonly executedAtMs: number }
  /** The member was down or paused, or the answer did not arrive in time: outcome unknown. */
  | { readonly kind: 'timeout' };

export interface CallLink {
  readonly linkLatencyMsMin: number;
  readonly linkLatencyMsMax: number;
  readonly requestTimeoutMs: number;
}

/**
 * One simulated client request to a member: link latency out, the API call on the member's
 * running incarnation, latency back, or a timeout. `executedAtMs` is the virtual time at which
 * the member ran the request (a lower bound of any server-side effect's time).
 */
export function callMember<T>(
  loop: SimLoop,
  rand: SeededRand,
  services: ServiceRegistry,
  target: NodeId,
  link: CallLink,
  fn: (s: MemberServices) => Promise<T>,
): Promise<CallOutcome<T>> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (o: CallOutcome<T>): void => {
      if (done) return;
      done = true;
      resolve(o);
    };
    const latency = (): number => rand.between(link.linkLatencyMsMin, link.linkLatencyMsMax);
    loop.after(link.requestTimeoutMs, 'client-timeout', undefined, () => finish({ kind: 'timeout' }));
    loop.after(latency(), 'client-send', target, () => {
      const s = services.get(target);
      if (s === undefined) return;
      const executedAtMs = loop.nowMs;
      fn(s).then(
        (value) => loop.after(latency(), 'client-recv', target, () => finish({ kind: 'ok', value, executedAtMs })),
        (error: unknown) => loop.after(latency(), 'client-recv', target, () => finish({ kind: 'error', error, executedAtMs })),
      );
    });
  });
}

/** The settings every request-loop client shares: how many, link latency, timeout, think time. */
export interface ClientLoopOptions extends CallLink {
  readonly clients: number;
  readonly thinkMsMax: number;
}

/** How a request ended, as the history records it. */
export interface ClientOutcome {
  readonly type: 'ok' | 'fail' | 'info';
  readonly value: Value;
}

/** One request a client is about to send: the history's f and value, and the member it goes to. */
export interface ClientRequest {
  readonly f: string;
  readonly value: Value;
  readonly target: NodeId;
}

/**
 * The closed-loop clients of the register and KV workloads: each client thinks, draws a request,
 * records its invoke, sends it over a link with latency, and records the answer, or `info` when
 * the request times out. A client whose request timed out continues under a new process id, as
 * Jepsen does, since its old request may still be in flight. Subclasses say what a request is
 * (`nextRequest`, drawing in their own order) and how a member executes it (`execute`); an
 * answer of undefined never arrives (a paused member holds it) and the timeout decides.
 */
export abstract class SimClientLoop<Q extends ClientRequest> {
  readonly recorder = new HistoryRecorder();
  private nextProcess: number;
  private stopped = false;
  completed = 0;

  constructor(
    protected readonly loop: SimLoop,
    protected readonly rand: SeededRand,
    protected readonly options: ClientLoopOptions,
  ) {
    this.nextProcess = options.clients;
  }

  start(): void {
    for (let p = 0; p < this.options.clients; p++) this.scheduleNext(p, this.rand.between(0, this.options.thinkMsMax));
  }

  stop(): void {
    this.stopped = true;
  }

  protected abstract nextRequest(): Q;

  protected abstract execute(request: Q): Promise<ClientOutcome | undefined>;

  private scheduleNext(process: number, delayMs: number): void {
    if (!this.stopped) this.loop.after(delayMs, 'client', undefined, () => this.invoke(process), () => `client ${process}`);
  }

  private invoke(process: number): void {
    if (this.stopped) return;
    const request = this.nextRequest();
    const { f, value, target } = request;
    this.recorder.invoke(process, f, value, this.loop.nowMs * 1e6, target);
    let done = false;
    const finish = (outcome: ClientOutcome): void => {
      if (done) return;
      done = true;
      this.recorder.complete(process, outcome.type, f, outcome.value, this.loop.nowMs * 1e6, target);
      this.completed++;
      const next = outcome.type === 'info' ? this.nextProcess++ : process;
      this.scheduleNext(next, this.rand.between(0, this.options.thinkMsMax));
    };
    this.loop.after(this.options.requestTimeoutMs, 'client-timeout', undefined, () => finish({ type: 'info', value }));
    this.loop.after(this.linkLatency(), 'client-send', target, () => {
      this.execute(request).then(
        (outcome) => outcome && this.loop.after(this.linkLatency(), 'client-recv', target, () => finish(outcome)),
        (error: unknown) => this.loop.fail(error),
      );
    });
  }

  private linkLatency(): number {
    return this.rand.between(this.options.linkLatencyMsMin, this.options.linkLatencyMsMax);
  }
}

/** A member whose services run now (not crashed), chosen at random; undefined if none. */
export function pickServing(ids: readonly NodeId[], services: ServiceRegistry, rand: SeededRand): NodeId | undefined {
  const up = ids.filter((id) => services.get(id) !== undefined);
  return up.length === 0 ? undefined : rand.pick(up);
}

/** Resolves after `ms` of virtual time (at least 1); `kind` names the event in the trace. */
export function sleepMs(loop: SimLoop, ms: number, kind: string): Promise<void> {
  return new Promise((resolve) => loop.after(Math.max(1, Math.round(ms)), kind, undefined, resolve));
}
