import { type HistoryFormat, type Op, type Operation, pairOps } from '../histories/index.js';
import { checkListAppend } from './elle/list-append.js';
import { checkRwRegister } from './elle/rw-register.js';
import { describeTxn } from './elle/graph.js';
import { checkLinearizability } from './linear/check.js';
import { describeEtcdOp, etcdModel } from './linear/etcd.js';
import { kvModel } from './linear/kv.js';
import { casRegisterModel } from './linear/register.js';
import type { CheckReport, Describe } from './report.js';
import { asObject } from './values.js';
import { checkWatches } from './watch.js';

export type ModelName = 'cas-register' | 'kv' | 'etcd' | 'list-append' | 'rw-register' | 'watch';
export const MODEL_NAMES: readonly ModelName[] = ['cas-register', 'kv', 'etcd', 'list-append', 'rw-register', 'watch'];

/** Picks the model that matches what the ops look like. */
export function detectModel(ops: readonly Operation[], format?: HistoryFormat): ModelName {
  if (format === 'porcupine-etcd') return 'cas-register';
  if (format === 'porcupine-kv') return 'kv';
  const fs = new Set(ops.map((o) => o.f));
  if (fs.has('watch')) return 'watch';
  if (fs.has('txn')) {
    const sample = ops.find((o) => o.f === 'txn');
    if (sample !== undefined && asObject(sample.input) !== undefined) return 'etcd';
    const mops = ops.flatMap((o) => (Array.isArray(o.input) ? o.input : []));
    const kinds = new Set(mops.map((m) => (Array.isArray(m) ? String(m[0]) : '')));
    return kinds.has('append') ? 'list-append' : 'rw-register';
  }
  if (fs.has('range') || fs.has('delete')) return 'etcd';
  const revisioned = ops.some((o) => o.f === 'put' && asObject(o.output)?.['revision'] !== undefined);
  if (revisioned) return 'etcd';
  if (fs.has('get') || fs.has('append') || fs.has('put')) return 'kv';
  return 'cas-register';
}

export interface RunOptions {
  readonly timeoutMs?: number;
  readonly afterFailureMs?: number;
}

export interface RunResult {
  readonly model: ModelName;
  readonly operations: readonly Operation[];
  readonly report: CheckReport;
  readonly describe: Describe;
}

/** Pairs the ops, checks them with the named (or detected) model. */
export function runCheck(ops: readonly Op[], model: ModelName | undefined, format: HistoryFormat | undefined, options: RunOptions = {}): RunResult {
  const operations = pairOps(ops);
  const name = model ?? detectModel(operations, format);
  const lin = { ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }), ...(options.afterFailureMs === undefined ? {} : { afterFailureMs: options.afterFailureMs }) };
  switch (name) {
    case 'cas-register': {
      const m = casRegisterModel();
      return { model: name, operations, report: checkLinearizability(m, operations, lin), describe: m.describeOp };
    }
    case 'kv': {
      const m = kvModel();
      return { model: name, operations, report: checkLinearizability(m, operations, lin), describe: m.describeOp };
    }
    case 'etcd': {
      const clientOps = operations.filter((o) => o.f !== 'watch');
      return { model: name, operations: clientOps, report: checkLinearizability(etcdModel(), clientOps, lin), describe: describeEtcdOp };
    }
    case 'list-append':
      return { model: name, operations, report: checkListAppend(operations), describe: describeTxn };
    case 'rw-register':
      return { model: name, operations, report: checkRwRegister(operations), describe: describeTxn };
    case 'watch':
      return { model: name, operations, report: checkWatches(operations), describe: describeWatchOrWrite };
  }
}

function describeWatchOrWrite(op: Operation): string {
  if (op.f !== 'watch') return describeEtcdOp(op);
  const responses = asObject(op.output)?.['responses'];
  const n = Array.isArray(responses) ? responses.reduce<number>((acc, r) => acc + ((asObject(r)?.['events'] as unknown[] | undefined)?.length ?? 0), 0) : 0;
  return `watch ${JSON.stringify(op.input)} -> ${n} events`;
}
