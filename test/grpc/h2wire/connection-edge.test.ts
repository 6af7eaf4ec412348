/**
 * h2wire edge cases found in review, each seen frame by frame from a raw client: stream errors
 * on streams the server no longer holds, a GOAWAY from the client, an HPACK block that decodes
 * to a huge header list, a sender waiting for its queue to drain, SETTINGS changes in the middle
 * of a window-blocked response, a reset in the middle of one, and a client that stops reading.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcServer, GrpcCode, RPCS, unimplementedServices } from '../../../src/grpc/index.js';
import type { EtcdServices, GrpcServer } from '../../../src/grpc/index.js';
import { fromUtf8, utf8 } from '../../../src/util/index.js';
import { frame, grpcMessage, grpcMessages, PREFACE, rangeMessage, RawClient, settings, T, u32 } from './raw-client.js';

const BIG_VALUE_BYTES = 200_000;
const HUGE_VALUE_BYTES = 8 << 20;
const SNAPSHOT_CHUNKS = 10;
const SNAPSHOT_CHUNK_BYTES = 100_000;
const RANGE = '/etcdserverpb.KV/Range';
const SNAPSHOT = '/etcdserverpb.Maintenance/Snapshot';
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const SETTINGS_MAX_FRAME_SIZE = 0x5;

/** How many snapshot sends the handler has started (the last one may be waiting to drain). */
let snapshotSendsStarted = 0;
/** Calls on key 'hang' whose handler saw its signal abort. */
let hangAborts = 0;
/** Why the last snapshot's send failed, if it did. */
let snapshotSendFailure: string | undefined = undefined;

function services(): EtcdServices {
  return {
    ...unimplementedServices(),
    range: async (req, ctx) => {
      const key = fromUtf8(req.key);
      if (key === 'hang') {
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
        hangAborts++;
        throw { grpcCode: GrpcCode.CANCELLED, message: 'context canceled' };
      }
      if (key === 'slow') await new Promise((resolve) => setTimeout(resolve, 200));
      if (key === 'huge') return { header: { revision: 3n }, kvs: [{ key: req.key, value: new Uint8Array(HUGE_VALUE_BYTES), modRevision: 3n }], count: 1n };
      const value = key.startsWith('big') ? new Uint8Array(BIG_VALUE_BYTES).fill(key.length) : utf8(`value of ${key}`);
      return { header: { revision: 3n }, kvs: [{ key: req.key, value, modRevision: 3n }], count: 1n };
    },
    snapshot: async (_req, out) => {
      snapshotSendsStarted = 0;
      snapshotSendFailure = undefined;
      try {
        for (let i = 0; i < SNAPSHOT_CHUNKS; i++) {
          snapshotSendsStarted++;
          await out.send({ remainingBytes: BigInt(SNAPSHOT_CHUNKS - 1 - i), blob: new Uint8Array(SNAPSHOT_CHUNK_BYTES).fill(i) });
        }
      } catch (error) {
        snapshotSendFailure = (error as { message?: string }).message ?? String(error);
        throw error;
      }
    },
  };
}

let server: GrpcServer;
let port = 0;

beforeAll(async () => {
  server = createGrpcServer(services(), { closeGraceMs: 300 });
  port = await server.listen('127.0.0.1:0');
});

afterAll(async () => {
  await server.close();
});

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A client past the handshake (its SETTINGS acknowledged, nothing left to flush). */
async function ready(initial: Buffer[] = [PREFACE, settings()]): Promise<RawClient> {
  const c = await RawClient.open(port, initial);
  await c.next((f) => f.type === T.Settings && (f.flags & 1) === 1, 'SETTINGS ack');
  return c;
}

/** Compared as a Buffer: vitest's deep equality walks a 200 KB array element by element, slowly. */
function isFilled(value: Uint8Array, bytes: number, fill: number): boolean {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).equals(Buffer.alloc(bytes, fill));
}

function rangeValueOf(c: RawClient, streamId: number): Uint8Array {
  const [message] = grpcMessages(c.dataOf(streamId));
  return RPCS.range.decodeResponse(message ?? Buffer.alloc(0)).kvs[0]!.value;
}

describe('h2wire stream errors', { timeout: 30_000 }, () => {
  it('sends RST_STREAM for a stream error on a stream it does not hold, without waiting for other traffic', async () => {
    const c = await ready();
    try {
      // PRIORITY must be 5 bytes: a stream error (RFC 9113 6.3), here on an idle stream.
      c.send(frame(T.Priority, 0, 5, Buffer.alloc(4)));
      const rst = await c.next((f) => f.type === T.RstStream && f.streamId === 5, 'RST_STREAM of stream 5', 3000);
      expect(rst.payload.readUInt32BE(0)).toBe(0x6);
      // A WINDOW_UPDATE of 0 on a stream that is over: RST_STREAM(PROTOCOL_ERROR).
      c.call(7, RANGE, rangeMessage('k'));
      expect((c.decodeHeaders(await c.trailersOf(7)))['grpc-status']).toBe('0');
      await c.barrier();
      c.send(frame(T.WindowUpdate, 0, 7, u32(0)));
      const rst7 = await c.next((f) => f.type === T.RstStream && f.streamId === 7 && f.payload.readUInt32BE(0) === 0x1, 'RST_STREAM of stream 7', 3000);
      expect(rst7.payload.readUInt32BE(0)).toBe(0x1);
      expect(c.closed).toBe(false);
    } finally {
      c.close();
    }
  });

  it('refuses only the stream whose header block decodes past the header list limit', async () => {
    const c = await ready();
    try {
      // One 3 KB field, then 399 one-byte references to it: 3.5 KB on the wire, 1.2 MB decoded.
      const big = 'a'.repeat(3000);
      const extra: string[] = [];
      for (let i = 0; i < 400; i++) extra.push('x-big', big);
      const block = c.headerBlock(RANGE, extra);
      expect(block.length).toBeLessThan(16_384);
      c.send(frame(T.Headers, 0x4, 1, block), frame(T.Data, 0x1, 1, rangeMessage('k')));
      const rst = await c.next((f) => f.type === T.RstStream && f.streamId === 1, 'RST_STREAM of stream 1');
      expect(rst.payload.readUInt32BE(0)).toBe(0xb);
      // The HPACK state is still shared: the next call on the connection works.
      c.call(3, RANGE, rangeMessage('after'));
      expect(c.decodeHeaders(await c.trailersOf(3))['grpc-status']).toBe('0');
      expect(fromUtf8(rangeValueOf(c, 3))).toBe('value of after');
      expect(c.frames.some((f) => f.streamId === 1 && f.type === T.Headers)).toBe(false);
    } finally {
      c.close();
    }
  });

  it('takes client trailers as the end of the request, and resets a stream sent DATA after its END_STREAM', async () => {
    const c = await ready();
    try {
      // Trailers (HEADERS with END_STREAM) after the message: the call is answered as usual.
      c.send(frame(T.Headers, 0x4, 1, c.headerBlock(RANGE)), frame(T.Data, 0, 1, rangeMessage('trailed')), frame(T.Headers, 0x5, 1, c.encoder.encode(['x-trailer', 'y'])));
      expect(c.decodeHeaders(await c.trailersOf(1))['grpc-status']).toBe('0');
      expect(fromUtf8(rangeValueOf(c, 1))).toBe('value of trailed');
      // DATA after END_STREAM on a stream still open (its call hangs): RST_STREAM(STREAM_CLOSED).
      c.call(3, RANGE, rangeMessage('hang'));
      await c.barrier();
      c.send(frame(T.Data, 0, 3, Buffer.from('x')));
      const rst = await c.next((f) => f.type === T.RstStream && f.streamId === 3, 'RST_STREAM of stream 3');
      expect(rst.payload.readUInt32BE(0)).toBe(0x5);
      // A new stream id lower than one already used is a connection error.
      c.send(frame(T.Headers, 0x5, 3, c.headerBlock(RANGE)));
      const goAway = await c.next((f) => f.type === T.GoAway, 'GOAWAY');
      expect(goAway.payload.readUInt32BE(4)).toBe(0x1);
    } finally {
      c.close();
    }
  });

  it('ends the connection on a WINDOW_UPDATE for a stream never opened (PROTOCOL_ERROR)', async () => {
    const c = await ready();
    try {
      c.send(frame(T.WindowUpdate, 0, 9, u32(1000)));
      const goAway = await c.next((f) => f.type === T.GoAway, 'GOAWAY');
      expect(goAway.payload.readUInt32BE(4)).toBe(0x1);
    } finally {
      c.close();
    }
  });

  it('ends the connection on a GOAWAY shorter than 8 bytes (FRAME_SIZE_ERROR)', async () => {
    const c = await ready();
    try {
      c.send(frame(T.GoAway, 0, 0, Buffer.alloc(4)));
      const goAway = await c.next((f) => f.type === T.GoAway, 'GOAWAY');
      expect(goAway.payload.readUInt32BE(4)).toBe(0x6);
    } finally {
      c.close();
    }
  });
});

describe('h2wire GOAWAY from the client', { timeout: 30_000 }, () => {
  it('closes an idle connection after the client GOAWAY', async () => {
    const c = await ready();
    try {
      c.send(frame(T.GoAway, 0, 0, Buffer.concat([u32(0), u32(0)])));
      expect(await c.closedByServer()).toBe(true);
    } finally {
      c.close();
    }
  });

  it('still sends its own GOAWAY on server close and ends once the running call is answered', async () => {
    const own = createGrpcServer(services(), { closeGraceMs: 20_000 });
    const c = await RawClient.open(await own.listen('127.0.0.1:0'));
    try {
      c.call(1, RANGE, rangeMessage('slow'));
      c.send(frame(T.GoAway, 0, 0, Buffer.concat([u32(0), u32(0)])));
      await c.barrier();
      const closing = own.close();
      const goAway = await c.next((f) => f.type === T.GoAway, 'the server GOAWAY', 3000);
      expect(goAway.payload.readUInt32BE(4)).toBe(0);
      expect(c.decodeHeaders(await c.trailersOf(1))['grpc-status']).toBe('0');
      expect(fromUtf8(rangeValueOf(c, 1))).toBe('value of slow');
      expect(await c.closedByServer(3000)).toBe(true);
      await closing;
    } finally {
      c.close();
      await own.close();
    }
  });
});

describe('h2wire flow control', { timeout: 30_000 }, () => {
  it('wakes a streaming sender once its queue falls to the drain mark, not only when it empties', async () => {
    const c = await ready([PREFACE, settings([[SETTINGS_INITIAL_WINDOW_SIZE, 0]]), frame(T.WindowUpdate, 0, 0, u32(64 << 20))]);
    try {
      c.call(1, SNAPSHOT, grpcMessage(RPCS.snapshot.encodeRequest({})));
      // Nothing can leave: the third 100 KB message puts the queue past 256 KB and waits.
      await until(() => snapshotSendsStarted === 3, 'the third send');
      await c.barrier();
      expect(snapshotSendsStarted).toBe(3);
      expect(c.dataOf(1).length).toBe(0);
      // 60 KB out: the queue (about 240 KB) is under the mark although not empty.
      c.send(frame(T.WindowUpdate, 0, 1, u32(60_000)));
      await until(() => snapshotSendsStarted === 4, 'the fourth send after a partial drain');
      await c.barrier();
      expect(c.dataOf(1).length).toBe(60_000);
      c.send(frame(T.WindowUpdate, 0, 1, u32(8 << 20)));
      await c.trailersOf(1);
      const chunks = grpcMessages(c.dataOf(1)).map((m) => RPCS.snapshot.decodeResponse(m));
      expect(chunks.map((m) => m.blob[0])).toEqual([...Array(SNAPSHOT_CHUNKS).keys()]);
      expect(chunks.every((m) => m.blob.length === SNAPSHOT_CHUNK_BYTES)).toBe(true);
    } finally {
      c.close();
    }
  });

  it('shares connection window updates among waiting streams instead of giving them all to the oldest', async () => {
    const c = await ready([PREFACE, settings([[SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20]])]);
    try {
      c.call(1, SNAPSHOT, grpcMessage(RPCS.snapshot.encodeRequest({})));
      // 65,535 bytes left at once; the fourth 100 KB message takes the queue past the mark.
      await until(() => snapshotSendsStarted === 4, 'the snapshot to fill its queue');
      await c.barrier();
      // The snapshot used the whole connection window (65,535): the next answer waits behind it.
      expect(c.dataOf(1).length).toBe(65_535);
      c.call(3, RANGE, rangeMessage('small'));
      await c.barrier();
      expect(c.dataOf(3).length).toBe(0);
      c.send(frame(T.WindowUpdate, 0, 0, u32(20_000)));
      await c.barrier();
      expect(c.decodeHeaders(await c.trailersOf(3, 2000))['grpc-status']).toBe('0');
      expect(fromUtf8(rangeValueOf(c, 3))).toBe('value of small');
      expect(c.dataOf(1).length + c.dataOf(3).length).toBe(65_535 + 20_000);
    } finally {
      c.close();
    }
  });

  it('pauses on a window made negative by SETTINGS, resumes on updates, and uses a larger MAX_FRAME_SIZE', async () => {
    const c = await ready([PREFACE, settings([[SETTINGS_INITIAL_WINDOW_SIZE, 30_000]]), frame(T.WindowUpdate, 0, 0, u32(64 << 20))]);
    try {
      c.call(1, RANGE, rangeMessage('big'));
      await c.next((f) => f.type === T.Data && f.streamId === 1, 'first DATA');
      await c.barrier();
      expect(c.dataOf(1).length).toBe(30_000);
      // 30,000 -> 10,000: the stream's window is now -20,000.
      c.send(settings([[SETTINGS_INITIAL_WINDOW_SIZE, 10_000]]), frame(T.WindowUpdate, 0, 1, u32(20_000)));
      await c.barrier();
      expect(c.dataOf(1).length).toBe(30_000);
      c.send(frame(T.WindowUpdate, 0, 1, u32(5_000)));
      await c.barrier();
      expect(c.dataOf(1).length).toBe(35_000);
      // Frames up to 64 KB allowed, and a window for everything left.
      c.send(settings([[SETTINGS_MAX_FRAME_SIZE, 65_536], [SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20]]));
      expect(c.decodeHeaders(await c.trailersOf(1))['grpc-status']).toBe('0');
      expect(isFilled(rangeValueOf(c, 1), BIG_VALUE_BYTES, 3)).toBe(true);
      const sizes = c.frames.filter((f) => f.type === T.Data && f.streamId === 1).map((f) => f.payload.length);
      expect(Math.max(...sizes)).toBeGreaterThan(16_384);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(65_536);
    } finally {
      c.close();
    }
  });

  it('drops a window-blocked response the client resets and keeps serving the others', async () => {
    const c = await ready([PREFACE, settings([[SETTINGS_INITIAL_WINDOW_SIZE, 1000]])]);
    try {
      c.call(1, RANGE, rangeMessage('big'));
      c.call(3, RANGE, rangeMessage('big3'));
      await c.next((f) => f.type === T.Data && f.streamId === 3, 'DATA of stream 3');
      c.send(frame(T.RstStream, 0, 1, u32(0x8)));
      await c.barrier();
      const sentOn1 = c.dataOf(1).length;
      expect(sentOn1).toBe(1000);
      // Plenty of window everywhere: only stream 3 may use it.
      c.send(frame(T.WindowUpdate, 0, 0, u32(64 << 20)), frame(T.WindowUpdate, 0, 1, u32(1 << 20)), frame(T.WindowUpdate, 0, 3, u32(1 << 20)));
      expect(c.decodeHeaders(await c.trailersOf(3))['grpc-status']).toBe('0');
      expect(isFilled(rangeValueOf(c, 3), BIG_VALUE_BYTES, 4)).toBe(true);
      await c.barrier();
      expect(c.dataOf(1).length).toBe(sentOn1);
      expect(c.frames.some((f) => f.streamId === 1 && f.type === T.Headers && (f.flags & 1) === 1)).toBe(false);
      c.call(5, RANGE, rangeMessage('next'));
      expect(c.decodeHeaders(await c.trailersOf(5))['grpc-status']).toBe('0');
    } finally {
      c.close();
    }
  });

  it('holds DATA while the client does not read and delivers all of it, in order, once it does', async () => {
    const streams = 24;
    const c = await ready([PREFACE, settings([[SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20]]), frame(T.WindowUpdate, 0, 0, u32(256 << 20))]);
    try {
      c.socket.pause();
      for (let i = 0; i < streams; i++) c.call(1 + 2 * i, RANGE, rangeMessage(`big${'x'.repeat(i)}`));
      // 24 x 200 KB answered while nothing is read: socket buffers fill and the server must wait.
      await new Promise((resolve) => setTimeout(resolve, 300));
      c.socket.resume();
      for (let i = 0; i < streams; i++) {
        const id = 1 + 2 * i;
        expect(c.decodeHeaders(await c.trailersOf(id, 10_000))['grpc-status']).toBe('0');
        expect(isFilled(rangeValueOf(c, id), BIG_VALUE_BYTES, 3 + i)).toBe(true);
      }
    } finally {
      c.close();
    }
  });
});

describe('h2wire floods', { timeout: 30_000 }, () => {
  it('ends the connection on an endless run of empty CONTINUATION frames', async () => {
    const c = await ready();
    try {
      c.send(frame(T.Headers, 0, 1, c.headerBlock(RANGE)));
      const empty = frame(T.Continuation, 0, 1);
      // 9 bytes each: 200,000 of them are 1.8 MB of header block without a byte of headers.
      c.send(Buffer.concat(Array.from({ length: 200_000 }, () => empty)));
      const goAway = await c.next((f) => f.type === T.GoAway, 'GOAWAY');
      expect(goAway.payload.readUInt32BE(4)).toBe(0xb);
    } finally {
      c.close();
    }
  });

  it('ends the connection of a client that sends PINGs and reads none of the answers', async () => {
    const c = await ready();
    try {
      c.socket.pause();
      const ping = frame(T.Ping, 0, 0, Buffer.alloc(8));
      const batch = Buffer.concat(Array.from({ length: 20_000 }, () => ping));
      // 800,000 PINGs (13.6 MB): their answers would far outgrow the socket buffers.
      for (let i = 0; i < 40 && !c.closed; i++) {
        if (!c.socket.write(batch)) await new Promise((resolve) => c.socket.once('drain', resolve).once('close', resolve));
      }
      c.socket.resume();
      // Its GOAWAY(ENHANCE_YOUR_CALM) sits behind megabytes of unread answers: the close is what shows.
      expect(await c.closedByServer(10_000)).toBe(true);
      expect(c.frames.filter((f) => f.type === T.Ping).length).toBeLessThan(800_000);
    } finally {
      c.close();
    }
  });
});

describe('h2wire rapid reset', { timeout: 30_000 }, () => {
  it('refuses new streams (GOAWAY ENHANCE_YOUR_CALM) once a client resets over 1,000 running calls at once', async () => {
    const c = await ready();
    try {
      const frames: Buffer[] = [];
      for (let i = 0; i < 1100; i++) {
        const id = 1 + 2 * i;
        frames.push(frame(T.Headers, 0x4, id, c.headerBlock(RANGE)), frame(T.Data, 0x1, id, rangeMessage('hang')), frame(T.RstStream, 0, id, u32(0x8)));
      }
      c.send(Buffer.concat(frames));
      const goAway = await c.next((f) => f.type === T.GoAway, 'GOAWAY');
      expect(goAway.payload.readUInt32BE(4)).toBe(0xb);
      // The 1,001st reset (stream 2001, or a little later as the budget refills at 33/s) used up
      // the burst; streams after it were refused.
      const lastAccepted = goAway.payload.readUInt32BE(0);
      expect(lastAccepted).toBeGreaterThanOrEqual(2001);
      expect(lastAccepted).toBeLessThan(2199);
      const refused = await c.next((f) => f.type === T.RstStream && f.streamId === lastAccepted + 2, 'RST_STREAM of the next stream');
      expect(refused.payload.readUInt32BE(0)).toBe(0x7);
      // Every accepted stream is over (reset): the connection ends.
      expect(await c.closedByServer()).toBe(true);
      expect(c.frames.filter((f) => f.type === T.GoAway).length).toBe(1);
    } finally {
      c.close();
    }
  });
});

describe('h2wire unsent bytes', { timeout: 30_000 }, () => {
  it('refuses new streams while 32 MB of answers wait for a client that grants no window, and serves again once it does', async () => {
    const c = await ready([PREFACE, settings([[SETTINGS_INITIAL_WINDOW_SIZE, 0]])]);
    try {
      // Four 8 MB answers queue (the window is 0); the fifth call finds 32 MB unsent and is refused.
      for (let i = 0; i < 5; i++) {
        const id = 1 + 2 * i;
        c.call(id, RANGE, rangeMessage('huge'));
        await c.next((f) => f.streamId === id && (f.type === T.Headers || f.type === T.RstStream), `an answer on stream ${id}`);
      }
      expect(c.frames.filter((f) => f.type === T.RstStream).map((f) => [f.streamId, f.payload.readUInt32BE(0)])).toEqual([[9, 0x7]]);
      expect(c.frames.filter((f) => f.type === T.Headers).map((f) => f.streamId)).toEqual([1, 3, 5, 7]);
      c.send(frame(T.RstStream, 0, 1, u32(0x8)), frame(T.RstStream, 0, 3, u32(0x8)));
      c.call(11, RANGE, rangeMessage('small'));
      await c.next((f) => f.streamId === 11 && (f.type === T.Headers || f.type === T.RstStream), 'an answer on stream 11');
      expect(c.frames.some((f) => f.streamId === 11 && f.type === T.RstStream)).toBe(false);
      c.send(settings([[SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20]]), frame(T.WindowUpdate, 0, 0, u32(64 << 20)));
      expect(c.decodeHeaders(await c.trailersOf(11))['grpc-status']).toBe('0');
      expect(fromUtf8(rangeValueOf(c, 11))).toBe('value of small');
    } finally {
      c.close();
    }
  });
});

describe('h2wire forced shutdown', { timeout: 30_000 }, () => {
  it('after the grace period drops a window-blocked stream, fails its waiting send, and refuses connections injected meanwhile', async () => {
    const own = createGrpcServer(services(), { closeGraceMs: 300 });
    const ownPort = await own.listen('127.0.0.1:0');
    const c = await RawClient.open(ownPort, [PREFACE, settings([[SETTINGS_INITIAL_WINDOW_SIZE, 0]])]);
    try {
      c.call(1, SNAPSHOT, grpcMessage(RPCS.snapshot.encodeRequest({})));
      await until(() => snapshotSendsStarted === 3, 'the snapshot to block');
      const closing = own.close();
      const goAway = await c.next((f) => f.type === T.GoAway, 'GOAWAY');
      expect(goAway.payload.readUInt32BE(4)).toBe(0);
      // A connection handed over while closing (as the gateway's sniffer does) is dropped at once.
      const { PassThrough } = await import('node:stream');
      const injected = new PassThrough();
      own.injectConnection(injected);
      expect(injected.destroyed).toBe(true);
      await closing;
      expect(await c.closedByServer()).toBe(true);
      await until(() => snapshotSendFailure !== undefined, 'the blocked send to fail');
      expect(snapshotSendFailure).toBe('context canceled');
      expect(c.dataOf(1).length).toBe(0);
    } finally {
      c.close();
      await own.close();
    }
  });
});

describe('h2wire half-closed socket', { timeout: 30_000 }, () => {
  it('a client that ends its side of the socket has its running call cancelled and the connection closed', async () => {
    const c = await ready();
    try {
      const before = hangAborts;
      c.call(1, RANGE, rangeMessage('hang'));
      await c.barrier();
      c.socket.end();
      expect(await c.closedByServer()).toBe(true);
      await until(() => hangAborts === before + 1, 'the handler to see the call cancelled');
    } finally {
      c.close();
    }
  });
});
