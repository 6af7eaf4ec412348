/**
 * The node:http2 gRPC server (h2-server.ts) against grpc-js's server, which it replaced as the
 * default: the same services behind both, the same calls, and the same outcome expected from
 * each — status code and text, response bytes, the handler's view of cancellation. Covers what
 * server.test.ts does not: deadlines, compressed requests, malformed call shapes sent with a raw
 * HTTP/2 client, wrong content types.
 */
import * as grpc from '@grpc/grpc-js';
import * as http2 from 'node:http2';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcServer, GrpcCode, RPCS, unimplementedServices } from '../../src/grpc/index.js';
import type { EtcdServices, GrpcServer } from '../../src/grpc/index.js';
import { fromUtf8, utf8 } from '../../src/util/index.js';

const SLOW_MACHINE_TIMEOUT_MS = 60_000;
const MAX_RECEIVE_BYTES = 4096;

type Impl = 'http2' | 'grpc-js';
const IMPLS: readonly Impl[] = ['http2', 'grpc-js'];

/** Per implementation: did a hanging call's handler see its signal abort? */
const hangAborted = new Map<Impl, Promise<void>>();

function servicesFor(impl: Impl): EtcdServices {
  let resolveAborted: () => void = () => undefined;
  hangAborted.set(impl, new Promise<void>((resolve) => (resolveAborted = resolve)));
  return {
    ...unimplementedServices(),
    range: async (req, ctx) => {
      const key = fromUtf8(req.key);
      if (key === 'hang') {
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
        resolveAborted();
        throw { grpcCode: GrpcCode.CANCELLED, message: 'context canceled' };
      }
      return { header: { revision: 3n }, kvs: [{ key: req.key, value: utf8(`${key}:${ctx.metadata('x-extra') ?? ''}`), modRevision: 3n }], count: 1n };
    },
  };
}

const servers = new Map<Impl, { server: GrpcServer; port: number }>();

beforeAll(async () => {
  for (const impl of IMPLS) {
    const server = createGrpcServer(servicesFor(impl), { implementation: impl, maxReceiveMessageBytes: MAX_RECEIVE_BYTES, closeGraceMs: 200 });
    servers.set(impl, { server, port: await server.listen('127.0.0.1:0') });
  }
});

afterAll(async () => {
  for (const { server } of servers.values()) await server.close();
});

const portOf = (impl: Impl): number => servers.get(impl)?.port ?? 0;

interface Outcome {
  code: number;
  details: string;
  response?: string;
}

/** A unary call through a grpc-js client; the outcome as code, details and response hex. */
function unary(impl: Impl, path: string, body: Buffer, options: { deadlineMs?: number; gzip?: boolean; metadata?: grpc.Metadata } = {}): Promise<Outcome> {
  const channelOptions = options.gzip === true ? { 'grpc.default_compression_algorithm': 2 } : {};
  const client = new grpc.Client(`127.0.0.1:${portOf(impl)}`, grpc.credentials.createInsecure(), channelOptions);
  const callOptions = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
  return new Promise<Outcome>((resolve) => {
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, body, options.metadata ?? new grpc.Metadata(), callOptions, (err, res) => {
      client.close();
      if (err) resolve({ code: err.code, details: err.details });
      else resolve({ code: 0, details: '', response: (res as Buffer).toString('hex') });
    });
  });
}

function grpcFrame(message: Buffer, compressed = false): Buffer {
  const head = Buffer.alloc(5);
  head[0] = compressed ? 1 : 0;
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

interface RawOutcome {
  httpStatus: number;
  grpcStatus: string | undefined;
  grpcMessage: string | undefined;
}

/** A call written by hand on HTTP/2, for shapes no gRPC client sends. */
function raw(impl: Impl, path: string, chunks: Buffer[], contentType = 'application/grpc', extra: http2.OutgoingHttpHeaders = {}): Promise<RawOutcome> {
  return new Promise<RawOutcome>((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${portOf(impl)}`);
    session.on('error', reject);
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': contentType, te: 'trailers', ...extra });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (headers = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', () => undefined);
    req.on('error', reject);
    req.on('close', () => {
      session.close();
      const pick = (name: string): string | undefined => (trailers[name] ?? headers[name]) as string | undefined;
      const grpcStatus = pick('grpc-status');
      // On success grpc-js's server says "OK"; ours says nothing, as etcd (grpc-go) does. The
      // client sees the same status either way; any other message must match exactly.
      const grpcMessage = grpcStatus === '0' && pick('grpc-message') === 'OK' ? '' : pick('grpc-message');
      resolve({ httpStatus: Number(headers[':status']), grpcStatus, grpcMessage });
    });
    for (const c of chunks) req.write(c);
    req.end();
  });
}

const RANGE = RPCS.range.path;
const rangeBody = (key: string): Buffer => RPCS.range.encodeRequest({ key: utf8(key) });

/** Runs a call on both implementations and expects the same outcome; returns it. */
async function same<T>(call: (impl: Impl) => Promise<T>): Promise<T> {
  const [ours, theirs] = await Promise.all(IMPLS.map(call));
  expect(ours).toEqual(theirs);
  return ours as T;
}

describe('h2-server answers as grpc-js server does', { timeout: SLOW_MACHINE_TIMEOUT_MS }, () => {
  it('a plain call, with metadata reaching the handler', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-extra', 'hello');
    const out = await same((impl) => unary(impl, RANGE, rangeBody('k'), { metadata }));
    expect(out.code).toBe(0);
    expect(fromUtf8(RPCS.range.decodeResponse(Buffer.from(out.response ?? '', 'hex')).kvs[0]?.value ?? new Uint8Array())).toBe('k:hello');
  });

  it('a gzip-compressed request', async () => {
    const out = await same((impl) => unary(impl, RANGE, rangeBody('zipped'), { gzip: true }));
    expect(out.code).toBe(0);
    // The compressed flag without a grpc-encoding header: read as is (so it does not decode).
    const flagOnly = await same((impl) => raw(impl, RANGE, [grpcFrame(gzipSync(rangeBody('z')), true)]));
    expect(flagOnly.grpcStatus).toBe(String(grpc.status.INTERNAL));
    const unknown = await same((impl) => raw(impl, RANGE, [grpcFrame(rangeBody('z'), true)], 'application/grpc', { 'grpc-encoding': 'snappy' }));
    expect(unknown.grpcStatus).toBe(String(grpc.status.UNIMPLEMENTED));
    const gzipped = await same((impl) => raw(impl, RANGE, [grpcFrame(gzipSync(rangeBody('z')), true)], 'application/grpc', { 'grpc-encoding': 'gzip' }));
    expect(gzipped.grpcStatus).toBe('0');
  });

  it('a deadline: DEADLINE_EXCEEDED, and the handler sees its signal abort', async () => {
    // The client writes the details (timings), so only the codes compare.
    const codes = await same(async (impl) => (await unary(impl, RANGE, rangeBody('hang'), { deadlineMs: 300 })).code);
    expect(codes).toBe(grpc.status.DEADLINE_EXCEEDED);
    for (const impl of IMPLS) await hangAborted.get(impl);
  });

  it('an unknown method', async () => {
    const out = await same((impl) => unary(impl, '/etcdserverpb.KV/Nope', Buffer.alloc(0)));
    expect(out.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(out.details).toContain('/etcdserverpb.KV/Nope');
  });

  it('a request above the receive limit', async () => {
    const big = RPCS.range.encodeRequest({ key: utf8('x'.repeat(MAX_RECEIVE_BYTES + 10)) });
    const out = await same((impl) => unary(impl, RANGE, big));
    expect(out.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it('a malformed request message', async () => {
    const out = await same((impl) => unary(impl, RANGE, Buffer.from([0x0a, 0x7f, 0x01])));
    expect(out.code).toBe(grpc.status.INTERNAL);
    expect(out.details).toMatch(/^grpc: error unmarshalling request: /);
  });

  it('two messages, no message, a cut-short message, split frames, a wrong content type', async () => {
    const two = await same((impl) => raw(impl, RANGE, [grpcFrame(rangeBody('a')), grpcFrame(rangeBody('b'))]));
    expect(two.grpcStatus).toBe(String(grpc.status.UNIMPLEMENTED));
    const none = await same((impl) => raw(impl, RANGE, []));
    expect(none.grpcStatus).toBe(String(grpc.status.UNIMPLEMENTED));
    const cut = await same((impl) => raw(impl, RANGE, [grpcFrame(rangeBody('abc')).subarray(0, 7)]));
    expect(cut.grpcStatus).toBe(String(grpc.status.UNIMPLEMENTED));
    const frame = grpcFrame(rangeBody('split'));
    const split = await same((impl) => raw(impl, RANGE, [frame.subarray(0, 2), frame.subarray(2, 6), frame.subarray(6)]));
    expect(split.grpcStatus).toBe('0');
    // A message in many pieces (joined once complete), then a second frame that is cut short.
    const large = grpcFrame(rangeBody('k'.repeat(3000)));
    const pieces = Array.from({ length: Math.ceil(large.length / 97) }, (_, i) => large.subarray(i * 97, (i + 1) * 97));
    const many = await same((impl) => raw(impl, RANGE, pieces));
    expect(many.grpcStatus).toBe('0');
    const tooBig = Buffer.concat([large.subarray(0, 5), Buffer.alloc(10)]);
    tooBig.writeUInt32BE(MAX_RECEIVE_BYTES + 1, 1);
    const refused = await same((impl) => raw(impl, RANGE, [tooBig.subarray(0, 3), tooBig.subarray(3)]));
    expect(refused.grpcStatus).toBe(String(grpc.status.RESOURCE_EXHAUSTED));
    const html = await same((impl) => raw(impl, RANGE, [grpcFrame(rangeBody('a'))], 'text/html'));
    expect(html.httpStatus).toBe(415);
  });
});
