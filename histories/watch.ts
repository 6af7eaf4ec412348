import type { EtcdKeyValue } from './etcd.js';

/**
 * Watches in the op format. A watch is one op of its own process:
 *
 *   invoke  f "watch", value WatchRequest   {key, rangeEnd?, startRevision?, prevKv?: true}
 *   ok/info f "watch", value WatchRecording {responses: WatchResponse[]}
 *
 * The completion carries every response the watcher received, in arrival order: "ok" when the
 * watch ended normally (cancelled by the client, by the server, or at the end of the run),
 * "info" when the stream broke. Events in responses use etcd's shape: a delete event's kv has
 * the key and modRevision (the deleting revision) and zeros elsewhere.
 *
 * The committed writes the watch checker compares against are the etcd-model ops (put, delete,
 * txn; see etcd.ts) in the same history, whose ok responses carry their revisions.
 * `startRevision` absent or 0 means "from the next revision": gaps are then checked from the
 * watcher's first event on.
 */
export interface WatchRequest {
  readonly key: string;
  readonly rangeEnd?: string;
  readonly startRevision?: number | string;
  readonly prevKv?: boolean;
}

export interface WatchEvent {
  readonly type: 'put' | 'delete';
  readonly kv: EtcdKeyValue;
  readonly prevKv?: EtcdKeyValue | null;
}

export interface WatchResponse {
  readonly events: readonly WatchEvent[];
  /** Header revision of the response, when recorded. */
  readonly revision?: number | string;
  /** Set when the server cancelled the watch because startRevision was compacted. */
  readonly compactRevision?: number | string;
  readonly canceled?: boolean;
}

export interface WatchRecording {
  readonly responses: readonly WatchResponse[];
}
