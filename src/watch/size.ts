/**
 * Protobuf encoded sizes of WatchResponse and its events, computed without encoding, to decide
 * where to fragment (etcd compares pb.WatchResponse.Size() against its limit). The header's
 * cluster id, member id and raft term are filled in later by the API layer, so they are counted at
 * their largest (10-byte varints) to stay on the safe side.
 */
import type { KeyValue } from '../mvcc/kv.js';
import type { WatchEvent, WatchResponse } from './types.js';

export function varintBytes(v: number | bigint): number {
  if (typeof v === 'bigint') {
    if (v < 0n) return 10;
    let n = 1;
    while (v >= 0x80n) {
      v >>= 7n;
      n++;
    }
    return n;
  }
  if (v < 0) return 10;
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function intField(v: number | bigint): number {
  return v === 0 || v === 0n ? 0 : 1 + varintBytes(v);
}

function bytesField(len: number): number {
  return len === 0 ? 0 : 1 + varintBytes(len) + len;
}

function messageField(size: number): number {
  return 1 + varintBytes(size) + size;
}

export function keyValueBytes(kv: KeyValue): number {
  return (
    bytesField(kv.key.length) +
    intField(kv.createRevision) +
    intField(kv.modRevision) +
    intField(kv.version) +
    bytesField(kv.value.length) +
    intField(kv.lease)
  );
}

export function eventBytes(ev: WatchEvent): number {
  let n = intField(ev.type) + messageField(keyValueBytes(ev.kv));
  if (ev.prevKv !== undefined) n += messageField(keyValueBytes(ev.prevKv));
  return n;
}

/** An event as one element of WatchResponse.events (field 11: tag, length, body). */
export function eventFieldBytes(ev: WatchEvent): number {
  return messageField(eventBytes(ev));
}

const MAX_HEADER_BYTES_WITHOUT_REVISION = 3 * 11;

/** Size of the response without its events. */
export function responseBaseBytes(r: WatchResponse): number {
  const header = MAX_HEADER_BYTES_WITHOUT_REVISION + intField(r.header.revision);
  return (
    messageField(header) +
    intField(r.watchId) +
    (r.created ? 2 : 0) +
    (r.canceled ? 2 : 0) +
    intField(r.compactRevision) +
    bytesField(Buffer.byteLength(r.cancelReason)) +
    (r.fragment ? 2 : 0)
  );
}

export function responseBytes(r: WatchResponse, eventField: (ev: WatchEvent) => number = eventFieldBytes): number {
  let n = responseBaseBytes(r);
  for (const ev of r.events) n += eventField(ev);
  return n;
}
