/**
 * A raw HTTP/2 client for the h2wire tests: it writes the frames it is told to and records every
 * frame the server sends, so a test can check the transport frame by frame.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { RPCS } from '../../../src/grpc/index.js';
import { HpackDecoder, HpackEncoder } from '../../../src/grpc/h2wire/hpack.js';
import { utf8 } from '../../../src/util/index.js';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const enum T {
  Data = 0,
  Headers = 1,
  Priority = 2,
  RstStream = 3,
  Settings = 4,
  Ping = 6,
  GoAway = 7,
  WindowUpdate = 8,
  Continuation = 9,
}

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

export function settings(entries: [number, number][] = []): Buffer {
  const payload = Buffer.alloc(entries.length * 6);
  entries.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(T.Settings, 0, 0, payload);
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export function grpcMessage(body: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

export function rangeMessage(key: string): Buffer {
  return grpcMessage(RPCS.range.encodeRequest({ key: utf8(key) }));
}

/** The gRPC messages in a stream's DATA payloads, in order. */
export function grpcMessages(payload: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at + 5 <= payload.length) {
    const length = payload.readUInt32BE(at + 1);
    out.push(payload.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  return out;
}

export class RawClient {
  readonly frames: Frame[] = [];
  readonly encoder = new HpackEncoder();
  readonly decoder = new HpackDecoder();
  closed = false;
  private buffered = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private pingCount = 0;
  private readonly decoded = new Map<Frame, Record<string, string>>();
  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => {
      this.closed = true;
      this.wakeAll();
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number, initial: Buffer[] = [PREFACE, settings()]): Promise<RawClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new RawClient(socket);
    for (const b of initial) socket.write(b);
    return client;
  }

  send(...buffers: Buffer[]): void {
    for (const b of buffers) this.socket.write(b);
  }

  headerBlock(path: string, extra: string[] = []): Buffer {
    return this.encoder.encode([':method', 'POST', ':scheme', 'http', ':path', path, ':authority', 'localhost', 'content-type', 'application/grpc', 'te', 'trailers', ...extra]);
  }

  /** HEADERS + one DATA with END_STREAM: a whole unary or server-streaming request. */
  call(streamId: number, path: string, message: Buffer): void {
    this.send(frame(T.Headers, 0x4, streamId, this.headerBlock(path)), frame(T.Data, 0x1, streamId, message));
  }

  /** Waits until a frame matching `match` has arrived. */
  async next(match: (f: Frame) => boolean, what: string, timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found !== undefined) return found;
      if (this.closed) throw new Error(`connection closed while waiting for ${what}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** A PING round trip: every frame the server wrote before answering it has arrived. */
  async barrier(): Promise<void> {
    const tag = Buffer.alloc(8);
    tag.writeUInt32BE(0xb0b, 0);
    tag.writeUInt32BE(++this.pingCount, 4);
    this.send(frame(T.Ping, 0, 0, tag));
    await this.next((f) => f.type === T.Ping && (f.flags & 1) === 1 && f.payload.equals(tag), 'PING ack');
  }

  async closedByServer(timeoutMs = 5000): Promise<boolean> {
    await this.next(() => this.closed, 'the server to close', timeoutMs).catch(() => undefined);
    return this.closed;
  }

  dataOf(streamId: number): Buffer {
    return Buffer.concat(this.frames.filter((f) => f.type === T.Data && f.streamId === streamId).map((f) => f.payload));
  }

  /** A HEADERS frame's fields; every earlier block is decoded first, in order, as HPACK needs. */
  decodeHeaders(f: Frame): Record<string, string> {
    for (const each of this.frames) {
      if (each.type !== T.Headers || this.decoded.has(each)) continue;
      const fields = this.decoder.decode(each.payload);
      const out: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) out[fields[i] as string] = fields[i + 1] as string;
      this.decoded.set(each, out);
      if (each === f) break;
    }
    const found = this.decoded.get(f);
    if (found === undefined) throw new Error('not a HEADERS frame of this client');
    return found;
  }

  trailersOf(streamId: number, timeoutMs = 5000): Promise<Frame> {
    return this.next((f) => f.type === T.Headers && f.streamId === streamId && (f.flags & 1) === 1, `trailers of stream ${streamId}`, timeoutMs);
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 9) {
      const length = this.buffered.readUIntBE(0, 3);
      if (this.buffered.length < 9 + length) break;
      this.frames.push({ type: this.buffered[3]!, flags: this.buffered[4]!, streamId: this.buffered.readUInt32BE(5) & 0x7fffffff, payload: this.buffered.subarray(9, 9 + length) });
      this.buffered = this.buffered.subarray(9 + length);
    }
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
