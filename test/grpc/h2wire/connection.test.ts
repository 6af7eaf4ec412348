/**
 * tsetcd's HTTP/2 transport (src/grpc/h2wire) seen frame by frame from a raw client: the
 * handshake, CONTINUATION and padding, both flow-control windows, cancellation by RST_STREAM,
 * the connection errors RFC 9113 asks for, and a graceful GOAWAY. Interoperability with real
 * clients (grpc-js, etcdctl, etcd3) is covered by h2-server.test.ts and the compat tests.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcServer, GrpcCode, RPCS, unimplementedServices } from '../../../src/grpc/index.js';
import type { GrpcServer } from '../../../src/grpc/index.js';
import { HpackDecoder, HpackEncoder } from '../../../src/grpc/h2wire/hpack.js';
import { fromUtf8, utf8 } from '../../../src/util/index.js';

const BIG_VALUE_BYTES = 200_000;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

const enum T {
  Data = 0,
  Headers = 1,
  RstStream = 3,
  Settings = 4,
  Ping = 6,
  GoAway = 7,
  WindowUpdate = 8,
  Continuation = 9,
}

interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

let server: GrpcServer;
let port = 0;
let hangAborts = 0;
let hangStarted: () => void = () => undefined;

beforeAll(async () => {
  server = createGrpcServer(
    {
      ...unimplementedServices(),
      range: async (req, ctx) => {
        const key = fromUtf8(req.key);
        if (key === 'hang') {
          hangStarted();
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
          hangAborts++;
          throw { grpcCode: GrpcCode.CANCELLED, message: 'context canceled' };
        }
        const value = key === 'big' ? new Uint8Array(BIG_VALUE_BYTES).fill(7) : utf8(`value of ${key}`);
        return { header: { revision: 3n }, kvs: [{ key: req.key, value, modRevision: 3n }], count: 1n };
      },
    },
    { closeGraceMs: 300 },
  );
  port = await server.listen('127.0.0.1:0');
});

afterAll(async () => {
  await server.close();
});

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

function settings(entries: [number, number][] = []): Buffer {
  const payload = Buffer.alloc(entries.length * 6);
  entries.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(T.Settings, 0, 0, payload);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** A client that speaks frames: sends what it is told, records every frame the server sends. */
class RawClient {
  readonly frames: Frame[] = [];
  readonly encoder = new HpackEncoder();
  readonly decoder = new HpackDecoder();
  closed = false;
  private buffered = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => {
      this.closed = true;
      this.wakeAll();
    });
    socket.on('error', () => undefined);
  }

  static async open(initial: Buffer[] = [PREFACE, settings()], atPort = port): Promise<RawClient> {
    const socket = connect(atPort, '127.0.0.1');
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

  /** Waits until a frame matching `match` (after any already consumed) arrives. */
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

  decodeHeaders(f: Frame): Record<string, string> {
    const fields = this.decoder.decode(f.payload);
    const out: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) out[fields[i] as string] = fields[i + 1] as string;
    return out;
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

function rangeMessage(key: string): Buffer {
  const body = RPCS.range.encodeRequest({ key: utf8(key) });
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

const goAwayCode = (f: Frame): number => f.payload.readUInt32BE(4);

describe('h2wire connection', { timeout: 30_000 }, () => {
  it('opens with SETTINGS, acknowledges the client SETTINGS and answers PING', async () => {
    const c = await RawClient.open();
    try {
      const first = await c.next(() => true, 'first frame');
      expect(first.type).toBe(T.Settings);
      expect(first.flags & 1).toBe(0);
      await c.next((f) => f.type === T.Settings && (f.flags & 1) === 1, 'SETTINGS ack');
      c.send(frame(T.Ping, 0, 0, Buffer.from('12345678')));
      const pong = await c.next((f) => f.type === T.Ping, 'PING ack');
      expect(pong.flags & 1).toBe(1);
      expect(pong.payload.toString()).toBe('12345678');
    } finally {
      c.close();
    }
  });

  it('answers a call sent as HEADERS + CONTINUATION with padded DATA', async () => {
    const c = await RawClient.open();
    try {
      const block = c.headerBlock('/etcdserverpb.KV/Range', ['x-long', 'y'.repeat(300)]);
      const cut = 10;
      c.send(frame(T.Headers, 0, 1, block.subarray(0, cut)), frame(T.Continuation, 0x4, 1, block.subarray(cut)));
      const message = rangeMessage('padded');
      const padded = Buffer.concat([Buffer.from([3]), message, Buffer.alloc(3)]);
      c.send(frame(T.Data, 0x8 | 0x1, 1, padded));
      const headers = c.decodeHeaders(await c.next((f) => f.type === T.Headers && f.streamId === 1, 'response headers'));
      // Exactly what etcd 3.4 (grpc-go) answers: clients parse every field on every call.
      expect(headers).toEqual({ ':status': '200', 'content-type': 'application/grpc' });
      const data = await c.next((f) => f.type === T.Data && f.streamId === 1, 'response DATA');
      const response = RPCS.range.decodeResponse(data.payload.subarray(5));
      expect(fromUtf8(response.kvs[0]!.value)).toBe('value of padded');
      const trailers = await c.next((f) => f.type === T.Headers && f.streamId === 1 && (f.flags & 1) === 1, 'trailers');
      expect(c.decodeHeaders(trailers)).toEqual({ 'grpc-status': '0', 'grpc-message': '' });
    } finally {
      c.close();
    }
  });

  it('sends no more than the client window allows and the rest after WINDOW_UPDATE', async () => {
    const windowBytes = 1000;
    const c = await RawClient.open([PREFACE, settings([[0x4, windowBytes]])]);
    try {
      await c.next((f) => f.type === T.Settings && (f.flags & 1) === 1, 'SETTINGS ack');
      c.send(frame(T.Headers, 0x4, 1, c.headerBlock('/etcdserverpb.KV/Range')), frame(T.Data, 0x1, 1, rangeMessage('big')));
      await c.next((f) => f.type === T.Data && f.streamId === 1, 'first DATA');
      await new Promise((resolve) => setTimeout(resolve, 200));
      const sent = (): number => c.frames.filter((f) => f.type === T.Data && f.streamId === 1).reduce((n, f) => n + f.payload.length, 0);
      expect(sent()).toBe(windowBytes);
      // The connection window (65,535) would also stop it: open both.
      c.send(frame(T.WindowUpdate, 0, 1, u32(1 << 20)), frame(T.WindowUpdate, 0, 0, u32(1 << 20)));
      const trailers = await c.next((f) => f.type === T.Headers && (f.flags & 1) === 1, 'trailers');
      expect(c.decodeHeaders(trailers)['grpc-status']).toBe('0');
      const payload = Buffer.concat(c.frames.filter((f) => f.type === T.Data && f.streamId === 1).map((f) => f.payload));
      const response = RPCS.range.decodeResponse(payload.subarray(5));
      expect(response.kvs[0]!.value.length).toBe(BIG_VALUE_BYTES);
      for (const f of c.frames.filter((x) => x.type === T.Data)) expect(f.payload.length).toBeLessThanOrEqual(16_384);
    } finally {
      c.close();
    }
  });

  it('a client RST_STREAM cancels the call: the handler sees its signal abort', async () => {
    const c = await RawClient.open();
    try {
      const before = hangAborts;
      const started = new Promise<void>((resolve) => (hangStarted = resolve));
      c.send(frame(T.Headers, 0x4, 1, c.headerBlock('/etcdserverpb.KV/Range')), frame(T.Data, 0x1, 1, rangeMessage('hang')));
      await started;
      c.send(frame(T.RstStream, 0, 1, u32(0x8)));
      for (let i = 0; i < 100 && hangAborts === before; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(hangAborts).toBe(before + 1);
      // The stream is gone: the connection still serves the next call.
      c.send(frame(T.Headers, 0x4, 3, c.headerBlock('/etcdserverpb.KV/Range')), frame(T.Data, 0x1, 3, rangeMessage('after')));
      const trailers = await c.next((f) => f.type === T.Headers && f.streamId === 3 && (f.flags & 1) === 1, 'trailers of the next call');
      expect(c.decodeHeaders(trailers)['grpc-status']).toBe('0');
      expect(c.frames.some((f) => f.streamId === 1 && f.type !== T.RstStream && f.type !== T.WindowUpdate)).toBe(false);
    } finally {
      c.close();
    }
  });

  const violations: [string, () => Buffer[], number][] = [
    ['DATA on a stream never opened', () => [frame(T.Data, 0, 7, Buffer.from('x'))], 0x1],
    ['a frame larger than 16,384 bytes', () => [frame(T.Data, 0, 1, Buffer.alloc(16_385))], 0x6],
    ['a connection WINDOW_UPDATE past 2^31-1', () => [frame(T.WindowUpdate, 0, 0, u32(0x7fffffff))], 0x3],
    ['a malformed header block', () => [frame(T.Headers, 0x4, 1, Buffer.from([0x80]))], 0x9],
    ['CONTINUATION without HEADERS', () => [frame(T.Continuation, 0x4, 1, Buffer.from([0x82]))], 0x1],
    ['PING of 7 bytes', () => [frame(T.Ping, 0, 0, Buffer.alloc(7))], 0x6],
    ['SETTINGS on a stream', () => [frame(T.Settings, 0, 1)], 0x1],
  ];
  for (const [what, frames, code] of violations) {
    it(`ends the connection with GOAWAY on ${what}`, async () => {
      const c = await RawClient.open();
      try {
        c.send(...frames());
        const goAway = await c.next((f) => f.type === T.GoAway, 'GOAWAY');
        expect(goAwayCode(goAway)).toBe(code);
        await c.next(() => c.closed, 'the server to close', 2000).catch(() => undefined);
        expect(c.closed).toBe(true);
      } finally {
        c.close();
      }
    });
  }

  it('closes a connection whose preface is wrong', async () => {
    const c = await RawClient.open([Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]);
    try {
      await c.next(() => c.closed, 'the server to close', 3000).catch(() => undefined);
      expect(c.closed).toBe(true);
    } finally {
      c.close();
    }
  });
});

describe('h2wire graceful close', { timeout: 30_000 }, () => {
  it('sends GOAWAY, refuses new streams, lets the running call end, then closes', async () => {
    const own = createGrpcServer(
      {
        ...unimplementedServices(),
        range: async (req) => {
          await new Promise((resolve) => setTimeout(resolve, 150));
          return { header: { revision: 1n }, kvs: [{ key: req.key, value: utf8('late'), modRevision: 1n }], count: 1n };
        },
      },
      { closeGraceMs: 5000 },
    );
    const c = await RawClient.open(undefined, await own.listen('127.0.0.1:0'));
    try {
      c.send(frame(T.Headers, 0x4, 1, c.headerBlock('/etcdserverpb.KV/Range')), frame(T.Data, 0x1, 1, rangeMessage('slow')));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const closing = own.close();
      const goAway = await c.next((f) => f.type === T.GoAway, 'GOAWAY');
      expect(goAwayCode(goAway)).toBe(0);
      expect(goAway.payload.readUInt32BE(0)).toBe(1);
      c.send(frame(T.Headers, 0x4, 3, c.headerBlock('/etcdserverpb.KV/Range')), frame(T.Data, 0x1, 3, rangeMessage('refused')));
      const refused = await c.next((f) => f.type === T.RstStream && f.streamId === 3, 'RST_STREAM of the refused stream');
      expect(refused.payload.readUInt32BE(0)).toBe(0x7);
      const trailers = await c.next((f) => f.type === T.Headers && f.streamId === 1 && (f.flags & 1) === 1, 'the running call to finish');
      expect(c.decodeHeaders(trailers)['grpc-status']).toBe('0');
      await closing;
      await c.next(() => c.closed, 'the connection to close', 3000).catch(() => undefined);
      expect(c.closed).toBe(true);
    } finally {
      c.close();
    }
  });
});
