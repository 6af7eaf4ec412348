/**
 * The register workload: read / write / cas on a few keys at a time, recorded in the
 * cas-register encoding (`{key, value}`; cas value `[from, to]`). Reads are linearizable
 * Ranges, writes Puts, cas a Txn comparing the value. A key is retired after `opsPerKey`
 * operations and a fresh one takes its place, as Jepsen's independent keys do, so that each
 * key's history stays small enough for the linearizability search.
 */
import { Compare_CompareResult, Compare_CompareTarget } from '../../src/grpc/index.js';
import type { EtcdGrpcClient } from '../../src/grpc/index.js';
import type { SeededRand } from '../../src/util/index.js';
import { errorOutcome } from './clients.js';
import type { Invocation, Outcome, Workload } from './clients.js';
import { KeyPool, text, utf8 } from './keys.js';

export interface RegisterConfig {
  readonly keys: number;
  readonly opsPerKey: number;
  readonly readRatio: number;
}

function keyAndValue(op: Invocation): { key: string; value: unknown } {
  const v = op.value as { key: string; value: unknown };
  return { key: v.key, value: v.value };
}

export class RegisterWorkload implements Workload {
  readonly name = 'register';
  private nextValue = 1;
  /** Values last written (or swapped in) per key: cas compares against one of them. */
  private readonly recent = new Map<string, number[]>();
  private readonly pool: KeyPool;

  constructor(
    private readonly rand: SeededRand,
    private readonly config: RegisterConfig,
  ) {
    this.pool = new KeyPool('r', config.keys, config.opsPerKey, rand);
  }

  next(): Invocation {
    const key = this.pool.take();
    const roll = this.rand.float();
    if (roll < this.config.readRatio) return { f: 'read', value: { key, value: null } };
    const to = this.nextValue++;
    const recent = this.recent.get(key) ?? [];
    this.recent.set(key, [...recent.slice(-2), to]);
    if (recent.length === 0 || roll < this.config.readRatio + (1 - this.config.readRatio) / 2) return { f: 'write', value: { key, value: to } };
    // Compare against a value recently written to this key, so that a fair share of swaps succeed.
    const from = this.rand.chance(0.7) ? (recent[recent.length - 1] as number) : this.rand.pick(recent);
    return { f: 'cas', value: { key, value: [from, to] } };
  }

  async execute(client: EtcdGrpcClient, op: Invocation, deadlineMs: number): Promise<Outcome> {
    const { key, value } = keyAndValue(op);
    switch (op.f) {
      case 'read':
        try {
          const r = await client.unary('range', { key: utf8(key) }, { deadlineMs });
          const kv = r.kvs[0];
          return { type: 'ok', value: { key, value: kv === undefined ? null : Number(text(kv.value)) } };
        } catch (error) {
          return errorOutcome(error, op, 'read');
        }
      case 'write':
        try {
          await client.unary('put', { key: utf8(key), value: utf8(String(value)) }, { deadlineMs });
          return { type: 'ok', value: op.value };
        } catch (error) {
          return errorOutcome(error, op, 'write');
        }
      case 'cas': {
        const [from, to] = value as [number, number];
        try {
          const r = await client.unary('txn', {
            compare: [{ result: Compare_CompareResult.EQUAL, target: Compare_CompareTarget.VALUE, key: utf8(key), targetUnion: { case: 'value', value: utf8(String(from)) } }],
            success: [{ request: { case: 'requestPut', value: { key: utf8(key), value: utf8(String(to)) } } }],
          }, { deadlineMs });
          return { type: r.succeeded ? 'ok' : 'fail', value: op.value };
        } catch (error) {
          return errorOutcome(error, op, 'cas');
        }
      }
      default:
        throw new Error(`register workload has no f ${op.f}`);
    }
  }
}
