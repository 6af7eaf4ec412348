/**
 * tsetcd's HTTP/2 transport (src/grpc/h2wire) seen frame by frame from a raw client: the
 * handshake, CONTINUATION and padding, both flow-control windows, cancellation by RST_STREAM,
 * the connection errors RFC 9113 asks for, and a graceful GOAWAY. Interoperability with real
 * clients (grpc-js, etcdctl, etcd3) is covered by h2-server.test.ts and the compat tests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcServer, GrpcCode, RPCS, unimplementedServices } from '../../../src/grpc/index.js';
import type { GrpcServer } from '../../../src/grpc/index.js';
import { frame, PREFACE, rangeMessage, RawClient, settings, T, u32 } from './raw-client.js';
import type { Frame } from './raw-client.js';
import { fromUtf8, utf8 } from '../../../src/util/index.js';

const BIG_VALUE_BYTES = 200_000;
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

const goAwayCode = (f: Frame): number => f.payload.readUInt32BE(4);

describe('h2wire connection', { timeout: 30_000 }, () => {
  it('opens with SETTINGS, acknowledges the client SETTINGS and answers PING', async () => {
    const c = await RawClient.open(port);
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
    const c = await RawClient.open(port);
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
    const c = await RawClient.open(port, [PREFACE, settings([[0x4, windowBytes]])]);
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
    const c = await RawClient.open(port);
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
      const c = await RawClient.open(port);
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
    const c = await RawClient.open(port, [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]);
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
    const c = await RawClient.open(await own.listen('127.0.0.1:0'));
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
