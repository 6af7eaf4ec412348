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
export type { LmdbBackendOptions } from './lmdb_backend.js';
