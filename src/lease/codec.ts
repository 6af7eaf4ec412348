/**
 * Byte formats of the lessor's state.
 *
 * - A lease record is leasepb.Lease as etcd stores it in its "lease" bucket (proto3: ID = 1,
 *   TTL = 2, RemainingTTL = 3, all int64, zero values omitted), under an 8-byte big-endian key.
 *   Keys are not stored: etcd re-derives them from the key-value store on recovery.
 * - A lessor snapshot (for Raft snapshots) holds every lease with its keys, in ascending id order
 *   and ascending key order, so equal states encode to equal bytes on every member:
 *   "TSLEASE1", count u32, then per lease id i64, ttl i64, remaining i64, keyCount u32, then per
 *   key len u32 + bytes; then a CRC-32C (u32) of everything before it.
 */
import { assert, crc32c, utf8 } from '../util/index.js';

export interface LeaseRecord {
  id: bigint;
  ttlSeconds: number;
  /** The last checkpointed remaining TTL; 0 = none. */
  remainingTtlSeconds: number;
}

export interface LeaseSnapshotEntry extends LeaseRecord {
  /** Attached keys, raw bytes, ascending. */
  keys: Uint8Array[];
}

const TWO_64 = 1n << 64n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const MAGIC = utf8('TSLEASE1');

function pushVarint(out: number[], value: bigint): void {
  let v = value < 0n ? value + TWO_64 : value;
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

function readVarint(bytes: Uint8Array, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    assert(pos < bytes.length, 'lease record: truncated varint');
    assert(shift < 70n, 'lease record: varint too long');
    const b = bytes[pos++] as number;
    result |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if ((b & 0x80) === 0) break;
  }
  result &= TWO_64 - 1n;
  return [result > INT64_MAX ? result - TWO_64 : result, pos];
}

export function encodeLeaseRecord(r: LeaseRecord): Uint8Array {
  assert(r.id >= INT64_MIN && r.id <= INT64_MAX, 'lease id outside int64');
  const out: number[] = [];
  const field = (tag: number, v: bigint): void => {
    if (v === 0n) return;
    out.push(tag);
    pushVarint(out, v);
  };
  field(0x08, r.id);
  field(0x10, BigInt(r.ttlSeconds));
  field(0x18, BigInt(r.remainingTtlSeconds));
  return Uint8Array.from(out);
}

export function decodeLeaseRecord(bytes: Uint8Array): LeaseRecord {
  const r: LeaseRecord = { id: 0n, ttlSeconds: 0, remainingTtlSeconds: 0 };
  let pos = 0;
  while (pos < bytes.length) {
    const tag = bytes[pos++] as number;
    assert((tag & 7) === 0, () => `lease record: unexpected wire type in tag ${tag}`);
    const [v, next] = readVarint(bytes, pos);
    pos = next;
    if (tag === 0x08) r.id = v;
    else if (tag === 0x10) r.ttlSeconds = Number(v);
    else if (tag === 0x18) r.remainingTtlSeconds = Number(v);
  }
  return r;
}

/** The key etcd stores a lease record under: the id as 8 big-endian bytes (two's complement). */
export function leaseRecordKey(id: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, id);
  return out;
}

export function encodeLeaseSnapshot(entries: readonly LeaseSnapshotEntry[]): Uint8Array {
  let size = MAGIC.length + 4 + 4;
  for (const e of entries) size += 28 + e.keys.reduce((n, k) => n + 4 + k.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  let pos = MAGIC.length;
  view.setUint32(pos, entries.length);
  pos += 4;
  for (const e of entries) {
    view.setBigInt64(pos, e.id);
    view.setBigInt64(pos + 8, BigInt(e.ttlSeconds));
    view.setBigInt64(pos + 16, BigInt(e.remainingTtlSeconds));
    view.setUint32(pos + 24, e.keys.length);
    pos += 28;
    for (const k of e.keys) {
      view.setUint32(pos, k.length);
      out.set(k, pos + 4);
      pos += 4 + k.length;
    }
  }
  view.setUint32(pos, crc32c(out.subarray(0, pos)));
  assert(pos + 4 === size, 'lease snapshot: size mismatch');
  return out;
}

export function decodeLeaseSnapshot(bytes: Uint8Array): LeaseSnapshotEntry[] {
  assert(bytes.length >= MAGIC.length + 8, 'lease snapshot: too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < MAGIC.length; i++) assert(bytes[i] === MAGIC[i], 'lease snapshot: bad magic');
  const end = bytes.length - 4;
  assert(view.getUint32(end) === crc32c(bytes.subarray(0, end)), 'lease snapshot: checksum mismatch');
  let pos = MAGIC.length;
  const count = view.getUint32(pos);
  pos += 4;
  const entries: LeaseSnapshotEntry[] = [];
  for (let i = 0; i < count; i++) {
    assert(pos + 28 <= end, 'lease snapshot: truncated lease');
    const e: LeaseSnapshotEntry = {
      id: view.getBigInt64(pos),
      ttlSeconds: Number(view.getBigInt64(pos + 8)),
      remainingTtlSeconds: Number(view.getBigInt64(pos + 16)),
      keys: [],
    };
    const keyCount = view.getUint32(pos + 24);
    pos += 28;
    for (let k = 0; k < keyCount; k++) {
      assert(pos + 4 <= end, 'lease snapshot: truncated key length');
      const len = view.getUint32(pos);
      assert(pos + 4 + len <= end, 'lease snapshot: truncated key');
      e.keys.push(bytes.slice(pos + 4, pos + 4 + len));
      pos += 4 + len;
    }
    entries.push(e);
  }
  assert(pos === end, 'lease snapshot: trailing bytes');
  return entries;
}
