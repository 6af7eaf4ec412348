import type { NodeId, SeededRand } from '../src/util/index.js';
import { NodeRequestError } from '../src/server/index.js';
import { HistoryRecorder } from '../histories/index.js';
import type { Value } from '../histories/index.js';
import type { SimCluster } from './cluster.js';
import type { SimLoop } from './loop.js';
import { encodeCommand } from './register-machine.js';
import type { RegisterCommand, RegisterMachine, RegisterResult } from './register-machine.js';

export interface RegisterWorkloadOptions {
  readonly clients: number;
  readonly keys: number;
  /** One-way client <-> member latency range, ms. */
  readonly linkLatencyMsMin: number;
  readonly linkLatencyMsMax: number;
  /** A request unanswered this long is recorded `info`: it may or may not have taken effect. */
  readonly requestTimeoutMs: number;
  readonly thinkMsMax: number;
  /** Fraction of reads; the rest split between writes and compare-and-swaps. */
  readonly readRatio: number;
}

type Outcome = { type: 'ok' | 'fail' | 'info'; value: Value };

/** No answer ever comes (a paused member holds the request): the client's timeout decides. */
const NO_ANSWER: Outcome | undefined = undefined;

/**
 * Clients of the simulated cluster doing read / write / cas on a few registers and recording
 * a Jepsen-shaped history for the linearizability checker. Writes go through Raft; reads go
 * through ReadIndex, so a stale read fails the run. A client whose request timed out gets a new
 * process id, as Jepsen does, since its old request may still be in flight.
 */
export class RegisterWorkload {
  readonly recorder = new HistoryRecorder();
  private nextProcess: number;
  private stopped = false;
  private nextValue = 1;
  completed = 0;

  constructor(
    private readonly loop: SimLoop,
    private readonly cluster: SimCluster<RegisterResult, RegisterMachine>,
    private readonly rand: SeededRand,
    private readonly options: RegisterWorkloadOptions,
  ) {
    this.nextProcess = options.clients;
  }

  start(): void {
    for (let p = 0; p < this.options.clients; p++) this.scheduleNext(p, this.rand.between(0, this.options.thinkMsMax));
  }

  stop(): void {
    this.stopped = true;
  }

  private scheduleNext(process: number, delayMs: number): void {
    if (this.stopped) return;
    this.loop.after(delayMs, 'client', undefined, () => this.invoke(process), () => `client ${process}`);
  }

  private invoke(process: number): void {
    if (this.stopped) return;
    const key = `k${this.rand.int(this.options.keys)}`;
    const target = this.rand.pick(this.cluster.ids);
    const roll = this.rand.float();
    const timeNs = this.loop.nowMs * 1e6;
    let f: string;
    let value: Value;
    let command: RegisterCommand | undefined;
    if (roll < this.options.readRatio) {
      f = 'read';
      value = { key, value: null };
    } else if (roll < this.options.readRatio + (1 - this.options.readRatio) / 2) {
      const v = this.nextValue++;
      f = 'write';
      value = { key, value: v };
      command = { op: 'write', key, value: v };
    } else {
      const from = this.rand.int(Math.max(1, this.nextValue));
      const to = this.nextValue++;
      f = 'cas';
      value = { key, value: [from === 0 ? null : from, to] };
      command = from === 0 ? { op: 'write', key, value: to } : { op: 'cas', key, from, to };
      if (from === 0) f = 'write';
      if (from === 0) value = { key, value: to };
    }
    this.recorder.invoke(process, f, value, timeNs, target);
    let done = false;
    const finish = (outcome: Outcome): void => {
      if (done) return;
      done = true;
      this.recorder.complete(process, outcome.type, f, outcome.value, this.loop.nowMs * 1e6, target);
      this.completed++;
      const next = outcome.type === 'info' ? this.nextProcess++ : process;
      this.scheduleNext(next, this.rand.between(0, this.options.thinkMsMax));
    };
    this.loop.after(this.options.requestTimeoutMs, 'client-timeout', undefined, () => finish({ type: 'info', value }));
    this.loop.after(this.linkLatency(), 'client-send', target, () => {
      this.execute(target, key, f, value, command).then(
        (outcome) => outcome && this.loop.after(this.linkLatency(), 'client-recv', target, () => finish(outcome)),
        (error: unknown) => this.loop.fail(error),
      );
    });
  }

  private async execute(target: NodeId, key: string, f: string, value: Value, command: RegisterCommand | undefined): Promise<Outcome | undefined> {
    if (this.cluster.state(target) === 'paused') return NO_ANSWER;
    const node = this.cluster.node(target);
    // Connection refused: the request never reached a member, so it certainly did not happen.
    if (node === undefined) return this.notExecuted(f, value);
    try {
      if (command === undefined) {
        await node.linearizableBarrier();
        const machine = this.cluster.machine(target);
        if (machine === undefined) return this.notExecuted(f, value);
        return { type: 'ok', value: { key, value: machine.read(key) } };
      }
      const result: RegisterResult = await node.propose(encodeCommand(command));
      if (f === 'cas' && !result.ok) return { type: 'fail', value };
      return { type: 'ok', value };
    } catch (error) {
      if (!(error instanceof NodeRequestError)) throw error;
      // Refused before Raft took it: certainly not applied. Otherwise it may still commit.
      const definite = error.reason === 'noLeader' || error.reason === 'dropped' || command === undefined;
      return definite ? this.notExecuted(f, value) : { type: 'info', value };
    }
  }

  /**
   * A request that certainly did not take effect. For cas the checker's model (porcupine's)
   * reads `fail` as "the compare was false", so a cas that never ran is recorded `info`
   * instead: weaker, but never a false alarm.
   */
  private notExecuted(f: string, value: Value): Outcome {
    return { type: f === 'cas' ? 'info' : 'fail', value };
  }

  private linkLatency(): number {
    return this.rand.between(this.options.linkLatencyMsMin, this.options.linkLatencyMsMax);
  }
}
