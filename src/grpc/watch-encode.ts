/**
 * Watch fan-out without per-watcher re-encoding. One revision's events reach every matching
 * watcher as the same WatchEvent objects (the hub shares them, and shares one prev_kv-less copy
 * among watchers that did not ask for prev_kv), so each event's protobuf bytes are encoded once
 * and cached on the object; a watcher's response is its own header and watch id followed by
 * those bytes. The output is byte for byte what encodeWatchResponse gives for the same response
 * (events are the last field, so appending them keeps field order).
 */
import type { WatchEvent as HubWatchEvent, WatchResponse as HubWatchResponse } from '../watch/index.js';
import { writeWatchResponse } from './generated/etcdserverpb.js';
import { writeEvent } from './generated/mvccpb.js';
import type { EventInit } from './generated/mvccpb.js';
import { fromKv } from './convert-kv.js';
import { Writer } from './wire.js';

/** mvccpb.Event bytes per hub event; weak, so events leave with the responses that carry them. */
const eventBytes = new WeakMap<HubWatchEvent, Buffer>();
/** Writers of their own: the generated encoders' shared writer may be mid-message in a caller. */
const eventWriter = new Writer(1024);
const responseWriter = new Writer(4096);
/** WatchResponse field 11 (events), wire type 2. */
const EVENTS_TAG = (11 << 3) | 2;

export function toEventInit(e: HubWatchEvent): EventInit {
  return e.prevKv ? { type: e.type, kv: fromKv(e.kv), prevKv: fromKv(e.prevKv) } : { type: e.type, kv: fromKv(e.kv) };
}

function encodedEvent(e: HubWatchEvent): Buffer {
  let bytes = eventBytes.get(e);
  if (bytes === undefined) {
    eventWriter.reset();
    writeEvent(eventWriter, toEventInit(e));
    bytes = eventWriter.finish();
    eventBytes.set(e, bytes);
  }
  return bytes;
}

/** The wire bytes of a hub response as etcdserverpb.WatchResponse, `header` as the API fills it. */
export function encodeHubWatchResponse(r: HubWatchResponse): Buffer {
  const events = r.events.map(encodedEvent);
  const w = responseWriter;
  w.reset();
  writeWatchResponse(w, {
    header: { clusterId: r.header.clusterId, memberId: r.header.memberId, revision: BigInt(r.header.revision), raftTerm: BigInt(r.header.raftTerm) },
    watchId: BigInt(r.watchId),
    created: r.created,
    canceled: r.canceled,
    compactRevision: BigInt(r.compactRevision),
    cancelReason: r.cancelReason,
    fragment: r.fragment,
  });
  for (const bytes of events) {
    w.varint(EVENTS_TAG);
    w.bytes(bytes);
  }
  return w.finish();
}
