import type { AuthRequest } from '../auth/index.js';
import type { CompactionRequest, DeleteRangeRequest, PutRequest, TxnRequest } from '../mvcc/index.js';

/**
 * What goes through Raft: one request per entry, applied by every member in log order
 * (etcd's InternalRaftRequest). Reads are not here: they are served after a ReadIndex barrier.
 */
export type InternalRequest = RequestBody & { readonly header?: RequestHeader };

/**
 * Who proposed a client request (etcd's RequestHeader): the user and the auth revision its
 * credential was checked at; username "" and revision 0 when the client sent none. Requests the
 * server makes itself (lease expiry, alarms) carry no header and are not permission-checked.
 */
export interface RequestHeader {
  readonly username: string;
  readonly authRevision: number;
}

type RequestBody =
  | { readonly put: PutRequest }
  | { readonly deleteRange: DeleteRangeRequest }
  | { readonly txn: TxnRequest }
  | { readonly compaction: CompactionRequest }
  | { readonly alarm: AlarmRequest }
  | { readonly leaseGrant: LeaseGrantRequest }
  | { readonly leaseRevoke: LeaseRevokeRequest }
  | { readonly leaseCheckpoint: LeaseCheckpointRequest }
  | { readonly auth: AuthRequest };

/** The id is chosen by the proposing member before proposing, so every member grants the same one. */
export interface LeaseGrantRequest {
  readonly id: bigint;
  readonly ttlSeconds: number;
}

export interface LeaseRevokeRequest {
  readonly id: bigint;
}

export interface LeaseCheckpointRequest {
  readonly checkpoints: ReadonlyArray<{ readonly id: bigint; readonly remainingTtlSeconds: number }>;
}

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
