import { fromUtf8, utf8 } from '../src/util/index.js';
import type { NodeId, SeededRand } from '../src/util/index.js';
import type { ApplyResult } from '../src/apply/index.js';
import { KvApi, isEtcdError } from '../src/api/index.js';
import type { KeyValue, RangeResponse, ResponseOp, TxnResponse } from '../src/mvcc/index.js';
import { CompareResult, CompareTarget } from '../src/mvcc/index.js';
import type { ServerNode } from '../src/server/index.js';
import type { Value } from '../histories/index.js';
import type { SimCluster } from './cluster.js';
import type { KvMachine } from './kv-machine.js';
import type { SimLoop } from './loop.js';
import { SimClientLoop } from './client-call.js';
import type { ClientLoopOptions, ClientOutcome, ClientRequest } from './client-call.js';

export interface KvWorkloadOptions extends ClientLoopOptions {
  readonly keys: number;
}

type Outcome = ClientOutcome | undefined;

/**
 * Clients of the simulated cluster speaking etcd's KV API (src/api KvApi, the code the gRPC
 * server runs): put, linearizable range, delete and compare-and-swap txns over a few keys,
 * recorded in the etcd-model encoding of histories/etcd.ts so the checker verifies revisions,
 * versions and create/mod revisions too, not just values. The request loop (think, invoke,
 * timeout, new process id after a timeout) is SimClientLoop's.
 */
export class KvWorkload extends SimClientLoop<ClientRequest> {
  private readonly apis = new WeakMap<ServerNode<ApplyResult>, KvApi>();
  private nextValue = 1;

  constructor(
    loop: SimLoop,
    private readonly cluster: SimCluster<ApplyResult, KvMachine>,
    rand: SeededRand,
    private readonly kvOptions: KvWorkloadOptions,
  ) {
    super(loop, rand, kvOptions);
  }

  protected nextRequest(): ClientRequest {
    // The op is drawn before the member it goes to.
    const { f, value } = this.pickOp();
    return { f, value, target: this.rand.pick(this.cluster.ids) };
  }

  private pickOp(): { f: string; value: Value } {
    const key = `k${this.rand.int(this.kvOptions.keys)}`;
    const roll = this.rand.float();
    if (roll < 0.35) return { f: 'range', value: { key } };
    if (roll < 0.65) return { f: 'put', value: { key, value: `v${this.nextValue++}` } };
    if (roll < 0.75) return { f: 'delete', value: { key } };
    // Compare-and-swap on the value, falling back to a read: the classic etcd CAS.
    const expected = `v${this.rand.between(Math.max(1, this.nextValue - 8), Math.max(1, this.nextValue - 1))}`;
    return {
      f: 'txn',
      value: {
        compares: [{ key, target: 'value', result: '=', value: expected }],
        success: [{ op: 'put', key, value: `v${this.nextValue++}` }],
        failure: [{ op: 'range', key }],
      },
    };
  }

  protected async execute({ target, f, value }: ClientRequest): Promise<Outcome> {
    if (this.cluster.state(target) === 'paused') return undefined;
    const node = this.cluster.node(target);
    const machine = this.cluster.machine(target);
    if (node === undefined || machine === undefined) return { type: 'fail', value };
    const api = this.api(node, machine, target);
    const v = value as Record<string, Value>;
    try {
      if (f === 'range') return { type: 'ok', value: rangeValue(await api.range({ key: utf8(String(v['key'])) })) };
      if (f === 'put') {
        const r = await api.put({ key: utf8(String(v['key'])), value: utf8(String(v['value'])) });
        return { type: 'ok', value: { revision: r.header.revision } };
      }
      if (f === 'delete') {
        const r = await api.deleteRange({ key: utf8(String(v['key'])) });
        return { type: 'ok', value: { revision: r.header.revision, deleted: r.deleted } };
      }
      return { type: 'ok', value: txnValue(await api.txn(toTxn(v))) };
    } catch (error) {
      // "no leader" is answered before anything is proposed: certainly not applied. Any other
      // error (leader changed, timeout, stopped) leaves the outcome unknown.
      return { type: f === 'range' || isEtcdError(error, 'NoLeader') ? 'fail' : 'info', value };
    }
  }

  private api(node: ServerNode<ApplyResult>, machine: KvMachine, target: NodeId): KvApi {
    let api = this.apis.get(node);
    if (api === undefined) {
      api = new KvApi(node, machine.applier, this.cluster.clock(target), { memberId: 0n, clusterId: 0n, requestTimeoutMs: this.options.requestTimeoutMs });
      this.apis.set(node, api);
    }
    return api;
  }

}

function toTxn(v: Record<string, Value>): import('../src/mvcc/index.js').TxnRequest {
  const cmp = (v['compares'] as Array<Record<string, Value>>)[0] as Record<string, Value>;
  const put = (v['success'] as Array<Record<string, Value>>)[0] as Record<string, Value>;
  const key = utf8(String(cmp['key']));
  return {
    compare: [{ key, target: CompareTarget.VALUE, result: CompareResult.EQUAL, value: utf8(String(cmp['value'])) }],
    success: [{ requestPut: { key, value: utf8(String(put['value'])) } }],
    failure: [{ requestRange: { key } }],
  };
}

function kvValue(kv: KeyValue): Value {
  return { key: fromUtf8(kv.key), value: fromUtf8(kv.value), createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version };
}

function rangeValue(r: RangeResponse): Value {
  return { revision: r.header.revision, kvs: r.kvs.map(kvValue), count: r.count };
}

function responseOpValue(op: ResponseOp): Value {
  if ('responsePut' in op) return { op: 'put' };
  if ('responseRange' in op) return { op: 'range', kvs: op.responseRange.kvs.map(kvValue), count: op.responseRange.count };
  if ('responseDeleteRange' in op) return { op: 'delete', deleted: op.responseDeleteRange.deleted };
  return { op: 'txn' };
}

function txnValue(r: TxnResponse): Value {
  return { revision: r.header.revision, succeeded: r.succeeded, results: r.responses.map(responseOpValue) };
}
