/**
 * Shapes of etcdserverpb's Watch messages in camelCase (as @grpc/proto-loader produces them), and
 * the one thing the watch hub needs from the store: its history of changes.
 */
import type { KeyValue } from '../mvcc/kv.js';
import type { EventType, ResponseHeader } from '../mvcc/types.js';

/** mvccpb.Event. prev_kv is the key's value just before this change, when it existed. */
export interface WatchEvent {
  type: EventType;
  kv: KeyValue;
  prevKv?: KeyValue;
}

/** WatchCreateRequest.FilterType. */
export const FilterType = { NOPUT: 0, NODELETE: 1 } as const;
export type FilterType = (typeof FilterType)[keyof typeof FilterType];

export interface WatchCreateRequest {
  /** Empty or absent: "\0", the smallest key. */
  key?: Uint8Array;
  /** Absent or empty: the single key; "\0": every key >= key; otherwise [key, rangeEnd). */
  rangeEnd?: Uint8Array;
  /** 0 or absent: from the next revision. */
  startRevision?: number;
  progressNotify?: boolean;
  filters?: FilterType[];
  prevKv?: boolean;
  /** 0 or absent: the stream picks the next free id. */
  watchId?: number;
  fragment?: boolean;
}

export interface WatchCancelRequest {
  watchId: number;
}

/** etcdserverpb.WatchRequest: exactly one member set (proto oneof request_union). */
export type WatchRequest =
  | { createRequest: WatchCreateRequest }
  | { cancelRequest: WatchCancelRequest }
  | { progressRequest: Record<string, never> };

/**
 * etcdserverpb.WatchResponse. Every field is present (proto3 zero values), so the API layer can
 * encode it as is; it fills header.clusterId / memberId / raftTerm.
 */
export interface WatchResponse {
  header: ResponseHeader;
  /** -1 (clientv3.InvalidWatchID) for a failed create and for a stream-wide progress response. */
  watchId: number;
  created: boolean;
  canceled: boolean;
  /** Non-zero: the watcher's next revision was compacted away; the watcher is canceled. */
  compactRevision: number;
  cancelReason: string;
  /** More fragments of this response follow. */
  fragment: boolean;
  events: WatchEvent[];
}

/**
 * The store's history, as the hub needs it to catch watchers up. The integrator implements it over
 * mvcc (see the module's index.ts for the contract).
 */
export interface WatchHistory {
  /**
   * Every change with fromRev <= kv.modRevision <= toRev, over the whole key space, ordered by
   * (modRevision, sub revision), each with prevKv set when the key was live just before it (a
   * DELETE's prevKv is the deleted value). Only called with compactRevision() <= fromRev and
   * toRev <= the revision last passed to WatchHub.onApply.
   */
  eventsBetween(fromRev: number, toRev: number): readonly WatchEvent[];
  /** The store's compacted revision (mvcc compactRevision(); -1 or 0 when never compacted). */
  compactRevision(): number;
  /** The store's current revision (mvcc rev()). */
  currentRevision(): number;
}

/** The sink of one stream: called with each response in order. */
export type WatchSink = (response: WatchResponse) => void;
