/**
 * The frames a server connection sends, written into its output buffer: header blocks through
 * the connection's HPACK encoder (split into CONTINUATION frames past the peer's frame size),
 * DATA, and the control frames. Nothing here decides when or whether to send; connection.ts does.
 */
import { HpackEncoder } from './hpack.js';
import { ErrorCode, Flag, FRAME_HEADER_BYTES, FrameType, writeFrameHeader } from './frames.js';
import type { SettingId } from './frames.js';
import { OutBuffer } from './out-buffer.js';

/** grpc-message carries error texts that vary call to call: indexing them would only churn the table. */
const indexableHeader = (name: string): boolean => name !== 'grpc-message';

export class FrameWriter {
  private readonly out = new OutBuffer();
  readonly encoder = new HpackEncoder();

  /** Bytes written since the last take(). */
  get length(): number {
    return this.out.length;
  }

  /** Everything written since the last take, in order, for one socket write. */
  take(): Buffer[] {
    return this.out.take();
  }

  headers(streamId: number, fields: readonly string[], endStream: boolean, maxFrameBytes: number): void {
    const block = this.encoder.encode(fields, indexableHeader);
    const endFlag = endStream ? Flag.EndStream : 0;
    if (block.length <= maxFrameBytes) {
      const { buf, at } = this.out.reserve(FRAME_HEADER_BYTES + block.length);
      writeFrameHeader(buf, at, block.length, FrameType.Headers, Flag.EndHeaders | endFlag, streamId);
      block.copy(buf, at + FRAME_HEADER_BYTES);
      return;
    }
    for (let from = 0; from < block.length; from += maxFrameBytes) {
      const piece = block.subarray(from, Math.min(block.length, from + maxFrameBytes));
      const first = from === 0;
      const last = from + maxFrameBytes >= block.length;
      const type = first ? FrameType.Headers : FrameType.Continuation;
      const flags = (first ? endFlag : 0) | (last ? Flag.EndHeaders : 0);
      const { buf, at } = this.out.reserve(FRAME_HEADER_BYTES);
      writeFrameHeader(buf, at, piece.length, type, flags, streamId);
      this.out.append(piece);
    }
  }

  data(streamId: number, payload: Buffer): void {
    const { buf, at } = this.out.reserve(FRAME_HEADER_BYTES);
    writeFrameHeader(buf, at, payload.length, FrameType.Data, 0, streamId);
    this.out.append(payload);
  }

  rstStream(streamId: number, code: number): void {
    const { buf, at } = this.out.reserve(FRAME_HEADER_BYTES + 4);
    writeFrameHeader(buf, at, 4, FrameType.RstStream, 0, streamId);
    buf.writeUInt32BE(code, at + FRAME_HEADER_BYTES);
  }

  windowUpdate(streamId: number, increment: number): void {
    const { buf, at } = this.out.reserve(FRAME_HEADER_BYTES + 4);
    writeFrameHeader(buf, at, 4, FrameType.WindowUpdate, 0, streamId);
    buf.writeUInt32BE(increment, at + FRAME_HEADER_BYTES);
  }

  settings(entries: readonly (readonly [SettingId, number])[]): void {
    const { buf, at } = this.out.reserve(FRAME_HEADER_BYTES + entries.length * 6);
    writeFrameHeader(buf, at, entries.length * 6, FrameType.Settings, 0, 0);
    entries.forEach(([id, value], i) => {
      buf.writeUInt16BE(id, at + FRAME_HEADER_BYTES + i * 6);
      buf.writeUInt32BE(value, at + FRAME_HEADER_BYTES + i * 6 + 2);
    });
  }

  settingsAck(): void {
    const { buf, at } = this.out.reserve(FRAME_HEADER_BYTES);
    writeFrameHeader(buf, at, 0, FrameType.Settings, Flag.Ack, 0);
  }

  pingAck(payload: Buffer): void {
    const { buf, at } = this.out.reserve(FRAME_HEADER_BYTES + 8);
    writeFrameHeader(buf, at, 8, FrameType.Ping, Flag.Ack, 0);
    payload.copy(buf, at + FRAME_HEADER_BYTES);
  }

  goAway(lastStreamId: number, code: ErrorCode, debug: string): void {
    const debugBytes = Buffer.from(debug, 'utf8');
    const { buf, at } = this.out.reserve(FRAME_HEADER_BYTES + 8 + debugBytes.length);
    writeFrameHeader(buf, at, 8 + debugBytes.length, FrameType.GoAway, 0, 0);
    buf.writeUInt32BE(lastStreamId, at + FRAME_HEADER_BYTES);
    buf.writeUInt32BE(code, at + FRAME_HEADER_BYTES + 4);
    debugBytes.copy(buf, at + FRAME_HEADER_BYTES + 8);
  }
}
