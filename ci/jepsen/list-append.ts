/**
 * The list-append workload (Elle), as etcd transactions. Each key holds a JSON list of numbers.
 * A transaction of micro-ops `["r", k, null]` / `["append", k, v]` runs in two steps:
 *   1. one read-only Txn ranges over every key it touches (an atomic, linearizable snapshot);
 *   2. if it appends, one Txn whose compares require every touched key's mod_revision to be
 *      what step 1 saw (0 for an absent key) and whose success branch puts the new lists.
 * A false compare means nothing was written: the op is `fail`. So a committed transaction read
 * and wrote one snapshot, which is what Elle checks (strict serializability).
 */
import { Compare_CompareResult, Compare_CompareTarget } from '../../src/grpc/index.js';
import type { EtcdGrpcClient } from '../../src/grpc/index.js';
import type { Value } from '../../histories/index.js';
import type { SeededRand } from '../../src/util/index.js';
import { errorOutcome, neverSent } from './clients.js';
import type { Invocation, Outcome, Workload } from './clients.js';
import { KeyPool, text, utf8 } from './keys.js';

export interface ListAppendConfig {
  readonly keys: number;
  /** Transactions touching a key before it is retired. */
  readonly txnsPerKey: number;
  readonly maxMicroOps: number;
}

type MicroOp = ['r', string, Value] | ['append', string, number];

interface Snapshot {
  readonly lists: Map<string, number[]>;
  readonly modRevisions: Map<string, bigint>;
}

export class ListAppendWorkload implements Workload {
  readonly name = 'list-append';
  private nextValue = 1;
  private readonly pool: KeyPool;

  constructor(
    private readonly rand: SeededRand,
    private readonly config: ListAppendConfig,
  ) {
    this.pool = new KeyPool('la', config.keys, config.txnsPerKey, rand);
  }

  next(): Invocation {
    const count = 1 + this.rand.int(this.config.maxMicroOps);
    const keys = this.pool.takeDistinct(count);
    const mops: MicroOp[] = [];
    for (let i = 0; i < count; i++) {
      const key = this.rand.pick(keys);
      mops.push(this.rand.chance(0.5) ? ['r', key, null] : ['append', key, this.nextValue++]);
    }
    return { f: 'txn', value: mops };
  }

  private async read(client: EtcdGrpcClient, keys: readonly string[], deadlineMs: number): Promise<Snapshot> {
    const r = await client.unary('txn', {
      success: keys.map((k) => ({ request: { case: 'requestRange' as const, value: { key: utf8(k) } } })),
    }, { deadlineMs });
    const lists = new Map<string, number[]>();
    const modRevisions = new Map<string, bigint>();
    keys.forEach((k, i) => {
      const res = r.responses[i]?.response;
      const kv = res?.case === 'responseRange' ? res.value.kvs[0] : undefined;
      lists.set(k, kv === undefined ? [] : (JSON.parse(text(kv.value)) as number[]));
      modRevisions.set(k, kv === undefined ? 0n : kv.modRevision);
    });
    return { lists, modRevisions };
  }

  async execute(client: EtcdGrpcClient, op: Invocation, deadlineMs: number): Promise<Outcome> {
    const mops = op.value as MicroOp[];
    const keys = [...new Set(mops.map((m) => m[1]))];
    const startedMs = Date.now();
    let snapshot: Snapshot;
    try {
      snapshot = await this.read(client, keys, deadlineMs);
    } catch (error) {
      return errorOutcome(error, op, 'read');
    }
    // Apply the micro-ops to the snapshot in order: a read sees this txn's earlier appends.
    const lists = new Map([...snapshot.lists].map(([k, l]) => [k, [...l]]));
    const done: MicroOp[] = mops.map((m) => {
      const list = lists.get(m[1]) as number[];
      if (m[0] === 'r') return ['r', m[1], [...list]];
      list.push(m[2]);
      return m;
    });
    const written = keys.filter((k) => mops.some((m) => m[0] === 'append' && m[1] === k));
    if (written.length === 0) return { type: 'ok', value: done };
    try {
      const r = await client.unary('txn', {
        compare: keys.map((k) => ({
          result: Compare_CompareResult.EQUAL,
          target: Compare_CompareTarget.MOD,
          key: utf8(k),
          targetUnion: { case: 'modRevision' as const, value: snapshot.modRevisions.get(k) ?? 0n },
        })),
        success: written.map((k) => ({ request: { case: 'requestPut' as const, value: { key: utf8(k), value: utf8(JSON.stringify(lists.get(k))) } } })),
      }, { deadlineMs: Math.max(1, deadlineMs - (Date.now() - startedMs)) });
      return { type: r.succeeded ? 'ok' : 'fail', value: r.succeeded ? done : op.value };
    } catch (error) {
      return neverSent(error) ? { type: 'fail', value: op.value, error: true } : { type: 'info', value: op.value, error: true };
    }
  }
}
