/**
 * Revisions: (main, sub). `main` is the store-wide revision a write transaction creates; `sub`
 * orders the changes inside it. On disk a revision is the 17-byte key etcd uses in bbolt's "key"
 * bucket: 8-byte big-endian main, '_', 8-byte big-endian sub, so byte order equals revision order.
 * A deletion (tombstone) appends the marker byte 't'.
 */
import { assert } from '../util/index.js';

export interface Revision {
  readonly main: number;
  readonly sub: number;
}

export const REV_BYTES_LEN = 17;
export const MARKED_REV_BYTES_LEN = 18;
const TOMBSTONE_MARK = 0x74; // 't'
const SEPARATOR = 0x5f; // '_'

export function revision(main: number, sub: number): Revision {
  assert(Number.isSafeInteger(main) && main >= 0, () => `bad main revision ${main}`);
  assert(Number.isSafeInteger(sub) && sub >= 0, () => `bad sub revision ${sub}`);
  return { main, sub };
}

export function compareRev(a: Revision, b: Revision): number {
  return a.main !== b.main ? a.main - b.main : a.sub - b.sub;
}

export function revGreater(a: Revision, b: Revision): boolean {
  return compareRev(a, b) > 0;
}

/** Big-endian, byte by byte: a DataView per call cost more than the whole encoding. */
function writeU64(out: Uint8Array, offset: number, value: number): void {
  const high = Math.floor(value / 0x1_0000_0000);
  const low = value >>> 0;
  out[offset] = high >>> 24;
  out[offset + 1] = (high >>> 16) & 0xff;
  out[offset + 2] = (high >>> 8) & 0xff;
  out[offset + 3] = high & 0xff;
  out[offset + 4] = low >>> 24;
  out[offset + 5] = (low >>> 16) & 0xff;
  out[offset + 6] = (low >>> 8) & 0xff;
  out[offset + 7] = low & 0xff;
}

function readU32(bytes: Uint8Array, offset: number): number {
  return (((bytes[offset] as number) << 24) | ((bytes[offset + 1] as number) << 16) | ((bytes[offset + 2] as number) << 8) | (bytes[offset + 3] as number)) >>> 0;
}

function readU64(bytes: Uint8Array, offset: number): number {
  assert(offset + 8 <= bytes.length, 'u64 read past the end');
  const value = readU32(bytes, offset) * 0x1_0000_0000 + readU32(bytes, offset + 4);
  assert(Number.isSafeInteger(value), 'revision exceeds 2^53');
  return value;
}

export function revToBytes(rev: Revision, tombstone = false): Uint8Array {
  const out = new Uint8Array(tombstone ? MARKED_REV_BYTES_LEN : REV_BYTES_LEN);
  writeU64(out, 0, rev.main);
  out[8] = SEPARATOR;
  writeU64(out, 9, rev.sub);
  if (tombstone) out[17] = TOMBSTONE_MARK;
  return out;
}

export function bytesToRev(bytes: Uint8Array): Revision {
  assert(bytes.length === REV_BYTES_LEN || bytes.length === MARKED_REV_BYTES_LEN, () => `bad revision key length ${bytes.length}`);
  assert(bytes[8] === SEPARATOR, 'revision key lacks separator');
  return { main: readU64(bytes, 0), sub: readU64(bytes, 9) };
}

export function isTombstoneKey(bytes: Uint8Array): boolean {
  return bytes.length === MARKED_REV_BYTES_LEN && bytes[17] === TOMBSTONE_MARK;
}

/** 8-byte big-endian unsigned, for meta values (consistent index, term). */
export function u64ToBytes(value: number): Uint8Array {
  assert(Number.isSafeInteger(value) && value >= 0, () => `bad u64 ${value}`);
  const out = new Uint8Array(8);
  writeU64(out, 0, value);
  return out;
}

export function bytesToU64(bytes: Uint8Array): number {
  assert(bytes.length === 8, () => `bad u64 length ${bytes.length}`);
  return readU64(bytes, 0);
}
