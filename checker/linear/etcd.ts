import { toNum, type Operation, type Value } from '../../histories/index.js';
import { bytesText, inKeyRange } from '../values.js';
import { Interner, REJECT, type Model } from './model.js';

/** One key's stored data; revisions as numbers. */
interface Kv {
  readonly value: string;
  readonly create: number;
  readonly mod: number;
  readonly version: number;
}

interface EtcdState {
  readonly rev: number;
  /** Sorted by key so the canonical text (the interning key) is stable. */
  readonly kvs: ReadonlyMap<string, Kv>;
}

type ReqOp =
  | { readonly op: 'range'; readonly key: string; readonly end: string | undefined }
  | { readonly op: 'put'; readonly key: string; readonly value: string; readonly prevKv: boolean }
  | { readonly op: 'delete'; readonly key: string; readonly end: string | undefined; readonly prevKv: boolean };

interface Cmp {
  readonly key: string;
  readonly target: string;
  readonly result: string;
  readonly value: string | number;
}

interface EtcdOp {
  readonly compares: readonly Cmp[];
  readonly success: readonly ReqOp[];
  readonly failure: readonly ReqOp[];
  /** The recorded response as a txn response, or null when unknown (fail / info). */
  readonly response: { readonly revision: number; readonly succeeded: boolean | undefined; readonly results: readonly Value[] } | null;
  /** Transitions already computed from a state id. */
  readonly memo: Map<number, number>;
  /** Ranges only, in both branches: never changes the store. */
  readonly readOnly: boolean;
  /** Identity of the request, for twin pruning of identical unknown-outcome requests. */
  readonly key: string;
}

function obj(v: Value | undefined, what: string): { [k: string]: Value } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`etcd model: ${what} must be an object`);
  return v;
}

const bytes = bytesText;

function reqOp(v: Value | undefined, op: string): ReqOp {
  const o = obj(v, `${op} request`);
  const key = bytes(o['key']);
  const end = o['rangeEnd'] === undefined || o['rangeEnd'] === null ? undefined : bytes(o['rangeEnd']);
  if (op === 'range') return { op, key, end };
  if (op === 'put') return { op, key, value: bytes(o['value']), prevKv: o['prevKv'] === true };
  if (op === 'delete') return { op, key, end, prevKv: o['prevKv'] === true };
  throw new Error(`etcd model: unknown request op ${op}`);
}

function tagged(v: Value): ReqOp {
  return reqOp(v, String(obj(v, 'txn request op')['op']));
}

function prepareEtcd(op: Operation): EtcdOp {
  const memo = new Map<number, number>();
  let compares: Cmp[] = [];
  let success: ReqOp[];
  let failure: ReqOp[] = [];
  if (op.f === 'txn') {
    const t = obj(op.input, 'txn request');
    compares = ((t['compares'] ?? []) as Value[]).map((c) => {
      const o = obj(c, 'compare');
      return { key: bytes(o['key']), target: String(o['target']), result: String(o['result']), value: (o['target'] === 'value' ? bytes(o['value']) : toNum(o['value'])) };
    });
    success = ((t['success'] ?? []) as Value[]).map(tagged);
    failure = ((t['failure'] ?? []) as Value[]).map(tagged);
  } else success = [reqOp(op.input, op.f)];
  let response: EtcdOp['response'] = null;
  if (op.status === 'ok') {
    const r = obj(op.output, `${op.f} response`);
    const revision = toNum(r['revision']);
    if (op.f === 'txn') response = { revision, succeeded: r['succeeded'] === true, results: (r['results'] ?? []) as Value[] };
    else response = { revision, succeeded: undefined, results: [r] };
  }
  const readOnly = [...success, ...failure].every((r) => r.op === 'range');
  return { compares, success, failure, response, memo, readOnly, key: `${op.f}\u0000${JSON.stringify(op.input)}\u0000${JSON.stringify(response)}` };
}

const inRange = inKeyRange;

function compareOk(state: EtcdState, c: Cmp): boolean {
  const kv = state.kvs.get(c.key);
  if (kv === undefined && c.target === 'value') return false;
  const actual: string | number =
    c.target === 'value' ? (kv as Kv).value : c.target === 'version' ? (kv?.version ?? 0) : c.target === 'create' ? (kv?.create ?? 0) : (kv?.mod ?? 0);
  switch (c.result) {
    case '=': return actual === c.value;
    case '!=': return actual !== c.value;
    case '<': return actual < c.value;
    case '>': return actual > c.value;
  }
  throw new Error(`etcd model: unknown compare result ${c.result}`);
}

/** What a request op returned, in the recorded shape, for comparison. */
type Result =
  | { readonly op: 'range'; readonly kvs: Array<[string, Kv]> }
  | { readonly op: 'put'; readonly prev: Kv | undefined; readonly key: string }
  | { readonly op: 'delete'; readonly deleted: Array<[string, Kv]> };

/** Applies a txn as etcd does: one revision for all its writes; reads see earlier writes. */
function applyTxn(state: EtcdState, t: EtcdOp): { next: EtcdState; succeeded: boolean; results: Result[] } {
  const succeeded = t.compares.every((c) => compareOk(state, c));
  const kvs = new Map(state.kvs);
  const rev = state.rev + 1;
  let wrote = false;
  const results: Result[] = [];
  for (const r of succeeded ? t.success : t.failure) {
    if (r.op === 'range') {
      const found = [...kvs].filter(([k]) => inRange(k, r.key, r.end)).sort((a, b) => (a[0] < b[0] ? -1 : 1));
      results.push({ op: 'range', kvs: found });
    } else if (r.op === 'put') {
      const prev = kvs.get(r.key);
      kvs.set(r.key, { value: r.value, create: prev?.create ?? rev, mod: rev, version: (prev?.version ?? 0) + 1 });
      wrote = true;
      results.push({ op: 'put', prev, key: r.key });
    } else {
      const deleted = [...kvs].filter(([k]) => inRange(k, r.key, r.end)).sort((a, b) => (a[0] < b[0] ? -1 : 1));
      for (const [k] of deleted) kvs.delete(k);
      if (deleted.length > 0) wrote = true;
      results.push({ op: 'delete', deleted });
    }
  }
  if (!wrote) return { next: state, succeeded, results };
  return { next: { rev, kvs: new Map([...kvs].sort((a, b) => (a[0] < b[0] ? -1 : 1))) }, succeeded, results };
}

function kvMatches(recorded: Value, key: string, kv: Kv): boolean {
  const o = obj(recorded, 'kv');
  return (
    bytes(o['key']) === key &&
    bytes(o['value']) === kv.value &&
    toNum(o['createRevision']) === kv.create &&
    toNum(o['modRevision']) === kv.mod &&
    toNum(o['version']) === kv.version
  );
}

function kvListMatches(recorded: Value | undefined, actual: Array<[string, Kv]>): boolean {
  if (!Array.isArray(recorded) || recorded.length !== actual.length) return false;
  return actual.every(([k, kv], i) => kvMatches(recorded[i] as Value, k, kv));
}

/** Compares only the fields the client recorded. */
function resultMatches(recorded: Value, actual: Result): boolean {
  const o = obj(recorded, 'response op');
  if (actual.op === 'range') {
    if (o['count'] !== undefined && toNum(o['count']) !== actual.kvs.length) return false;
    return o['kvs'] === undefined || kvListMatches(o['kvs'], actual.kvs);
  }
  if (actual.op === 'put') {
    if (o['prevKv'] === undefined) return true;
    if (o['prevKv'] === null) return actual.prev === undefined;
    return actual.prev !== undefined && kvMatches(o['prevKv'], actual.key, actual.prev);
  }
  if (o['deleted'] !== undefined && toNum(o['deleted']) !== actual.deleted.length) return false;
  return o['prevKvs'] === undefined || kvListMatches(o['prevKvs'], actual.deleted);
}

function canonical(s: EtcdState): string {
  let out = String(s.rev);
  for (const [k, kv] of s.kvs) out += `\u0001${k}\u0002${kv.value}\u0002${kv.create}\u0002${kv.mod}\u0002${kv.version}`;
  return out;
}

export interface EtcdModelOptions {
  /** Store revision before the first op (etcd starts at 1). */
  readonly initialRevision?: number;
}

/**
 * etcd's KV semantics with revisions (encoding in histories/etcd.ts): range, put, delete and
 * txn; the response's header revision, range kvs (create/mod revision, version), prev_kv and
 * delete counts are all checked. "fail" and "info" ops may have been applied, at any later time
 * or never, as in etcd's robustness tests. One part only: revisions are global to the store.
 */
export function etcdModel(options: EtcdModelOptions = {}): Model<EtcdOp> {
  const states = new Interner<EtcdState>(canonical);
  const init = states.id({ rev: options.initialRevision ?? 1, kvs: new Map() });
  return {
    name: 'etcd',
    failMeansUnknown: true,
    readOnly: (p) => p.readOnly,
    // Revisions never decrease: a state already past the revision an answered request saw
    // (or produced) can never linearize it.
    isTarget: (p) => p.response !== null,
    canReach: (stateId, p) => p.response === null || states.value(stateId).rev <= p.response.revision,
    opKey: (p) => p.key,
    prepare: prepareEtcd,
    init: () => init,
    step(stateId: number, p: EtcdOp): number {
      const memo = p.memo.get(stateId);
      if (memo !== undefined) return memo;
      const { next, succeeded, results } = applyTxn(states.value(stateId), p);
      let ok = true;
      const r = p.response;
      if (r !== null) {
        ok = r.revision === next.rev && (r.succeeded === undefined || r.succeeded === succeeded) && r.results.length === results.length;
        ok = ok && results.every((res, i) => resultMatches(r.results[i] as Value, res));
      }
      const out = ok ? states.id(next) : REJECT;
      p.memo.set(stateId, out);
      return out;
    },
    describeOp: describeEtcdOp,
    describeState(stateId: number): string {
      const s = states.value(stateId);
      const kvs = [...s.kvs].map(([k, kv]) => `${k}=${JSON.stringify(kv.value)}@${kv.mod}v${kv.version}`);
      return `rev ${s.rev} {${kvs.join(', ')}}`;
    },
  };
}

function showReq(v: Value | undefined, f: string): string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return `${f} ?`;
  if (f === 'put') return `put ${String(v['key'])}=${JSON.stringify(v['value'])}`;
  if (f === 'range' || f === 'delete') return `${f} ${String(v['key'])}${v['rangeEnd'] === undefined ? '' : '..' + JSON.stringify(v['rangeEnd'])}`;
  return `${f}`;
}

export function describeEtcdOp(op: Operation): string {
  const status = op.status === 'ok' ? '' : ` (${op.status})`;
  let req: string;
  if (op.f === 'txn' && typeof op.input === 'object' && op.input !== null && !Array.isArray(op.input)) {
    const t = op.input;
    const cmps = ((t['compares'] ?? []) as Value[]).map((c) => {
      const o = c as { [k: string]: Value };
      return `${o['target']}(${o['key']})${o['result']}${JSON.stringify(o['value'])}`;
    });
    const branch = (b: Value | undefined): string => ((b ?? []) as Value[]).map((r) => showReq(r, String((r as { [k: string]: Value })['op']))).join('; ');
    req = `txn if ${cmps.join(' && ') || 'true'} then [${branch(t['success'])}] else [${branch(t['failure'])}]`;
  } else req = showReq(op.input, op.f);
  if (op.status !== 'ok') return req + status;
  const o = op.output as { [k: string]: Value } | null;
  const rev = o?.['revision'];
  let out = `rev ${String(rev)}`;
  if (op.f === 'range' && Array.isArray(o?.['kvs'])) out += ' ' + (o['kvs'] as Value[]).map((kv) => {
    const x = kv as { [k: string]: Value };
    return `${x['key']}=${JSON.stringify(x['value'])}@${x['modRevision']}`;
  }).join(',');
  if (op.f === 'txn') out += o?.['succeeded'] === true ? ' succeeded' : ' failed';
  return `${req} -> ${out}`;
}
