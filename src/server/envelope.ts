import { assert } from '../util/assert.js';

/**
 * A normal entry's data: the proposer's request id, then the request payload. The id lets the
 * member that proposed the entry hand the apply result to the waiting caller; other members
 * ignore it. Layout: u32 epoch, u32 sequence, payload.
 */
export interface RequestId {
  readonly epoch: number;
  readonly seq: number;
}

export const ENVELOPE_HEADER_BYTES = 8;

export function encodeEnvelope(id: RequestId, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(ENVELOPE_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, id.epoch >>> 0);
  view.setUint32(4, id.seq >>> 0);
  out.set(payload, ENVELOPE_HEADER_BYTES);
  return out;
}

export function decodeEnvelope(data: Uint8Array): { id: RequestId; payload: Uint8Array } {
  assert(data.length >= ENVELOPE_HEADER_BYTES, () => `entry data of ${data.length} bytes has no envelope`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return {
    id: { epoch: view.getUint32(0), seq: view.getUint32(4) },
    payload: data.subarray(ENVELOPE_HEADER_BYTES),
  };
}

export function requestKey(id: RequestId): string {
  return `${id.epoch}:${id.seq}`;
}
