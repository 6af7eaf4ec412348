/**
 * Small byte arrays carved out of shared 64 KiB slabs. Every `new Uint8Array(n)` above V8's
 * on-heap limit (64 bytes) allocates its own backing store, which costs several times the copy
 * itself and adds work for the GC; the apply path makes several such arrays per put (decoded
 * key and value, the stored KeyValue, its encoding). A view into a slab costs a bump of an offset.
 * The price: a slab lives as long as any view into it, so arrays meant to live long (index keys)
 * must not come from here, and users must not read `.buffer` without byteOffset and byteLength.
 */
import { assert } from '../util/index.js';

const SLAB_BYTES = 64 * 1024;
/** Larger arrays get their own buffer: they would waste a slab's tail and pin it longer. */
const SLAB_ITEM_MAX_BYTES = 2048;

let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsedBytes = 0;

/** A zero-filled array of `lengthBytes` bytes, from the current slab when small. */
export function allocBytes(lengthBytes: number): Uint8Array {
  assert(Number.isInteger(lengthBytes) && lengthBytes >= 0, 'allocBytes: bad byte length');
  if (lengthBytes > SLAB_ITEM_MAX_BYTES) return new Uint8Array(lengthBytes);
  if (slabUsedBytes + lengthBytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsedBytes = 0;
  }
  const out = new Uint8Array(slab, slabUsedBytes, lengthBytes);
  // 8-byte alignment keeps later DataView reads of a view's own bytes aligned.
  slabUsedBytes += (lengthBytes + 7) & ~7;
  assert(out.byteOffset + lengthBytes <= SLAB_BYTES, 'allocBytes: view past the end of its slab');
  return out;
}

/** A copy of `bytes` that shares no memory with it. */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const out = allocBytes(bytes.length);
  out.set(bytes);
  return out;
}
