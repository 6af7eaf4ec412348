/**
 * Turns recorded golden steps (etcdctl argv or grpc-gateway JSON bodies) into mvcc requests, runs
 * them, and renders results in the shape the real etcd printed: etcdctl -w json is Go's
 * encoding/json over the gogo structs (snake_case, numbers, omitempty, oneof as
 * {"Response":{"ResponsePut":...}}); the gateway is jsonpb (int64 as strings, oneof inline).
 */
import { utf8, fromBase64, toBase64 } from '../../src/util/index.js';
import {
  CompareResult,
  CompareTarget,
  SortOrder,
  SortTarget,
  type Compare,
  type KeyValue,
  type MvccStore,
  type RequestOp,
  type ResponseOp,
  type ResponseHeader,
  type TxnRequest,
} from '../../src/mvcc/index.js';
import { EtcdError } from '../../src/api/index.js';

export interface RecordedStep {
  ctl?: string[];
  stdin?: string;
  exitCode?: number;
  stdout?: string;
  stderr?: string;
  gw?: string;
  body?: Record<string, unknown>;
  httpStatus?: number;
  response?: Record<string, unknown>;
}

type Style = 'ctl' | 'gw';
type Json = Record<string, unknown>;

// ------------------------------------------------------------------ rendering

function int(v: number | bigint, style: Style): number | string {
  return style === 'gw' ? String(v) : Number(v);
}

function renderHeader(h: ResponseHeader, style: Style): Json {
  return h.revision === 0 ? {} : { revision: int(h.revision, style) };
}

export function renderKv(kv: KeyValue, style: Style): Json {
  const out: Json = {};
  if (kv.key.length > 0) out['key'] = toBase64(kv.key);
  if (kv.createRevision !== 0) out['create_revision'] = int(kv.createRevision, style);
  if (kv.modRevision !== 0) out['mod_revision'] = int(kv.modRevision, style);
  if (kv.version !== 0) out['version'] = int(kv.version, style);
  if (kv.value.length > 0) out['value'] = toBase64(kv.value);
  // Lease ids are random int64s beyond 2^53: kept as decimal strings on both sides.
  if (kv.lease !== 0n) out['lease'] = String(kv.lease);
  return out;
}

function renderOp(op: ResponseOp, style: Style): Json {
  const [ctlName, gwName, inner] =
    'responseRange' in op
      ? ['ResponseRange', 'response_range', render(op.responseRange, style)]
      : 'responsePut' in op
        ? ['ResponsePut', 'response_put', render(op.responsePut, style)]
        : 'responseDeleteRange' in op
          ? ['ResponseDeleteRange', 'response_delete_range', render(op.responseDeleteRange, style)]
          : ['ResponseTxn', 'response_txn', render(op.responseTxn, style)];
  return style === 'ctl' ? { Response: { [ctlName]: inner } } : { [gwName]: inner };
}

/** Any mvcc response -> the JSON etcd printed, header reduced to its revision. */
export function render(resp: object, style: Style): Json {
  const r = resp as Record<string, unknown>;
  const out: Json = { header: renderHeader(r['header'] as ResponseHeader, style) };
  if (Array.isArray(r['kvs']) && r['kvs'].length > 0) out['kvs'] = (r['kvs'] as KeyValue[]).map((kv) => renderKv(kv, style));
  if (r['more'] === true) out['more'] = true;
  if (typeof r['count'] === 'number' && r['count'] !== 0) out['count'] = int(r['count'], style);
  if (r['prevKv'] !== undefined) out['prev_kv'] = renderKv(r['prevKv'] as KeyValue, style);
  if (typeof r['deleted'] === 'number' && r['deleted'] !== 0) out['deleted'] = int(r['deleted'], style);
  if (Array.isArray(r['prevKvs']) && r['prevKvs'].length > 0) out['prev_kvs'] = (r['prevKvs'] as KeyValue[]).map((kv) => renderKv(kv, style));
  if (r['succeeded'] === true) out['succeeded'] = true;
  if (Array.isArray(r['responses']) && r['responses'].length > 0) out['responses'] = (r['responses'] as ResponseOp[]).map((op) => renderOp(op, style));
  return out;
}

/** Drop what differs between clusters: cluster_id, member_id, raft_term of the top header. */
export function normalise(json: Json): Json {
  const h = json['header'] as Json | undefined;
  if (h === undefined) return json;
  const rest: Json = {};
  if (h['revision'] !== undefined) rest['revision'] = h['revision'];
  return { ...json, header: rest };
}

// ------------------------------------------------------------------ etcdctl argv

interface Flags {
  pos: string[];
  opts: Map<string, string>;
}

function parseFlags(args: string[]): Flags {
  const pos: string[] = [];
  const opts = new Map<string, string>();
  for (const a of args) {
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq < 0) opts.set(a.slice(2), 'true');
      else opts.set(a.slice(2, eq), a.slice(eq + 1));
    } else pos.push(a);
  }
  return { pos, opts };
}

/** clientv3.GetPrefixRangeEnd: increment the last byte below 0xff, dropping trailing 0xff. */
export function prefixEnd(key: Uint8Array): Uint8Array {
  const end = key.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.slice(0, i + 1);
    }
  }
  return new Uint8Array([0]);
}

/** Key and range end as clientv3's WithPrefix / WithFromKey / explicit end set them. */
function keyRange(f: Flags): { key: Uint8Array; rangeEnd?: Uint8Array } {
  let key = utf8(f.pos[0] ?? '');
  if (f.opts.get('prefix') === 'true') {
    if (key.length === 0) return { key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) };
    return { key, rangeEnd: prefixEnd(key) };
  }
  if (f.opts.get('from-key') === 'true') {
    if (key.length === 0) key = new Uint8Array([0]);
    return { key, rangeEnd: new Uint8Array([0]) };
  }
  if (f.pos[1] !== undefined) return { key, rangeEnd: utf8(f.pos[1]) };
  return { key };
}

const SORT_TARGETS: Record<string, SortTarget> = {
  CREATE: SortTarget.CREATE,
  KEY: SortTarget.KEY,
  MODIFY: SortTarget.MOD,
  VALUE: SortTarget.VALUE,
  VERSION: SortTarget.VERSION,
};

function getRequest(f: Flags): import('../../src/mvcc/index.js').RangeRequest {
  const order = (f.opts.get('order') ?? '').toUpperCase();
  let sortOrder: SortOrder = order === 'ASCEND' ? SortOrder.ASCEND : order === 'DESCEND' ? SortOrder.DESCEND : SortOrder.NONE;
  const sortTarget = SORT_TARGETS[(f.opts.get('sort-by') ?? 'KEY').toUpperCase()] ?? SortTarget.KEY;
  // clientv3.WithSort: KEY + ASCEND is the server's natural order, so the client sends NONE.
  if (sortTarget === SortTarget.KEY && sortOrder === SortOrder.ASCEND) sortOrder = SortOrder.NONE;
  return {
    ...keyRange(f),
    limit: Number(f.opts.get('limit') ?? 0),
    revision: Number(f.opts.get('rev') ?? 0),
    sortOrder,
    sortTarget,
    keysOnly: f.opts.get('keys-only') === 'true',
    serializable: f.opts.get('consistency') === 's',
  };
}

function putRequest(f: Flags): import('../../src/mvcc/index.js').PutRequest {
  return {
    key: utf8(f.pos[0] ?? ''),
    value: utf8(f.pos[1] ?? ''),
    lease: BigInt('0x' + (f.opts.get('lease') ?? '0')),
    prevKv: f.opts.get('prev-kv') === 'true',
    ignoreValue: f.opts.get('ignore-value') === 'true',
    ignoreLease: f.opts.get('ignore-lease') === 'true',
  };
}

function delRequest(f: Flags): import('../../src/mvcc/index.js').DeleteRangeRequest {
  return { ...keyRange(f), prevKv: f.opts.get('prev-kv') === 'true' };
}

/** One line of `etcdctl txn` input: put/get/del with flags. */
function txnOpLine(line: string): RequestOp {
  const words = line.trim().split(/\s+/);
  const f = parseFlags(words.slice(1));
  switch (words[0]) {
    case 'put':
      return { requestPut: putRequest(f) };
    case 'get':
      return { requestRange: getRequest(f) };
    case 'del':
      return { requestDeleteRange: delRequest(f) };
    default:
      throw new Error(`unsupported txn op line: ${line}`);
  }
}

const CMP_TARGETS: Record<string, CompareTarget> = {
  version: CompareTarget.VERSION,
  create: CompareTarget.CREATE,
  mod: CompareTarget.MOD,
  value: CompareTarget.VALUE,
  lease: CompareTarget.LEASE,
};
const CMP_RESULTS: Record<string, CompareResult> = {
  '=': CompareResult.EQUAL,
  '!=': CompareResult.NOT_EQUAL,
  '<': CompareResult.LESS,
  '>': CompareResult.GREATER,
};

function compareLine(line: string): Compare {
  const m = /^(\w+)\("(.*)"\)\s*(=|!=|<|>)\s*"(.*)"$/.exec(line.trim());
  if (m === null) throw new Error(`unsupported compare line: ${line}`);
  const target = CMP_TARGETS[m[1] as string] as CompareTarget;
  const c: Compare = { key: utf8(m[2] as string), target, result: CMP_RESULTS[m[3] as string] as CompareResult };
  const v = m[4] as string;
  if (target === CompareTarget.VALUE) c.value = utf8(v);
  else if (target === CompareTarget.LEASE) c.lease = BigInt('0x' + v);
  else if (target === CompareTarget.VERSION) c.version = Number(v);
  else if (target === CompareTarget.CREATE) c.createRevision = Number(v);
  else c.modRevision = Number(v);
  return c;
}

/** etcdctl txn's stdin: compares, blank line, success ops, blank line, failure ops. */
export function parseTxnStdin(stdin: string): TxnRequest {
  const lines = stdin.split('\n');
  const sections: string[][] = [[], [], []];
  let s = 0;
  for (const line of lines) {
    if (line.trim() === '') {
      s++;
      if (s > 2) break;
      continue;
    }
    (sections[s] as string[]).push(line);
  }
  return {
    compare: (sections[0] as string[]).map(compareLine),
    success: (sections[1] as string[]).map(txnOpLine),
    failure: (sections[2] as string[]).map(txnOpLine),
  };
}

export type StepOutcome = { ok: true; text: string } | { ok: false; error: EtcdError };

function attempt(fn: () => string): StepOutcome {
  try {
    return { ok: true, text: fn() };
  } catch (e) {
    if (e instanceof EtcdError) return { ok: false, error: e };
    throw e;
  }
}

/** What a sequence's replay tracks besides the store: the leases granted so far (the lessor's part). */
export interface ReplayContext {
  leases: Set<bigint>;
}

/** `etcdctl lease grant|revoke`, standing in for the lessor: grant records the recorded id. */
function runLease(store: MvccStore, step: RecordedStep, f: Flags, ctx: ReplayContext): string {
  if (f.pos[0] === 'grant') {
    const m = /"ID":(\d+)/.exec(step.stdout ?? '');
    if (m !== null) ctx.leases.add(BigInt(m[1] as string));
    return JSON.stringify({ revision: store.rev() });
  }
  const id = BigInt('0x' + (f.pos[1] ?? '0'));
  if (!ctx.leases.delete(id)) throw new EtcdError(5, 'etcdserver: requested lease not found');
  const keys = store.leasedKeys().filter((k) => k.lease === id).map((k) => k.key);
  return JSON.stringify({ revision: store.deleteKeys(keys) });
}

/** Run an etcdctl step; text is what `etcdctl -w json` would print (normalised JSON, or plain). */
export function runCtl(store: MvccStore, step: RecordedStep, ctx: ReplayContext): StepOutcome {
  const argv = step.ctl ?? [];
  const cmd = argv[0];
  const f = parseFlags(argv.slice(cmd === 'endpoint' ? 2 : 1));
  const json = (o: object): string => JSON.stringify(normalise(render(o, 'ctl')));
  return attempt(() => {
    switch (cmd) {
      case 'put':
        return json(store.put(putRequest(f)));
      case 'get':
        return json(store.range(getRequest(f)));
      case 'del':
        return json(store.deleteRange(delRequest(f)));
      case 'txn':
        return json(store.txn(parseTxnStdin(step.stdin ?? '')));
      case 'compact': {
        const rev = Number(f.pos[0]);
        store.compact({ revision: rev, physical: f.opts.get('physical') === 'true' });
        return `compacted revision ${rev}`;
      }
      case 'lease':
        return runLease(store, step, parseFlags(argv.slice(1)), ctx);
      case 'endpoint': {
        const r = store.hashKV(Number(f.opts.get('rev') ?? 0));
        return JSON.stringify({ hash: r.hash, compact_revision: r.compactRevision, revision: r.header.revision });
      }
      default:
        throw new Error(`unsupported etcdctl command ${argv.join(' ')}`);
    }
  });
}

/** The recorded etcdctl result in the same normalised text form. */
export function expectedCtl(step: RecordedStep): StepOutcome | { ok: false; message: string } {
  if (step.exitCode !== 0) {
    const lines = (step.stderr ?? '').trim().split('\n');
    return { ok: false, message: (lines[lines.length - 1] ?? '').replace(/^Error: /, '') };
  }
  const out = (step.stdout ?? '').trim().replace(/"lease":(\d+)/g, '"lease":"$1"');
  if ((step.ctl ?? [])[0] === 'compact') return { ok: true, text: out };
  if ((step.ctl ?? [])[0] === 'lease') {
    const header = (JSON.parse(out) as { header?: { revision: number }; revision?: number });
    return { ok: true, text: JSON.stringify({ revision: header.header?.revision ?? header.revision }) };
  }
  if ((step.ctl ?? [])[0] === 'endpoint') {
    const arr = JSON.parse(out) as { HashKV: { hash: number; compact_revision?: number; header: { revision: number } } }[];
    const h = (arr[0] as (typeof arr)[number]).HashKV;
    return { ok: true, text: JSON.stringify({ hash: h.hash, compact_revision: h.compact_revision ?? 0, revision: h.header.revision }) };
  }
  return { ok: true, text: JSON.stringify(normalise(JSON.parse(out) as Json)) };
}

// ------------------------------------------------------------------ gateway JSON

function bytesField(v: unknown): Uint8Array | undefined {
  return typeof v === 'string' ? fromBase64(v) : undefined;
}

function num(v: unknown): number {
  return v === undefined ? 0 : Number(v);
}

function enumOf<T extends number>(v: unknown, table: Record<string, T>): T {
  if (v === undefined) return 0 as T;
  if (typeof v === 'number') return v as T;
  const t = table[String(v)];
  if (t === undefined) throw new Error(`unknown enum ${String(v)}`);
  return t;
}

const SORT_ORDER_NAMES: Record<string, SortOrder> = { NONE: 0, ASCEND: 1, DESCEND: 2 };
const SORT_TARGET_NAMES: Record<string, SortTarget> = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 };
const RESULT_NAMES: Record<string, CompareResult> = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 };
const TARGET_NAMES: Record<string, CompareTarget> = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 };

function withEnd<T extends object>(base: T, b: Json): T & { rangeEnd?: Uint8Array } {
  const end = bytesField(b['range_end']);
  return end === undefined ? base : { ...base, rangeEnd: end };
}

function gwRange(b: Json): import('../../src/mvcc/index.js').RangeRequest {
  return withEnd(
    {
      key: bytesField(b['key']) ?? new Uint8Array(0),
      limit: num(b['limit']),
      revision: num(b['revision']),
      sortOrder: enumOf(b['sort_order'], SORT_ORDER_NAMES),
      sortTarget: enumOf(b['sort_target'], SORT_TARGET_NAMES),
      serializable: b['serializable'] === true,
      keysOnly: b['keys_only'] === true,
      countOnly: b['count_only'] === true,
      minModRevision: num(b['min_mod_revision']),
      maxModRevision: num(b['max_mod_revision']),
      minCreateRevision: num(b['min_create_revision']),
      maxCreateRevision: num(b['max_create_revision']),
    },
    b,
  );
}

function gwPut(b: Json): import('../../src/mvcc/index.js').PutRequest {
  return {
    key: bytesField(b['key']) ?? new Uint8Array(0),
    value: bytesField(b['value']) ?? new Uint8Array(0),
    lease: BigInt(String(b['lease'] ?? '0')),
    prevKv: b['prev_kv'] === true,
    ignoreValue: b['ignore_value'] === true,
    ignoreLease: b['ignore_lease'] === true,
  };
}

function gwDelete(b: Json): import('../../src/mvcc/index.js').DeleteRangeRequest {
  return withEnd({ key: bytesField(b['key']) ?? new Uint8Array(0), prevKv: b['prev_kv'] === true }, b);
}

function gwCompare(b: Json): Compare {
  const c: Compare = withEnd(
    { key: bytesField(b['key']) ?? new Uint8Array(0), result: enumOf(b['result'], RESULT_NAMES), target: enumOf(b['target'], TARGET_NAMES) },
    b,
  );
  if (b['value'] !== undefined) c.value = bytesField(b['value']) as Uint8Array;
  if (b['version'] !== undefined) c.version = num(b['version']);
  if (b['create_revision'] !== undefined) c.createRevision = num(b['create_revision']);
  if (b['mod_revision'] !== undefined) c.modRevision = num(b['mod_revision']);
  if (b['lease'] !== undefined) c.lease = BigInt(String(b['lease']));
  return c;
}

function gwOp(b: Json): RequestOp {
  if (b['request_range'] !== undefined) return { requestRange: gwRange(b['request_range'] as Json) };
  if (b['request_put'] !== undefined) return { requestPut: gwPut(b['request_put'] as Json) };
  if (b['request_delete_range'] !== undefined) return { requestDeleteRange: gwDelete(b['request_delete_range'] as Json) };
  if (b['request_txn'] !== undefined) return { requestTxn: gwTxn(b['request_txn'] as Json) };
  return {} as RequestOp; // an empty oneof, which etcd rejects
}

function gwTxn(b: Json): TxnRequest {
  return {
    compare: ((b['compare'] as Json[] | undefined) ?? []).map(gwCompare),
    success: ((b['success'] as Json[] | undefined) ?? []).map(gwOp),
    failure: ((b['failure'] as Json[] | undefined) ?? []).map(gwOp),
  };
}

export function runGateway(store: MvccStore, step: RecordedStep): StepOutcome {
  const b = step.body ?? {};
  const json = (o: object): string => JSON.stringify(normalise(render(o, 'gw')));
  return attempt(() => {
    switch (step.gw) {
      case 'range':
        return json(store.range(gwRange(b)));
      case 'put':
        return json(store.put(gwPut(b)));
      case 'deleterange':
        return json(store.deleteRange(gwDelete(b)));
      case 'txn':
        return json(store.txn(gwTxn(b)));
      case 'compaction':
        return json(store.compact({ revision: num(b['revision']), physical: b['physical'] === true }));
      default:
        throw new Error(`unsupported gateway call ${String(step.gw)}`);
    }
  });
}

export function expectedGateway(step: RecordedStep): StepOutcome | { ok: false; message: string; code: number } {
  const r = step.response ?? {};
  if (step.httpStatus !== 200) return { ok: false, message: String(r['message']), code: Number(r['code']) };
  return { ok: true, text: JSON.stringify(normalise(r)) };
}
