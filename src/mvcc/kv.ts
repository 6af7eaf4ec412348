/**
 * mvccpb.KeyValue and its protobuf wire encoding. The backend stores each revision's KeyValue
 * exactly as etcd does (proto3, fields 1..6, zero values omitted), so hashKV over the backend can
 * be compared with a real etcd member's.
 */
import { assert } from '../util/index.js';
import { allocBytes, copyBytes } from './slab.js';

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

function leaseField(v: bigint): number | bigint {
  return v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : asUnsigned(v);
}

/** int64 fields: negatives use the two's complement 64-bit form, as Go's proto does. */
function asUnsigned(v: bigint): bigint {
  return BigInt.asUintN(64, v);
}

/** An int64 field's varint: plain arithmetic when non-negative, bigint for the rare rest. */
function int64Varint(v: number): number | bigint {
  return v >= 0 ? v : asUnsigned(BigInt(v));
}

/** Bytes of one varint field (tag + value), 0 when the field is the proto3 zero and omitted. */
function varintFieldLength(v: number | bigint): number {
  return v === 0 || v === 0n ? 0 : 1 + varintLength(v);
}

function bytesFieldLength(b: Uint8Array): number {
  return b.length === 0 ? 0 : 1 + varintLength(b.length) + b.length;
}

function writeBytesField(out: Uint8Array, pos: number, tag: number, b: Uint8Array): number {
  if (b.length === 0) return pos;
  out[pos++] = tag;
  pos = writeVarint(out, pos, b.length);
  out.set(b, pos);
  return pos + b.length;
}

function writeVarintField(out: Uint8Array, pos: number, tag: number, v: number | bigint): number {
  if (v === 0 || v === 0n) return pos;
  out[pos++] = tag;
  return writeVarint(out, pos, v);
}

/**
 * Fields in number order, zero values omitted, as Go's proto.Marshal writes them. One pass to
 * size, one to write, no per-field objects: this runs once per applied put.
 */
export function encodeKeyValue(kv: KeyValue): Uint8Array {
  const create = int64Varint(kv.createRevision);
  const mod = int64Varint(kv.modRevision);
  const version = int64Varint(kv.version);
  const lease = kv.lease === 0n ? 0 : leaseField(kv.lease);
  const size =
    bytesFieldLength(kv.key) +
    varintFieldLength(create) +
    varintFieldLength(mod) +
    varintFieldLength(version) +
    bytesFieldLength(kv.value) +
    varintFieldLength(lease);
  const out = allocBytes(size);
  let pos = writeBytesField(out, 0, 0x0a, kv.key);
  pos = writeVarintField(out, pos, 0x10, create);
  pos = writeVarintField(out, pos, 0x18, mod);
  pos = writeVarintField(out, pos, 0x20, version);
  pos = writeBytesField(out, pos, 0x2a, kv.value);
  pos = writeVarintField(out, pos, 0x30, lease);
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
      // A copy (the input may be a backend's own array), from a slab: values are mostly short-lived.
      const slice = copyBytes(bytes.subarray(p, end));
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
