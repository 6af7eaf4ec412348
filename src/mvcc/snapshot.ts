/**
 * Snapshot encoding of a whole backend: "TSMVCC1\n", then per entry [bucket u8][keyLen u32][key]
 * [valueLen u32][value], then the entry count (u32) and a CRC-32C (u32) of everything before it.
 * A corrupt or truncated snapshot is rejected rather than half-restored.
 */
import { assert, crc32c, utf8 } from '../util/index.js';
import { BUCKETS, type Backend, type BucketName } from './backend.js';

const MAGIC = utf8('TSMVCC1\n');

export interface SnapshotEntry {
  bucket: BucketName;
  key: Uint8Array;
  value: Uint8Array;
}

export function encodeSnapshot(backend: Backend): Uint8Array {
  const parts: Uint8Array[] = [MAGIC];
  let count = 0;
  let size = MAGIC.length;
  BUCKETS.forEach((bucket, id) => {
    backend.forEach(bucket, (key, value) => {
      const head = new Uint8Array(5);
      head[0] = id;
      new DataView(head.buffer).setUint32(1, key.length);
      const vlen = new Uint8Array(4);
      new DataView(vlen.buffer).setUint32(0, value.length);
      parts.push(head, key, vlen, value);
      size += 9 + key.length + value.length;
      count++;
    });
  });
  const out = new Uint8Array(size + 8);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  const view = new DataView(out.buffer);
  view.setUint32(pos, count);
  view.setUint32(pos + 4, crc32c(out.subarray(0, pos + 4)));
  return out;
}

export function decodeSnapshot(bytes: Uint8Array): SnapshotEntry[] {
  assert(bytes.length >= MAGIC.length + 8, 'snapshot too short');
  for (let i = 0; i < MAGIC.length; i++) assert(bytes[i] === MAGIC[i], 'snapshot magic mismatch');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bodyEnd = bytes.length - 8;
  assert(view.getUint32(bodyEnd + 4) === crc32c(bytes.subarray(0, bodyEnd + 4)), 'snapshot checksum mismatch');
  const entries: SnapshotEntry[] = [];
  let pos = MAGIC.length;
  while (pos < bodyEnd) {
    const bucket = BUCKETS[bytes[pos] as number];
    assert(bucket !== undefined, 'snapshot names an unknown bucket');
    const klen = view.getUint32(pos + 1);
    const key = bytes.slice(pos + 5, pos + 5 + klen);
    pos += 5 + klen;
    const vlen = view.getUint32(pos);
    const value = bytes.slice(pos + 4, pos + 4 + vlen);
    pos += 4 + vlen;
    assert(pos <= bodyEnd, 'snapshot entry overruns the body');
    entries.push({ bucket, key, value });
  }
  assert(entries.length === view.getUint32(bodyEnd), 'snapshot entry count mismatch');
  return entries;
}
