/**
 * mvccpb.KeyValue and its protobuf wire encoding. The backend stores each revision's KeyValue
 * exactly as etcd does (proto3, fields 1..6, zero values omitted), so hashKV over the backend can
 * be compared with a real etcd member's.
 */
import { assert } from '../util/index.js';

export interface KeyValue {
  key: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Uint8Array;
  /** 0n = no lease. */
  lease: bigint;
}

const EMPTY = new Uint8Array(0);

/** Varints of non-negative safe integers use plain arithmetic; only negative or huge lease ids need bigint. */
function varintLength(v: number | bigint): number {
  let n = 1;
  if (typeof v === 'number') {
    while (v >= 0x80) {
      v = Math.floor(v / 128);
      n++;
    }
    return n;
  }
  while (v >= 0x80n) {
    v >>= 7n;
    n++;
  }
  return n;
}

function writeVarint(out: Uint8Array, pos: number, v: number | bigint): number {
  if (typeof v === 'number') {
    while (v >= 0x80) {
      out[pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    out[pos++] = v;
    return pos;
  }
  while (v >= 0x80n) {
    out[pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  out[pos++] = Number(v);
  return pos;
}

function intField(v: number): number | bigint {
  return v >= 0 ? v : asUnsigned(BigInt(v));
}

function leaseField(v: bigint): number | bigint {
  return v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : asUnsigned(v);
}

/** int64 fields: negatives use the two's complement 64-bit form, as Go's proto does. */
function asUnsigned(v: bigint): bigint {
  return BigInt.asUintN(64, v);
}

interface Field {
  tag: number;
  varint?: number | bigint;
  bytes?: Uint8Array;
}

function fieldsOf(kv: KeyValue): Field[] {
  const fields: Field[] = [];
  if (kv.key.length > 0) fields.push({ tag: 0x0a, bytes: kv.key });
  if (kv.createRevision !== 0) fields.push({ tag: 0x10, varint: intField(kv.createRevision) });
  if (kv.modRevision !== 0) fields.push({ tag: 0x18, varint: intField(kv.modRevision) });
  if (kv.version !== 0) fields.push({ tag: 0x20, varint: intField(kv.version) });
  if (kv.value.length > 0) fields.push({ tag: 0x2a, bytes: kv.value });
  if (kv.lease !== 0n) fields.push({ tag: 0x30, varint: leaseField(kv.lease) });
  return fields;
}

export function encodeKeyValue(kv: KeyValue): Uint8Array {
  const fields = fieldsOf(kv);
  let size = 0;
  for (const f of fields) {
    size += 1;
    if (f.bytes !== undefined) size += varintLength(f.bytes.length) + f.bytes.length;
    else size += varintLength(f.varint as number | bigint);
  }
  const out = new Uint8Array(size);
  let pos = 0;
  for (const f of fields) {
    out[pos++] = f.tag;
    if (f.bytes !== undefined) {
      pos = writeVarint(out, pos, f.bytes.length);
      out.set(f.bytes, pos);
      pos += f.bytes.length;
    } else {
      pos = writeVarint(out, pos, f.varint as number | bigint);
    }
  }
  assert(pos === size, 'KeyValue encoding size mismatch');
  return out;
}

/** Varints up to 7 bytes (< 2^49) decode with arithmetic; longer ones fall back to bigint. */
function readSmallVarint(bytes: Uint8Array, pos: number): [number, number] | undefined {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 7 && pos + i < bytes.length; i++) {
    const b = bytes[pos + i] as number;
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [result, pos + i + 1];
    mul *= 128;
  }
  return undefined;
}

function readVarint(bytes: Uint8Array, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    assert(pos < bytes.length, 'truncated varint in KeyValue');
    const b = bytes[pos++] as number;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
    assert(shift < 70n, 'varint too long in KeyValue');
  }
}

function toSafeNumber(v: bigint): number {
  const n = Number(BigInt.asIntN(64, v));
  assert(Number.isSafeInteger(n), 'KeyValue integer exceeds 2^53');
  return n;
}

export function decodeKeyValue(bytes: Uint8Array): KeyValue {
  const kv: KeyValue = { key: EMPTY, createRevision: 0, modRevision: 0, version: 0, value: EMPTY, lease: 0n };
  let pos = 0;
  while (pos < bytes.length) {
    const tag = bytes[pos++] as number;
    if ((tag & 7) === 2) {
      const small = readSmallVarint(bytes, pos);
      assert(small !== undefined, 'bytes field length too large in KeyValue');
      const [len, p] = small;
      const end = p + len;
      assert(end <= bytes.length, 'truncated bytes field in KeyValue');
      const slice = bytes.slice(p, end);
      if (tag === 0x0a) kv.key = slice;
      else if (tag === 0x2a) kv.value = slice;
      pos = end;
      continue;
    }
    assert((tag & 7) === 0, () => `unexpected wire type in KeyValue tag ${tag}`);
    const small = readSmallVarint(bytes, pos);
    let v: number | bigint;
    if (small !== undefined) [v, pos] = small;
    else [v, pos] = readVarint(bytes, pos);
    if (tag === 0x30) kv.lease = typeof v === 'number' ? BigInt(v) : BigInt.asIntN(64, v);
    else {
      const n = typeof v === 'number' ? v : toSafeNumber(v);
      if (tag === 0x10) kv.createRevision = n;
      else if (tag === 0x18) kv.modRevision = n;
      else if (tag === 0x20) kv.version = n;
    }
  }
  return kv;
}

export function cloneKeyValue(kv: KeyValue): KeyValue {
  return { ...kv };
}
