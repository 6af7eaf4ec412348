import type { CompactionRequest, DeleteRangeRequest, PutRequest, TxnRequest } from '../mvcc/index.js';

/**
 * What goes through Raft: one request per entry, applied by every member in log order
 * (etcd's InternalRaftRequest). Reads are not here: they are served after a ReadIndex barrier.
 */
export type InternalRequest =
  | { readonly put: PutRequest }
  | { readonly deleteRange: DeleteRangeRequest }
  | { readonly txn: TxnRequest }
  | { readonly compaction: CompactionRequest }
  | { readonly alarm: AlarmRequest };

export type AlarmType = 'NOSPACE' | 'CORRUPT';

export interface AlarmRequest {
  readonly action: 'activate' | 'deactivate';
  /** Member id (16 hex digits) the alarm is raised for. */
  readonly memberId: string;
  readonly alarm: AlarmType;
}

export interface AlarmMember {
  readonly memberId: string;
  readonly alarm: AlarmType;
}
