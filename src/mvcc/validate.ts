/**
 * Request checks that etcd makes in its gRPC layer (v3rpc/key.go) before a request enters Raft:
 * empty keys, ignore_* misuse, sort options, the txn operation limit and duplicate keys among
 * puts and deletes. The store repeats them (they are deterministic), so a request that slipped
 * past the API layer fails the same way on every member instead of half-applying.
 */
import { etcdError } from '../api/errors.js';
import { compareBytes } from '../util/index.js';
import { SortOrder, SortTarget, type DeleteRangeRequest, type PutRequest, type RangeRequest, type RequestOp, type TxnRequest } from './types.js';

export const DEFAULT_MAX_TXN_OPS = 128;

const SORT_ORDERS = new Set<number>(Object.values(SortOrder));
const SORT_TARGETS = new Set<number>(Object.values(SortTarget));

export function checkRangeRequest(r: RangeRequest): void {
  if (r.key.length === 0) throw etcdError('EmptyKey');
  if (!SORT_ORDERS.has(r.sortOrder ?? 0)) throw etcdError('InvalidSortOption');
  if (!SORT_TARGETS.has(r.sortTarget ?? 0)) throw etcdError('InvalidSortOption');
}

export function checkPutRequest(r: PutRequest): void {
  if (r.key.length === 0) throw etcdError('EmptyKey');
  if (r.ignoreValue === true && (r.value?.length ?? 0) !== 0) throw etcdError('ValueProvided');
  if (r.ignoreLease === true && (r.lease ?? 0n) !== 0n) throw etcdError('LeaseProvided');
}

export function checkDeleteRequest(r: DeleteRangeRequest): void {
  if (r.key.length === 0) throw etcdError('EmptyKey');
}

function checkRequestOp(op: RequestOp, maxTxnOps: number): void {
  if ('requestRange' in op) return checkRangeRequest(op.requestRange);
  if ('requestPut' in op) return checkPutRequest(op.requestPut);
  if ('requestDeleteRange' in op) return checkDeleteRequest(op.requestDeleteRange);
  if ('requestTxn' in op) return checkTxnOps(op.requestTxn, maxTxnOps);
  // An empty oneof: etcd answers "key not found".
  throw etcdError('KeyNotFound');
}

/** The limit applies to compare, success and failure separately; nested txns get what is left. */
function checkTxnOps(r: TxnRequest, maxTxnOps: number): void {
  const compare = r.compare ?? [];
  const success = r.success ?? [];
  const failure = r.failure ?? [];
  const opc = Math.max(compare.length, success.length, failure.length);
  if (opc > maxTxnOps) throw etcdError('TooManyOps');
  for (const c of compare) if (c.key.length === 0) throw etcdError('EmptyKey');
  for (const u of success) checkRequestOp(u, maxTxnOps - opc);
  for (const u of failure) checkRequestOp(u, maxTxnOps - opc);
}

/** checkTxnRequest followed by the duplicate-key check, in etcd's order. */
export function checkTxnRequest(r: TxnRequest, maxTxnOps = DEFAULT_MAX_TXN_OPS): void {
  checkTxnOps(r, maxTxnOps);
  checkIntervals(r.success ?? []);
  checkIntervals(r.failure ?? []);
}

/**
 * Half-open byte interval [begin, end); an empty `end` is +infinity (etcd's "affine" strings).
 * A single key k is [k, k+"\0").
 */
interface Interval {
  begin: Uint8Array;
  end: Uint8Array;
}

function containsPoint(iv: Interval, key: Uint8Array): boolean {
  // Same test as etcd's interval tree for a point: begin <= key and key < end. A delete whose
  // range_end is "\0" (from-key) becomes [key, "\0"), which contains nothing: etcd lets a put
  // share a txn with such a delete, and so do we.
  if (compareBytes(iv.begin, key) > 0) return false;
  if (iv.end.length === 0) return true;
  return compareBytes(key, iv.end) < 0;
}

function pointEnd(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}

function overlapsAny(dels: Interval[], key: Uint8Array): boolean {
  return dels.some((iv) => containsPoint(iv, key));
}

function latin1(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/**
 * etcd's checkIntervals: no key may be put twice, nor put and deleted, within one branch; the
 * then and else branches of a nested txn may put the same key since only one runs. Deletes may
 * overlap each other.
 */
function checkIntervals(reqs: RequestOp[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const req of reqs) {
    if (!('requestDeleteRange' in req)) continue;
    const d = req.requestDeleteRange;
    const end = d.rangeEnd ?? new Uint8Array(0);
    dels.push(end.length !== 0 ? { begin: d.key, end } : { begin: d.key, end: pointEnd(d.key) });
  }
  const puts = new Set<string>();
  for (const req of reqs) {
    if (!('requestTxn' in req)) continue;
    const then = checkIntervals(req.requestTxn.success ?? []);
    const els = checkIntervals(req.requestTxn.failure ?? []);
    for (const k of then.puts) {
      if (puts.has(k) || overlapsAny(dels, Buffer.from(k, 'latin1'))) throw etcdError('DuplicateKey');
      puts.add(k);
    }
    for (const k of els.puts) {
      if (puts.has(k) && !then.puts.has(k)) throw etcdError('DuplicateKey');
      if (overlapsAny(dels, Buffer.from(k, 'latin1'))) throw etcdError('DuplicateKey');
      puts.add(k);
    }
    dels.push(...then.dels, ...els.dels);
  }
  for (const req of reqs) {
    if (!('requestPut' in req)) continue;
    const key = req.requestPut.key;
    const k = latin1(key);
    if (puts.has(k) || overlapsAny(dels, key)) throw etcdError('DuplicateKey');
    puts.add(k);
  }
  return { puts, dels };
}

/** Whether a txn request contains any write op in either branch, at any depth (etcd's isTxnReadonly negated). */
export function txnHasWrites(r: TxnRequest): boolean {
  const ops = [...(r.success ?? []), ...(r.failure ?? [])];
  return ops.some((op) => 'requestPut' in op || 'requestDeleteRange' in op || ('requestTxn' in op && txnHasWrites(op.requestTxn)));
}
