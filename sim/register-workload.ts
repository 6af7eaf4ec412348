import type { SeededRand } from '../src/util/index.js';
import { NodeRequestError } from '../src/server/index.js';
import type { Value } from '../histories/index.js';
import type { SimCluster } from './cluster.js';
import type { SimLoop } from './loop.js';
import { SimClientLoop } from './client-call.js';
import type { ClientLoopOptions, ClientOutcome, ClientRequest } from './client-call.js';
import { encodeCommand } from './register-machine.js';
import type { RegisterCommand, RegisterMachine, RegisterResult } from './register-machine.js';

export interface RegisterWorkloadOptions extends ClientLoopOptions {
  readonly keys: number;
  /** Fraction of reads; the rest split between writes and compare-and-swaps. */
  readonly readRatio: number;
}

interface RegisterRequest extends ClientRequest {
  readonly key: string;
  /** Undefined for a read. */
  readonly command: RegisterCommand | undefined;
}

/** No answer ever comes (a paused member holds the request): the client's timeout decides. */
const NO_ANSWER: ClientOutcome | undefined = undefined;

/**
 * Clients of the simulated cluster doing read / write / cas on a few registers and recording
 * a Jepsen-shaped history for the linearizability checker. Writes go through Raft; reads go
 * through ReadIndex, so a stale read fails the run. The request loop (think, invoke, timeout,
 * new process id after a timeout) is SimClientLoop's.
 */
export class RegisterWorkload extends SimClientLoop<RegisterRequest> {
  private nextValue = 1;

  constructor(
    loop: SimLoop,
    private readonly cluster: SimCluster<RegisterResult, RegisterMachine>,
    rand: SeededRand,
    private readonly registerOptions: RegisterWorkloadOptions,
  ) {
    super(loop, rand, registerOptions);
  }

  protected nextRequest(): RegisterRequest {
    const readRatio = this.registerOptions.readRatio;
    const key = `k${this.rand.int(this.registerOptions.keys)}`;
    const target = this.rand.pick(this.cluster.ids);
    const roll = this.rand.float();
    if (roll < readRatio) return { f: 'read', value: { key, value: null }, target, key, command: undefined };
    if (roll < readRatio + (1 - readRatio) / 2) {
      const v = this.nextValue++;
      return { f: 'write', value: { key, value: v }, target, key, command: { op: 'write', key, value: v } };
    }
    const from = this.rand.int(Math.max(1, this.nextValue));
    const to = this.nextValue++;
    // A cas from "no value" is a plain write.
    if (from === 0) return { f: 'write', value: { key, value: to }, target, key, command: { op: 'write', key, value: to } };
    return { f: 'cas', value: { key, value: [from, to] }, target, key, command: { op: 'cas', key, from, to } };
  }

  protected async execute(request: RegisterRequest): Promise<ClientOutcome | undefined> {
    const { target, key, f, value, command } = request;
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
  private notExecuted(f: string, value: Value): ClientOutcome {
    return { type: f === 'cas' ? 'info' : 'fail', value };
  }
}
