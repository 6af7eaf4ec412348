/**
 * mvcc: etcd's multi-version key-value store, pure and synchronous.
 *
 * How the applier drives it (committed Raft entry -> store):
 *   const store = MvccStore.open(backend, { leaseExists });   // rebuilds the index
 *   store.beginBatch();
 *   for (const e of committed) {
 *     if (e.index <= store.consistentIndex()) continue;        // already applied before a crash
 *     try { result = store.put(req) / range / deleteRange / txn / compact / deleteKeys }
 *     catch (err) { if (err instanceof EtcdError) result = err; else throw err; }
 *     store.setConsistentIndex(e.index, e.term);               // same batch as the effects
 *   }
 *   store.commitBatch();                                       // one durable commit
 * Errors are thrown as EtcdError (src/api/errors.ts) before anything is written; any other
 * exception is an AssertionError and must stop the node. Backends: MemoryBackend (simulator;
 * keep the object across simulated restarts, call crash() to drop the unsynced batch) and
 * LmdbBackend (`<data-dir>/member/db`). Raft snapshots: snapshotBytes() / restoreFrom(bytes).
 */
export { MvccStore, header } from './store.js';
export type { StoreOptions } from './store.js';
export { MemoryBackend, BatchingBackend, BUCKETS } from './backend.js';
export type { Backend, BucketName, CommitOp } from './backend.js';
export { encodeKeyValue, decodeKeyValue } from './kv.js';
export type { KeyValue } from './kv.js';
export { revision, compareRev, revToBytes, bytesToRev, isTombstoneKey } from './revision.js';
export type { Revision } from './revision.js';
export { SortOrder, SortTarget, CompareResult, CompareTarget, EventType } from './types.js';
export type {
  ResponseHeader,
  RangeRequest,
  RangeResponse,
  PutRequest,
  PutResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  Compare,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResponse,
  CompactionRequest,
  CompactionResponse,
  HashResponse,
  HashKVResponse,
  MvccEvent,
  LeaseEvent,
} from './types.js';
export {
  DEFAULT_MAX_TXN_OPS,
  checkRangeRequest,
  checkPutRequest,
  checkDeleteRequest,
  checkTxnRequest,
  txnHasWrites,
} from './validate.js';
export {
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_QUOTA_BYTES,
  KV_OVERHEAD_BYTES,
  LEASE_OVERHEAD_BYTES,
  checkRequestSize,
  costPut,
  costTxn,
  quotaCost,
  quotaAvailable,
  checkQuota,
} from './limits.js';
export type { QuotaRequest } from './limits.js';
export { encodeSnapshot, decodeSnapshot } from './snapshot.js';
export type { SnapshotEntry } from './snapshot.js';
export { LmdbBackend } from './lmdb_backend.js';
export { allocBytes, copyBytes } from './slab.js';
export type { LmdbBackendOptions } from './lmdb_backend.js';
