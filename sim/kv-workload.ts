import { fromUtf8, utf8 } from '../src/util/index.js';
import type { NodeId, SeededRand } from '../src/util/index.js';
import type { ApplyResult } from '../src/apply/index.js';
import { KvApi, isEtcdError } from '../src/api/index.js';
import type { KeyValue, RangeResponse, ResponseOp, TxnResponse } from '../src/mvcc/index.js';
import { CompareResult, CompareTarget } from '../src/mvcc/index.js';
import type { ServerNode } from '../src/server/index.js';
import { HistoryRecorder } from '../histories/index.js';
import type { Value } from '../histories/index.js';
import type { SimCluster } from './cluster.js';
import type { KvMachine } from './kv-machine.js';
import type { SimLoop } from './loop.js';

export interface KvWorkloadOptions {
  readonly clients: number;
  readonly keys: number;
  readonly linkLatencyMsMin: number;
  readonly linkLatencyMsMax: number;
  /** The client gives up after this long and records `info`. */
  readonly requestTimeoutMs: number;
  readonly thinkMsMax: number;
}

type Outcome = { type: 'ok' | 'fail' | 'info'; value: Value } | undefined;

/**
 * Clients of the simulated cluster speaking etcd's KV API (src/api KvApi, the code the gRPC
 * server runs): put, linearizable range, delete and compare-and-swap txns over a few keys,
 * recorded in the etcd-model encoding of histories/etcd.ts so the checker verifies revisions,
 * versions and create/mod revisions too, not just values.
 */
export class KvWorkload {
  readonly recorder = new HistoryRecorder();
  private readonly apis = new WeakMap<ServerNode<ApplyResult>, KvApi>();
  private nextProcess: number;
  private nextValue = 1;
  private stopped = false;
  completed = 0;

  constructor(
    private readonly loop: SimLoop,
    private readonly cluster: SimCluster<ApplyResult, KvMachine>,
    private readonly rand: SeededRand,
    private readonly options: KvWorkloadOptions,
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
    if (!this.stopped) this.loop.after(delayMs, 'client', undefined, () => this.invoke(process), () => `client ${process}`);
  }

  private invoke(process: number): void {
    if (this.stopped) return;
    const { f, value } = this.pickOp();
    const target = this.rand.pick(this.cluster.ids);
    this.recorder.invoke(process, f, value, this.loop.nowMs * 1e6, target);
    let done = false;
    const finish = (outcome: { type: 'ok' | 'fail' | 'info'; value: Value }): void => {
      if (done) return;
      done = true;
      this.recorder.complete(process, outcome.type, f, outcome.value, this.loop.nowMs * 1e6, target);
      this.completed++;
      this.scheduleNext(outcome.type === 'info' ? this.nextProcess++ : process, this.rand.between(0, this.options.thinkMsMax));
    };
    this.loop.after(this.options.requestTimeoutMs, 'client-timeout', undefined, () => finish({ type: 'info', value }));
    this.loop.after(this.latency(), 'client-send', target, () => {
      this.execute(target, f, value).then(
        (outcome) => outcome && this.loop.after(this.latency(), 'client-recv', target, () => finish(outcome)),
        (error: unknown) => this.loop.fail(error),
      );
    });
  }

  private pickOp(): { f: string; value: Value } {
    const key = `k${this.rand.int(this.options.keys)}`;
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

  private async execute(target: NodeId, f: string, value: Value): Promise<Outcome> {
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

  private latency(): number {
    return this.rand.between(this.options.linkLatencyMsMin, this.options.linkLatencyMsMax);
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
