/**
 * The multi-version store: etcd's mvcc.store plus the KV parts of etcd's applier (Range options,
 * Put flags, Txn compares and branches, Compact), pure and synchronous. All state changes go
 * through the Backend; the in-memory index is rebuilt from it on open. Revisions start at 1 (an
 * empty store); each write transaction that changes something takes the next main revision, its
 * changes numbered by sub revision.
 */
import { etcdError } from '../api/errors.js';
import { AssertionError, assert, bytesEqual, compareBytes, crc32c, utf8 } from '../util/index.js';
import type { Backend } from './backend.js';
import { decodeKeyValue, encodeKeyValue, type KeyValue } from './kv.js';
import { bytesToRev, bytesToU64, isTombstoneKey, revision, revToBytes, u64ToBytes, type Revision } from './revision.js';
import { TreeIndex, keyString } from './tree_index.js';
import { copyBytes } from './slab.js';
import { decodeSnapshot, encodeSnapshot } from './snapshot.js';
import {
  CompareResult,
  CompareTarget,
  EventType,
  SortOrder,
  SortTarget,
  type Compare,
  type CompactionRequest,
  type CompactionResponse,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type HashKVResponse,
  type HashResponse,
  type LeaseEvent,
  type MvccEvent,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type RequestOp,
  type ResponseHeader,
  type ResponseOp,
  type TxnRequest,
  type TxnResponse,
} from './types.js';
import { DEFAULT_MAX_TXN_OPS, checkDeleteRequest, checkPutRequest, checkRangeRequest, checkTxnRequest, txnHasWrites } from './validate.js';

export interface StoreOptions {
  /** etcd --max-txn-ops, default 128. */
  maxTxnOps?: number;
  /** Whether a lease id exists (the lessor's Lookup). Without it every lease is taken to exist. */
  leaseExists?: (lease: bigint) => boolean;
}

const META_CONSISTENT_INDEX = utf8('consistent_index');
const META_TERM = utf8('term');
const META_SCHEDULED_COMPACT = utf8('scheduledCompactRev');
const META_FINISHED_COMPACT = utf8('finishedCompactRev');
const KEY_BUCKET_NAME = utf8('key');
const RESERVED_META = [META_CONSISTENT_INDEX, META_TERM, META_SCHEDULED_COMPACT, META_FINISHED_COMPACT];

function isReservedMeta(key: Uint8Array): boolean {
  return RESERVED_META.some((r) => bytesEqual(r, key));
}
const EMPTY = new Uint8Array(0);

export function header(revision: number): ResponseHeader {
  return { clusterId: 0n, memberId: 0n, revision, raftTerm: 0 };
}

/** The smallest key greater than every key with this prefix (undefined: no bound). */
function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  const end = Uint8Array.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return undefined;
}

/** etcd's mkGteRange plus "no range_end": undefined = single key, empty = to the end of the keyspace. */
function rangeEndOf(rangeEnd: Uint8Array | undefined): Uint8Array | undefined {
  if (rangeEnd === undefined || rangeEnd.length === 0) return undefined;
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return EMPTY;
  return rangeEnd;
}

/** One write transaction: every change shares main revision beginRev + 1. */
interface WriteTxn {
  beginRev: number;
  changes: MvccEvent[];
}

export class MvccStore {
  private readonly index = new TreeIndex();
  private currentRev = 1;
  private compactMainRev = -1;
  private ciIndex = 0;
  private ciTerm = 0;
  /** ciIndex/ciTerm changed in the caller's open batch and are not yet in the backend. */
  private ciDirty = false;
  private callerBatch = false;
  private readonly maxTxnOps: number;
  private readonly leaseExists: (lease: bigint) => boolean;
  /** Lease of each live key that has one (etcd asks its lessor; we keep it here to skip a decode). */
  private readonly leaseByKey = new Map<string, bigint>();
  private readonly leaseListeners: ((e: LeaseEvent) => void)[] = [];
  private readonly changeListeners: ((rev: number, events: readonly MvccEvent[]) => void)[] = [];

  private constructor(
    private readonly backend: Backend,
    options: StoreOptions,
  ) {
    this.maxTxnOps = options.maxTxnOps ?? DEFAULT_MAX_TXN_OPS;
    this.leaseExists = options.leaseExists ?? (() => true);
  }

  /** Opens the store over a backend, rebuilding the index from what the backend holds. */
  static open(backend: Backend, options: StoreOptions = {}): MvccStore {
    // A batch left open by a store that crashed was never durable: drop it, as a restart would.
    if (backend.inBatch()) backend.abortBatch();
    const s = new MvccStore(backend, options);
    s.rebuild();
    return s;
  }

  // ---------------------------------------------------------------- state and hooks

  rev(): number {
    return this.currentRev;
  }

  /** The last compaction revision, or -1 if never compacted (etcd's compactMainRev). */
  compactRevision(): number {
    return this.compactMainRev;
  }

  /** Raft index of the last entry whose effects are in the backend; the applier skips entries <= it. */
  consistentIndex(): number {
    return this.ciIndex;
  }

  consistentTerm(): number {
    return this.ciTerm;
  }

  /**
   * Record the applied entry, in the same backend batch as its effects. Inside a caller's batch
   * only the last index matters, so it is written once, by commitBatch(), into that same commit.
   */
  setConsistentIndex(index: number, term: number): void {
    assert(index >= this.ciIndex, () => `consistent index going back: ${index} < ${this.ciIndex}`);
    assert(term >= this.ciTerm, () => `consistent term going back: ${term} < ${this.ciTerm}`);
    this.ciIndex = index;
    this.ciTerm = term;
    if (this.callerBatch) this.ciDirty = true;
    else this.withBatch(() => this.writeConsistentIndex());
  }

  private writeConsistentIndex(): void {
    this.backend.put('meta', META_CONSISTENT_INDEX, u64ToBytes(this.ciIndex));
    this.backend.put('meta', META_TERM, u64ToBytes(this.ciTerm));
    this.ciDirty = false;
  }

  onLeaseEvent(listener: (e: LeaseEvent) => void): void {
    this.leaseListeners.push(listener);
  }

  /** Called once per write transaction that changed something, with all its events in sub order. */
  onChanges(listener: (rev: number, events: readonly MvccEvent[]) => void): void {
    this.changeListeners.push(listener);
  }

  /** Live keys that hold a lease: what the lessor must re-attach after a restart or restore. */
  leasedKeys(): { key: Uint8Array; lease: bigint }[] {
    return [...this.leaseByKey.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, lease]) => ({ key: new Uint8Array(Buffer.from(k, 'latin1')), lease }));
  }

  backendSizeBytes(): number {
    return this.backend.sizeBytes();
  }

  // ---------------------------------------------------------------- batching

  /** Start a batch: everything until commitBatch() lands in one backend transaction. */
  beginBatch(): void {
    assert(!this.callerBatch, 'batch already open');
    this.backend.beginBatch();
    this.callerBatch = true;
  }

  /** Commit the batch (with the consistent index it reached); durable when this returns. */
  commitBatch(): void {
    assert(this.callerBatch, 'no batch open');
    if (this.ciDirty) this.writeConsistentIndex();
    this.callerBatch = false;
    this.backend.commitBatch();
  }

  inBatch(): boolean {
    return this.callerBatch;
  }

  private withBatch<T>(fn: () => T): T {
    if (this.callerBatch) return fn();
    this.backend.beginBatch();
    try {
      const result = fn();
      this.backend.commitBatch();
      return result;
    } catch (e) {
      this.backend.abortBatch();
      throw e;
    }
  }

  // ---------------------------------------------------------------- reads

  private readKv(rev: Revision, key: Uint8Array): KeyValue {
    const bytes = this.backend.get('key', revToBytes(rev));
    assert(bytes !== undefined, () => `index points at missing revision ${rev.main}.${rev.sub}`);
    const kv = decodeKeyValue(bytes);
    assert(bytesEqual(kv.key, key), 'backend key differs from index key');
    assert(kv.modRevision === rev.main, 'backend mod revision differs from index');
    return kv;
  }

  /**
   * etcd's rangeKeys: the live keys in [key, end) at rev (0 = curRev). Fetches at most `limit`
   * values (0 = all) but always counts every key.
   */
  private rangeKeys(key: Uint8Array, end: Uint8Array | undefined, curRev: number, rev = 0, limit = 0, countOnly = false): { kvs: KeyValue[]; count: number; rev: number } {
    if (rev > curRev) throw etcdError('FutureRev');
    const atRev = rev <= 0 ? curRev : rev;
    if (atRev < this.compactMainRev) throw etcdError('Compacted');
    if (countOnly) return { kvs: [], count: this.index.countRevisions(key, end, atRev), rev: curRev };
    const { hits, total } = this.index.revisions(key, end, atRev, limit);
    const kvs: KeyValue[] = [];
    for (const h of hits) {
      const kv = this.readKv(h.modified, h.key);
      assert(kv.createRevision === h.created.main && kv.version === h.version, 'backend create/version differ from index');
      kvs.push(kv);
    }
    return { kvs, count: total, rev: curRev };
  }

  /** The applier's Range: filters, sorting and limit applied over rangeKeys, as etcd does. */
  private rangeAt(r: RangeRequest, curRev: number): RangeResponse {
    const limit = r.limit ?? 0;
    const minMod = r.minModRevision ?? 0;
    const maxMod = r.maxModRevision ?? 0;
    const minCreate = r.minCreateRevision ?? 0;
    const maxCreate = r.maxCreateRevision ?? 0;
    const needAll = (r.sortOrder ?? 0) !== SortOrder.NONE || minMod !== 0 || maxMod !== 0 || minCreate !== 0 || maxCreate !== 0;
    const fetch = needAll || limit <= 0 ? 0 : limit + 1;
    const rr = this.rangeKeys(r.key, rangeEndOf(r.rangeEnd), curRev, r.revision ?? 0, fetch, r.countOnly === true);
    let kvs = rr.kvs.filter(
      (kv) =>
        !(maxMod !== 0 && kv.modRevision > maxMod) &&
        !(minMod !== 0 && kv.modRevision < minMod) &&
        !(maxCreate !== 0 && kv.createRevision > maxCreate) &&
        !(minCreate !== 0 && kv.createRevision < minCreate),
    );
    kvs = sortKvs(kvs, r.sortOrder ?? SortOrder.NONE, r.sortTarget ?? SortTarget.KEY);
    let more = false;
    if (limit > 0 && kvs.length > limit) {
      kvs = kvs.slice(0, limit);
      more = true;
    }
    if (r.keysOnly === true) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
    return { header: header(rr.rev), kvs, more, count: rr.count };
  }

  range(r: RangeRequest): RangeResponse {
    checkRangeRequest(r);
    return this.rangeAt(r, this.currentRev);
  }

  // ---------------------------------------------------------------- writes

  private beginWrite(): WriteTxn {
    return { beginRev: this.currentRev, changes: [] };
  }

  /** The revision reads inside the txn see: its own writes are visible. */
  private txnReadRev(tw: WriteTxn): number {
    return tw.changes.length > 0 ? tw.beginRev + 1 : tw.beginRev;
  }

  private endWrite(tw: WriteTxn): number {
    assert(this.currentRev === tw.beginRev, 'store revision moved during a write txn');
    if (tw.changes.length === 0) return tw.beginRev;
    this.currentRev = tw.beginRev + 1;
    assert(this.currentRev > this.compactMainRev, 'revision at or below the compaction revision');
    tw.changes.forEach((ev, i) => assert(ev.kv.modRevision === this.currentRev, () => `change ${i} has the wrong main revision`));
    for (const l of this.changeListeners) l(this.currentRev, tw.changes);
    return this.currentRev;
  }

  private emitLease(kind: 'attach' | 'detach', lease: bigint, key: Uint8Array): void {
    for (const l of this.leaseListeners) l({ kind, lease, key });
  }

  /** Sub revisions number a txn's changes 0, 1, 2, ... in the order they happen. */
  private nextRev(tw: WriteTxn): Revision {
    assert(tw.beginRev === this.currentRev, 'write txn outlived its revision');
    return revision(tw.beginRev + 1, tw.changes.length);
  }

  private txnPut(tw: WriteTxn, key: Uint8Array, value: Uint8Array, lease: bigint): void {
    const rev = this.nextRev(tw);
    // The key as text once: the index map, the tree and the lease map all use it.
    const k = keyString(key);
    const ki = this.index.findByText(k);
    const prev = ki?.get(rev.main);
    const oldLease = this.leaseByKey.get(k) ?? 0n;
    assert(prev !== undefined || oldLease === 0n, 'a deleted key still holds a lease');
    const kv: KeyValue = {
      key: key.slice(),
      createRevision: prev === undefined ? rev.main : prev.created.main,
      modRevision: rev.main,
      version: (prev?.version ?? 0) + 1,
      value: copyBytes(value),
      lease,
    };
    this.backend.put('key', revToBytes(rev), encodeKeyValue(kv));
    (ki ?? this.index.getOrCreateByText(k, kv.key)).put(rev);
    tw.changes.push({ type: EventType.PUT, kv });
    if (lease !== 0n) this.leaseByKey.set(k, lease);
    else if (oldLease !== 0n) this.leaseByKey.delete(k);
    if (oldLease !== 0n) this.emitLease('detach', oldLease, kv.key);
    if (lease !== 0n) this.emitLease('attach', lease, kv.key);
  }

  private txnDeleteRange(tw: WriteTxn, key: Uint8Array, end: Uint8Array | undefined): number {
    const readRev = this.txnReadRev(tw);
    const { hits } = this.index.revisions(key, end, readRev);
    for (const h of hits) {
      const rev = this.nextRev(tw);
      const k = keyString(h.key);
      const oldLease = this.leaseByKey.get(k) ?? 0n;
      this.leaseByKey.delete(k);
      const tomb: KeyValue = { key: h.key, createRevision: 0, modRevision: 0, version: 0, value: EMPTY, lease: 0n };
      this.backend.put('key', revToBytes(rev, true), encodeKeyValue(tomb));
      const ki = this.index.find(h.key);
      assert(ki !== undefined, 'deleting a key missing from the index');
      ki.tombstone(rev);
      tw.changes.push({ type: EventType.DELETE, kv: { ...tomb, modRevision: rev.main } });
      if (oldLease !== 0n) this.emitLease('detach', oldLease, h.key);
    }
    return hits.length;
  }

  /** Put as the applier does it: prevKv/ignore_* read the key first, inside the same txn. */
  private applyPut(tw: WriteTxn, p: PutRequest): PutResponse {
    let value = p.value ?? EMPTY;
    let lease = p.lease ?? 0n;
    let prev: KeyValue | undefined;
    if (p.ignoreValue === true || p.ignoreLease === true || p.prevKv === true) {
      prev = this.rangeKeys(p.key, undefined, this.txnReadRev(tw)).kvs[0];
    }
    if (p.ignoreValue === true || p.ignoreLease === true) {
      if (prev === undefined) throw etcdError('KeyNotFound');
      if (p.ignoreValue === true) value = prev.value;
      if (p.ignoreLease === true) lease = prev.lease;
    }
    this.txnPut(tw, p.key, value, lease);
    const resp: PutResponse = { header: header(tw.beginRev + 1) };
    if (p.prevKv === true && prev !== undefined) resp.prevKv = prev;
    return resp;
  }

  private applyDeleteRange(tw: WriteTxn, d: DeleteRangeRequest): DeleteRangeResponse {
    const end = rangeEndOf(d.rangeEnd);
    const prevKvs = d.prevKv === true ? this.rangeKeys(d.key, end, this.txnReadRev(tw)).kvs : [];
    const deleted = this.txnDeleteRange(tw, d.key, end);
    const rev = deleted !== 0 || tw.changes.length > 0 ? tw.beginRev + 1 : tw.beginRev;
    return { header: header(rev), deleted, prevKvs };
  }

  put(p: PutRequest): PutResponse {
    checkPutRequest(p);
    if ((p.lease ?? 0n) !== 0n && !this.leaseExists(p.lease ?? 0n)) throw etcdError('LeaseNotFound');
    return this.withBatch(() => {
      const tw = this.beginWrite();
      const resp = this.applyPut(tw, p);
      this.endWrite(tw);
      return resp;
    });
  }

  deleteRange(d: DeleteRangeRequest): DeleteRangeResponse {
    checkDeleteRequest(d);
    return this.withBatch(() => {
      const tw = this.beginWrite();
      const resp = this.applyDeleteRange(tw, d);
      this.endWrite(tw);
      return resp;
    });
  }

  /**
   * Delete these keys in one revision, as a lease revoke does; no txn-size limit applies. Returns
   * the store revision afterwards (unchanged if none of the keys existed).
   */
  deleteKeys(keys: readonly Uint8Array[]): number {
    return this.withBatch(() => {
      const tw = this.beginWrite();
      for (const key of keys) {
        assert(key.length > 0, 'deleteKeys with an empty key');
        this.txnDeleteRange(tw, key, undefined);
      }
      return this.endWrite(tw);
    });
  }

  // ---------------------------------------------------------------- txn

  private applyCompare(c: Compare, curRev: number): boolean {
    const kvs = this.rangeKeys(c.key, rangeEndOf(c.rangeEnd), curRev).kvs;
    if (kvs.length === 0) {
      // etcd: comparing the value of a missing key always fails; other targets compare zeros.
      if (c.target === CompareTarget.VALUE) return false;
      return compareKv(c, { key: c.key, createRevision: 0, modRevision: 0, version: 0, value: EMPTY, lease: 0n });
    }
    return kvs.every((kv) => compareKv(c, kv));
  }

  /** Which branch each txn (outer first, then nested in order) takes, all judged before any write. */
  private compareToPath(r: TxnRequest, curRev: number): boolean[] {
    const ok = (r.compare ?? []).every((c) => this.applyCompare(c, curRev));
    const path = [ok];
    for (const op of (ok ? r.success : r.failure) ?? []) {
      if ('requestTxn' in op) path.push(...this.compareToPath(op.requestTxn, curRev));
    }
    return path;
  }

  /** Visit the ops on the taken path, depth first, as etcd's checkRequests does. */
  private forEachPathOp(r: TxnRequest, path: boolean[], fn: (op: RequestOp) => void): number {
    let used = 1;
    const taken = path[0] === true;
    for (const op of (taken ? r.success : r.failure) ?? []) {
      if ('requestTxn' in op) used += this.forEachPathOp(op.requestTxn, path.slice(used), fn);
      else fn(op);
    }
    return used;
  }

  private checkTxnPaths(r: TxnRequest, path: boolean[], curRev: number): void {
    if (txnHasWrites(r)) {
      this.forEachPathOp(r, path, (op) => {
        if (!('requestPut' in op)) return;
        const p = op.requestPut;
        if (p.ignoreValue === true || p.ignoreLease === true) {
          if (this.rangeKeys(p.key, undefined, curRev).kvs.length === 0) throw etcdError('KeyNotFound');
        }
        if ((p.lease ?? 0n) !== 0n && !this.leaseExists(p.lease ?? 0n)) throw etcdError('LeaseNotFound');
      });
    }
    this.forEachPathOp(r, path, (op) => {
      if (!('requestRange' in op)) return;
      const rev = op.requestRange.revision ?? 0;
      if (rev === 0) return;
      if (rev > curRev) throw etcdError('FutureRev');
      if (rev < this.compactMainRev) throw etcdError('Compacted');
    });
  }

  private applyTxnOps(tw: WriteTxn, r: TxnRequest, path: boolean[]): { resp: TxnResponse; used: number } {
    const succeeded = path[0] === true;
    const responses: ResponseOp[] = [];
    let used = 1;
    for (const op of (succeeded ? r.success : r.failure) ?? []) {
      if ('requestRange' in op) responses.push({ responseRange: this.rangeAt(op.requestRange, this.txnReadRev(tw)) });
      else if ('requestPut' in op) responses.push({ responsePut: this.applyPut(tw, op.requestPut) });
      else if ('requestDeleteRange' in op) responses.push({ responseDeleteRange: this.applyDeleteRange(tw, op.requestDeleteRange) });
      else {
        const nested = this.applyTxnOps(tw, op.requestTxn, path.slice(used));
        used += nested.used;
        responses.push({ responseTxn: nested.resp });
      }
    }
    // Nested txn responses carry an empty header in etcd; the caller fills the outer one.
    return { resp: { header: header(0), succeeded, responses }, used };
  }

  txn(r: TxnRequest): TxnResponse {
    checkTxnRequest(r, this.maxTxnOps);
    const curRev = this.currentRev;
    const path = this.compareToPath(r, curRev);
    this.checkTxnPaths(r, path, curRev);
    return this.withBatch(() => {
      const tw = this.beginWrite();
      let applied: { resp: TxnResponse; used: number };
      try {
        applied = this.applyTxnOps(tw, r, path);
      } catch (e) {
        // Every error a txn can meet was checked above; one here would leave half a txn in the
        // index, so stop the node as etcd panics ("unexpected error during txn").
        throw new AssertionError(`unexpected error during txn: ${String(e)}`);
      }
      const { resp, used } = applied;
      assert(used === path.length, 'txn path not fully consumed');
      const rev = this.endWrite(tw);
      resp.header = header(rev);
      return resp;
    });
  }

  // ---------------------------------------------------------------- compaction

  compact(r: CompactionRequest): CompactionResponse {
    if (r.revision <= this.compactMainRev) throw etcdError('Compacted');
    if (r.revision > this.currentRev) throw etcdError('FutureRev');
    this.withBatch(() => this.doCompact(r.revision));
    return { header: header(this.currentRev) };
  }

  private doCompact(rev: number): void {
    const mark = revToBytes(revision(rev, 0));
    this.backend.put('meta', META_SCHEDULED_COMPACT, mark);
    this.compactMainRev = rev;
    const keep = this.index.compact(rev);
    const doomed: Uint8Array[] = [];
    this.backend.forEach(
      'key',
      (k) => {
        const kr = bytesToRev(k);
        if (!keep.has(`${kr.main}_${kr.sub}`)) doomed.push(k);
      },
      revToBytes(revision(0, 0)),
      revToBytes(revision(rev + 1, 0)),
    );
    for (const k of doomed) this.backend.delete('key', k);
    this.backend.put('meta', META_FINISHED_COMPACT, mark);
  }

  // ---------------------------------------------------------------- hashes

  /** CRC-32C of the whole backend except the per-member consistent index and term. */
  hash(): HashResponse {
    let h = 0;
    for (const bucket of ['key', 'meta'] as const) {
      h = crc32c(utf8(bucket), h);
      this.backend.forEach(bucket, (k, v) => {
        if (bucket === 'meta' && (bytesEqual(k, META_CONSISTENT_INDEX) || bytesEqual(k, META_TERM))) return;
        h = crc32c(v, crc32c(k, h));
      });
    }
    return { header: header(this.currentRev), hash: h };
  }

  /**
   * etcd's HashByRev: CRC-32C over "key" and the key bucket's (revision key, KeyValue) pairs up to
   * rev, skipping pre-compaction revisions a compaction at rev would drop. Equal on every member
   * that applied the same history, and equal to a real etcd member's hashkv.
   */
  hashKV(rev = 0): HashKVResponse {
    if (rev > 0 && rev <= this.compactMainRev) throw etcdError('Compacted');
    if (rev > 0 && rev > this.currentRev) throw etcdError('FutureRev');
    const atRev = rev === 0 ? this.currentRev : rev;
    const keep = this.index.keep(atRev);
    let h = crc32c(KEY_BUCKET_NAME);
    this.backend.forEach('key', (k, v) => {
      const kr = bytesToRev(k);
      if (kr.main > atRev) return;
      if (kr.main <= this.compactMainRev && keep.size > 0 && !keep.has(`${kr.main}_${kr.sub}`)) return;
      h = crc32c(v, crc32c(k, h));
    });
    return { header: header(this.currentRev), hash: h, compactRevision: this.compactMainRev };
  }

  // ---------------------------------------------------------------- watch support

  /** Events with main revision in [fromRev, toRev] from the backend (for watch catch-up). */
  eventsBetween(fromRev: number, toRev: number): MvccEvent[] {
    if (fromRev <= this.compactMainRev) throw etcdError('Compacted');
    const out: MvccEvent[] = [];
    this.backend.forEach(
      'key',
      (k, v) => {
        const kv = decodeKeyValue(v);
        if (isTombstoneKey(k)) out.push({ type: EventType.DELETE, kv: { ...kv, modRevision: bytesToRev(k).main } });
        else out.push({ type: EventType.PUT, kv });
      },
      revToBytes(revision(Math.max(fromRev, 0), 0)),
      revToBytes(revision(toRev + 1, 0)),
    );
    return out;
  }

  // ---------------------------------------------------------------- meta for other appliers

  /** A value the applier keeps beside the keyspace (alarms, ...), in the snapshot too. */
  getMeta(key: Uint8Array): Uint8Array | undefined {
    return this.backend.get('meta', key);
  }

  /** Every meta entry whose key starts with `prefix`, in key order. */
  forEachMeta(prefix: Uint8Array, fn: (key: Uint8Array, value: Uint8Array) => void): void {
    this.backend.forEach('meta', fn, prefix, prefixEnd(prefix));
  }

  /** Removes a meta value in the current batch (or its own); the store's own keys are refused. */
  deleteMeta(key: Uint8Array): void {
    assert(!isReservedMeta(key), () => `meta key ${String.fromCharCode(...key)} belongs to the store`);
    this.withBatch(() => this.backend.delete('meta', key));
  }

  /**
   * Writes a meta value in the current batch (or its own), atomically with the applied entry.
   * The store's own keys (consistent index, term, compaction marks) are refused.
   */
  putMeta(key: Uint8Array, value: Uint8Array): void {
    assert(!isReservedMeta(key), () => `meta key ${String.fromCharCode(...key)} belongs to the store`);
    this.withBatch(() => this.backend.put('meta', key, value));
  }

  // ---------------------------------------------------------------- snapshots and open

  /** The whole backend (all kept revisions and meta) as bytes, for a Raft snapshot. */
  snapshotBytes(): Uint8Array {
    // Inside an open batch the backend must hold the consistent index the snapshot stands for.
    if (this.ciDirty) this.writeConsistentIndex();
    return encodeSnapshot(this.backend);
  }

  /** Replace everything with a snapshot's contents and rebuild the index. */
  restoreFrom(bytes: Uint8Array): void {
    const entries = decodeSnapshot(bytes);
    this.withBatch(() => {
      this.backend.clearAll();
      for (const e of entries) this.backend.put(e.bucket, e.key, e.value);
    });
    this.rebuild();
  }

  private rebuild(): void {
    this.index.clear();
    this.leaseByKey.clear();
    this.currentRev = 1;
    const u64 = (k: Uint8Array): number => {
      const v = this.backend.get('meta', k);
      return v === undefined ? 0 : bytesToU64(v);
    };
    this.ciIndex = u64(META_CONSISTENT_INDEX);
    this.ciTerm = u64(META_TERM);
    this.ciDirty = false;
    const finished = this.backend.get('meta', META_FINISHED_COMPACT);
    this.compactMainRev = finished === undefined ? -1 : bytesToRev(finished).main;
    this.index.beginBulkLoad();
    this.backend.forEach('key', (k, v) => this.restoreRevision(k, v));
    this.index.endBulkLoad();
    if (this.currentRev < this.compactMainRev) this.currentRev = this.compactMainRev;
    const scheduled = this.backend.get('meta', META_SCHEDULED_COMPACT);
    if (scheduled !== undefined && bytesToRev(scheduled).main > this.compactMainRev) {
      // A compaction that did not finish: run it again (it is idempotent).
      const rev = bytesToRev(scheduled).main;
      this.withBatch(() => this.doCompact(rev));
    }
  }

  private restoreRevision(k: Uint8Array, v: Uint8Array): void {
    const rev = bytesToRev(k);
    const kv = decodeKeyValue(v);
    assert(rev.main >= this.currentRev || this.currentRev === 1, 'backend revisions out of order');
    this.currentRev = Math.max(this.currentRev, rev.main);
    if (isTombstoneKey(k)) {
      const ki = this.index.find(kv.key);
      if (ki !== undefined && !ki.isEmpty()) ki.tombstone(rev);
      // Its puts were compacted away: kept only at exactly the compaction revision (see KeyIndex).
      else if (rev.main === this.compactMainRev) this.index.getOrCreate(kv.key).restoreTombstone(rev);
      this.leaseByKey.delete(keyString(kv.key));
      return;
    }
    assert(kv.modRevision === rev.main, 'stored KeyValue mod revision differs from its key');
    const ki = this.index.getOrCreate(kv.key);
    const last = ki.generations[ki.generations.length - 1];
    if (last === undefined || last.revs.length === 0) ki.restore(revision(kv.createRevision, 0), rev, kv.version);
    else ki.put(rev);
    if (kv.lease !== 0n) this.leaseByKey.set(keyString(kv.key), kv.lease);
    else this.leaseByKey.delete(keyString(kv.key));
  }
}

function compareKv(c: Compare, kv: KeyValue): boolean {
  let result: number;
  switch (c.target) {
    case CompareTarget.VALUE:
      result = compareBytes(kv.value, c.value ?? EMPTY);
      break;
    case CompareTarget.CREATE:
      result = Math.sign(kv.createRevision - (c.createRevision ?? 0));
      break;
    case CompareTarget.MOD:
      result = Math.sign(kv.modRevision - (c.modRevision ?? 0));
      break;
    case CompareTarget.VERSION:
      result = Math.sign(kv.version - (c.version ?? 0));
      break;
    case CompareTarget.LEASE: {
      const want = c.lease ?? 0n;
      result = kv.lease === want ? 0 : kv.lease < want ? -1 : 1;
      break;
    }
    default:
      result = 0;
  }
  switch (c.result) {
    case CompareResult.EQUAL:
      return result === 0;
    case CompareResult.NOT_EQUAL:
      return result !== 0;
    case CompareResult.GREATER:
      return result > 0;
    case CompareResult.LESS:
      return result < 0;
    default:
      return true;
  }
}

function sortKeyOf(target: SortTarget): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case SortTarget.VERSION:
      return (a, b) => a.version - b.version;
    case SortTarget.CREATE:
      return (a, b) => a.createRevision - b.createRevision;
    case SortTarget.MOD:
      return (a, b) => a.modRevision - b.modRevision;
    case SortTarget.VALUE:
      return (a, b) => compareBytes(a.value, b.value);
    default:
      return (a, b) => compareBytes(a.key, b.key);
  }
}

/**
 * etcd sorts ascending when the order is NONE but the target is not KEY. Ties keep key order in
 * both directions (Go's sort of short slices is an insertion sort, stable; ours is stable).
 */
function sortKvs(kvs: KeyValue[], order: SortOrder, target: SortTarget): KeyValue[] {
  const effective = target !== SortTarget.KEY && order === SortOrder.NONE ? SortOrder.ASCEND : order;
  if (effective === SortOrder.NONE) return kvs;
  const cmp = sortKeyOf(target);
  const out = kvs.slice();
  if (effective === SortOrder.ASCEND) out.sort(cmp);
  else out.sort((a, b) => cmp(b, a));
  return out;
}

