import { assert, crc32c } from '../util/index.js';

/**
 * Record framing. Every record is
 *
 *   u32 payloadBytes | u8 type | u8 padBytes | u16 reserved (0) | u32 crc | payload | 0-padding
 *
 * little-endian, padded so every record starts on an 8-byte boundary (a resync scan after a bad
 * record need only look at aligned offsets). The CRC-32C is per record, not chained: it covers
 * the first 8 header bytes and the payload, seeded with the segment's sequence number and the
 * record's byte offset. Per-record CRCs let the reader decide on its own whether a valid record
 * follows a bad one (torn tail vs. corruption in the middle); the seed makes a record copied to
 * another place (a misdirected write, a stale block, a frame embedded in an entry's data) fail
 * its check. Order across records and segments is checked separately: entry indexes must be
 * contiguous, and each segment opens with a crc record holding a rolling checksum of every
 * record CRC before it (etcd's chained-CRC idea, one level up).
 */

export const RecordType = {
  crc: 1,
  metadata: 2,
  entry: 3,
  hardState: 4,
  snapshot: 5,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

const MAX_RECORD_TYPE = 5;
export const HEADER_BYTES = 12;
export const ALIGN_BYTES = 8;
/** A single record larger than this is a bug (etcd caps requests at 1.5 MiB). */
export const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

export function framedBytes(payloadBytes: number): number {
  const unpadded = HEADER_BYTES + payloadBytes;
  return unpadded + ((ALIGN_BYTES - (unpadded % ALIGN_BYTES)) % ALIGN_BYTES);
}

const TWO_POW_32 = 0x1_0000_0000;
// Scratch buffers: these run once per record, and the WAL is single-threaded.
const seedBytes = new Uint8Array(16);
const seedView = new DataView(seedBytes.buffer);
const crcBytes = new Uint8Array(4);
const crcView = new DataView(crcBytes.buffer);

/** crc32c of (seq u64 LE, offset u64 LE). */
function crcSeed(seq: number, offset: number): number {
  seedView.setUint32(0, seq % TWO_POW_32, true);
  seedView.setUint32(4, Math.floor(seq / TWO_POW_32), true);
  seedView.setUint32(8, offset % TWO_POW_32, true);
  seedView.setUint32(12, Math.floor(offset / TWO_POW_32), true);
  return crc32c(seedBytes);
}

/** Folds one record's CRC into the rolling checksum carried by crc records. */
export function rollCrc(rolling: number, recordCrc: number): number {
  crcView.setUint32(0, recordCrc, true);
  return crc32c(crcBytes, rolling);
}

/**
 * Appends records to one buffer, so a whole save is a single write. `offset` is the file offset
 * the buffer will be written at; each record's CRC depends on its own offset. Records are framed
 * in place in one growing buffer: a save of a hundred entries is one allocation, not a frame
 * per record plus a final concatenation.
 */
export class FrameWriter {
  private buf: Uint8Array;
  private view: DataView;
  private lengthBytes = 0;
  readonly crcs: number[] = [];

  constructor(
    private readonly seq: number,
    private readonly startOffset: number,
    expectedBytes = 4096,
  ) {
    assert(startOffset % ALIGN_BYTES === 0, `frame offset ${startOffset} not aligned`);
    this.buf = new Uint8Array(expectedBytes);
    this.view = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.lengthBytes;
  }

  add(type: RecordType, payload: Uint8Array): void {
    assert(payload.length <= MAX_PAYLOAD_BYTES, `record payload too large: ${payload.length}`);
    const total = framedBytes(payload.length);
    this.reserve(total);
    const at = this.lengthBytes;
    const frame = this.buf;
    this.view.setUint32(at, payload.length, true);
    frame[at + 4] = type;
    frame[at + 5] = total - HEADER_BYTES - payload.length;
    const offset = this.startOffset + at;
    const crc = crc32c(payload, crc32c(frame.subarray(at, at + 8), crcSeed(this.seq, offset)));
    this.view.setUint32(at + 8, crc, true);
    // The padding after it stays zero: the buffer is fresh and each byte is written once.
    frame.set(payload, at + HEADER_BYTES);
    this.crcs.push(crc);
    this.lengthBytes += total;
    assert(this.lengthBytes % ALIGN_BYTES === 0, 'frame not aligned');
  }

  private reserve(extraBytes: number): void {
    const needed = this.lengthBytes + extraBytes;
    if (needed <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < needed) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.lengthBytes));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.lengthBytes);
  }
}

export type ParsedFrame =
  | {
      readonly ok: true;
      readonly type: RecordType;
      readonly payload: Uint8Array;
      readonly crc: number;
      readonly nextOffset: number;
    }
  | { readonly ok: false; readonly reason: string };

/** Parses the record at `offset` of a segment's bytes; never throws on bad input. */
export function parseFrame(buf: Uint8Array, seq: number, offset: number): ParsedFrame {
  if (offset + HEADER_BYTES > buf.length) {
    return { ok: false, reason: `truncated header (${buf.length - offset} bytes left)` };
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const payloadBytes = view.getUint32(offset, true);
  const type = buf[offset + 4] as number;
  const padBytes = buf[offset + 5] as number;
  if (type < 1 || type > MAX_RECORD_TYPE) return { ok: false, reason: `bad record type ${type}` };
  if (view.getUint16(offset + 6, true) !== 0) return { ok: false, reason: 'reserved bits set' };
  if (payloadBytes > MAX_PAYLOAD_BYTES) return { ok: false, reason: `bad length ${payloadBytes}` };
  const total = framedBytes(payloadBytes);
  if (padBytes !== total - HEADER_BYTES - payloadBytes) {
    return { ok: false, reason: `bad padding ${padBytes}` };
  }
  if (offset + total > buf.length) {
    return { ok: false, reason: `truncated record (needs ${total} bytes, ${buf.length - offset} left)` };
  }
  const payload = buf.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + payloadBytes);
  const storedCrc = view.getUint32(offset + 8, true);
  const crc = crc32c(payload, crc32c(buf.subarray(offset, offset + 8), crcSeed(seq, offset)));
  if (crc !== storedCrc) return { ok: false, reason: 'crc mismatch' };
  for (let i = offset + HEADER_BYTES + payloadBytes; i < offset + total; i++) {
    if (buf[i] !== 0) return { ok: false, reason: 'non-zero padding' };
  }
  return { ok: true, type: type as RecordType, payload, crc, nextOffset: offset + total };
}

/**
 * The first aligned offset after `badOffset` where a valid record starts, or undefined. Used
 * only after a bad record, so its cost (a header check per 8 bytes) is paid on repair only.
 */
export function findValidFrameAfter(
  buf: Uint8Array,
  seq: number,
  badOffset: number,
): number | undefined {
  for (let at = badOffset + ALIGN_BYTES; at + HEADER_BYTES <= buf.length; at += ALIGN_BYTES) {
    const type = buf[at + 4] as number;
    // Cheap rejections first; parseFrame re-checks everything.
    if (type < 1 || type > MAX_RECORD_TYPE || buf[at + 6] !== 0 || buf[at + 7] !== 0) continue;
    if (parseFrame(buf, seq, at).ok) return at;
  }
  return undefined;
}

export function readCrcPayload(payload: Uint8Array): number | undefined {
  if (payload.length !== 4) return undefined;
  return new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0, true);
}

export function crcPayload(rolling: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, rolling, true);
  return bytes;
}
