import type { Value } from './op.js';

/**
 * Encoding of etcd v3 KV requests in the op format, for the etcd model (checker model "etcd").
 *
 *   f        invoke value                                 ok value
 *   "range"  {key, rangeEnd?}                             {revision, kvs: KeyValue[], count?}
 *   "put"    {key, value, prevKv?: true}                  {revision, prevKv?: KeyValue | null}
 *   "delete" {key, rangeEnd?, prevKv?: true}              {revision, deleted, prevKvs?: KeyValue[]}
 *   "txn"    {compares: Compare[], success: RequestOp[],  {revision, succeeded, results: ResponseOp[]}
 *             failure: RequestOp[]}
 *
 * - Keys and values are UTF-8 strings (or `{"b64": ...}`). `rangeEnd` follows etcd: absent means
 *   the single key, "\u0000" means every key >= key, otherwise the half-open range [key, rangeEnd).
 * - Revisions, versions and counts are numbers, or decimal strings when beyond 2^53.
 * - `revision` in a response is the response header's revision: the store revision after the
 *   request (for a read, the revision it read at).
 * - A RequestOp is the invoke value of range/put/delete tagged with `op`: `{op: "put", key, value}`.
 *   A ResponseOp is the matching ok value tagged the same way, without `revision`.
 * - Compare: `{key, target: "value"|"version"|"create"|"mod", result: "="|"!="|"<"|">", value}`.
 *   Like etcd, a compare on an absent key sees version/create/mod 0 and fails on target "value".
 * - Completion types: "ok" carries the response. "fail" and "info" both mean the client got an
 *   error or no answer; as in etcd's robustness tests the request may still have been applied, so
 *   the model treats both as possibly taking effect at any later time, or never. (A txn whose
 *   compares failed is an "ok" with succeeded=false, not a "fail".)
 */
export interface EtcdKeyValue {
  readonly key: string;
  readonly value: string;
  readonly createRevision: number | string;
  readonly modRevision: number | string;
  readonly version: number | string;
  readonly lease?: number | string;
}

export interface EtcdCompare {
  readonly key: string;
  readonly target: 'value' | 'version' | 'create' | 'mod';
  readonly result: '=' | '!=' | '<' | '>';
  readonly value: string | number;
}

export interface EtcdRangeRequest {
  readonly key: string;
  readonly rangeEnd?: string;
}
export interface EtcdPutRequest {
  readonly key: string;
  readonly value: string;
  readonly prevKv?: boolean;
  readonly lease?: number | string;
}
export interface EtcdDeleteRequest {
  readonly key: string;
  readonly rangeEnd?: string;
  readonly prevKv?: boolean;
}
export type EtcdRequestOp =
  | ({ readonly op: 'range' } & EtcdRangeRequest)
  | ({ readonly op: 'put' } & EtcdPutRequest)
  | ({ readonly op: 'delete' } & EtcdDeleteRequest);

export interface EtcdTxnRequest {
  readonly compares: readonly EtcdCompare[];
  readonly success: readonly EtcdRequestOp[];
  readonly failure: readonly EtcdRequestOp[];
}

export interface EtcdRangeResponse {
  readonly revision?: number | string;
  readonly kvs: readonly EtcdKeyValue[];
  readonly count?: number | string;
}
export interface EtcdPutResponse {
  readonly revision?: number | string;
  readonly prevKv?: EtcdKeyValue | null;
}
export interface EtcdDeleteResponse {
  readonly revision?: number | string;
  readonly deleted: number | string;
  readonly prevKvs?: readonly EtcdKeyValue[];
}
export type EtcdResponseOp =
  | ({ readonly op: 'range' } & EtcdRangeResponse)
  | ({ readonly op: 'put' } & EtcdPutResponse)
  | ({ readonly op: 'delete' } & EtcdDeleteResponse);

export interface EtcdTxnResponse {
  readonly revision: number | string;
  readonly succeeded: boolean;
  readonly results: readonly EtcdResponseOp[];
}

export const ETCD_FS: readonly string[] = ['range', 'put', 'delete', 'txn'];

/** Revisions may be numbers or decimal strings; the checker works in numbers. */
export function toNum(v: Value | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  return NaN;
}

/** Helpers to build ops in the documented shape (for the simulator's KV workload and tests). */
export function etcdValue<T>(v: T): Value {
  return v as unknown as Value;
}
