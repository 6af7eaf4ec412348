/**
 * The watch module: etcd's watchable store and watch streams, pure.
 *
 * Integration contract (what the server must implement and call):
 * - Implement WatchHistory over mvcc: eventsBetween(from, to) returns every change with its
 *   prev_kv (the key's value just before the change) in revision order; compactRevision() and
 *   currentRevision() are the store's.
 * - After the applier commits each mvcc write (every revision, in order, including lease revokes),
 *   call hub.onApply(revision, events) with the events of that revision, prev_kv filled in.
 * - After installing a snapshot, call hub.restore().
 * - Every ~100 ms (and after acks free room), call hub.syncWatchers(); on a timer, hub.tick(nowMs).
 * - Per gRPC Watch call: stream = hub.openStream(sink); stream.handle(request) per request;
 *   stream.ack(n) as responses are written; stream.close() when the call ends.
 */
export {
  WatchHub,
  WatchStream,
  INVALID_WATCH_ID,
  DEFAULT_STREAM_CAPACITY,
  DEFAULT_MAX_WATCHERS_PER_SYNC,
  DEFAULT_MAX_REVISIONS_PER_SYNC,
  DEFAULT_PROGRESS_INTERVAL_MS,
  DEFAULT_MAX_REQUEST_BYTES,
  GRPC_OVERHEAD_BYTES,
  ErrEmptyWatcherRange,
  ErrWatcherDuplicateID,
} from './hub.js';
export type { WatchHubOptions, WatchHubStats } from './hub.js';
export { FilterType } from './types.js';
export type { WatchEvent, WatchCreateRequest, WatchCancelRequest, WatchRequest, WatchResponse, WatchHistory, WatchSink } from './types.js';
export { responseBytes, eventBytes, keyValueBytes } from './size.js';
export { MvccWatchHistory, feedHubFromStore, connectHubToStore } from './mvcc_history.js';
