/**
 * createGrpcServer's own behaviour, driven by a grpc-js client with the generated codecs:
 * status mapping, malformed requests, call context, the four stream hooks, backpressure,
 * cancellation and shutdown.
 */
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createGrpcServer, GrpcCode, parseListenUrl, RPCS, unimplementedServices } from '../../src/grpc/index.js';
import type {
  CallContext, EtcdServices, GrpcServer, GrpcStatusError, RpcDescriptor, RpcTypes,
} from '../../src/grpc/index.js';
import { utf8, fromUtf8 } from '../../src/util/index.js';

/** Generous: CI shares two cores with other suites, and these tests spawn processes or loop. */
const SLOW_MACHINE_TIMEOUT_MS = 60_000;

const seenContexts: Array<CallContext & { abortedDuringCall: boolean }> = [];
let rangeCalls = 0;
let observeAborted: Promise<void> = Promise.resolve();
let resolveObserveAborted: () => void = () => undefined;

function statusError(grpcCode: number, message: string): GrpcStatusError {
  return { grpcCode, message };
}

const services: EtcdServices = {
  ...unimplementedServices(),
  range: async (req, ctx) => {
    rangeCalls++;
    seenContexts.push(Object.assign(Object.create(ctx) as CallContext, { abortedDuringCall: ctx.signal.aborted }));
    const key = fromUtf8(req.key);
    if (key === 'precondition') throw statusError(GrpcCode.FAILED_PRECONDITION, 'etcdserver: bad leader transferee');
    if (key === 'plain-error') throw new Error('something broke');
    if (key === 'bad-response') return { count: 1n << 70n };
    return { header: { revision: 7n }, kvs: [{ key: req.key, value: utf8('v'), modRevision: 7n }], count: 1n };
  },
  watch: async (stream) => {
    for await (const req of stream) {
      const r = req.requestUnion;
      if (r?.case === 'createRequest') {
        if (fromUtf8(r.value.key) === 'explode') throw statusError(GrpcCode.INVALID_ARGUMENT, 'etcdserver: no no');
        await stream.send({ watchId: r.value.watchId, created: true, header: { revision: 1n } });
        if (fromUtf8(r.value.key) === 'flood') {
          for (let i = 0; i < 1000; i++) {
            await stream.send({ watchId: r.value.watchId, events: [{ kv: { key: utf8('f'), version: BigInt(i + 1) } }] });
          }
        }
      } else if (r?.case === 'cancelRequest') {
        await stream.send({ watchId: r.value.watchId, canceled: true });
      }
    }
  },
  snapshot: async (_req, out) => {
    for (let i = 3; i >= 1; i--) await out.send({ remainingBytes: BigInt(i - 1), blob: utf8(`chunk${i}`) });
  },
  observe: async (_req, out, ctx) => {
    await out.send({ kv: { key: utf8('leader'), value: utf8('me') } });
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
    resolveObserveAborted();
  },
};

let server: GrpcServer;
let client: grpc.Client;
let port = 0;

beforeAll(async () => {
  server = createGrpcServer(services, { closeGraceMs: 200 });
  port = await server.listen('http://127.0.0.1:0');
  client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await server.close();
});

function descriptor<K extends keyof RpcTypes>(key: K): RpcDescriptor {
  return RPCS[key] as unknown as RpcDescriptor;
}

function unaryRaw(path: string, bytes: Buffer, metadata = new grpc.Metadata()): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, bytes, metadata, (err, res) =>
      err ? reject(err) : resolve(res as Buffer),
    );
  });
}

async function range(key: string, metadata?: grpc.Metadata): Promise<RpcTypes['range']['response']> {
  const d = descriptor('range');
  const bytes = await unaryRaw(d.path, RPCS.range.encodeRequest({ key: utf8(key) }), metadata);
  return RPCS.range.decodeResponse(bytes);
}

async function rejection(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error('expected the call to fail');
}

describe('unary calls', { timeout: SLOW_MACHINE_TIMEOUT_MS }, () => {
  it('encode the service response', async () => {
    const res = await range('hello');
    expect(res.header?.revision).toBe(7n);
    expect(res.kvs.map((kv) => fromUtf8(kv.key))).toEqual(['hello']);
  });

  it('a thrown GrpcStatusError becomes exactly that status', async () => {
    const err = await rejection(range('precondition'));
    expect(err.code).toBe(GrpcCode.FAILED_PRECONDITION);
    expect(err.details).toBe('etcdserver: bad leader transferee');
  });

  it('any other thrown error becomes UNKNOWN with its message', async () => {
    const err = await rejection(range('plain-error'));
    expect(err.code).toBe(GrpcCode.UNKNOWN);
    expect(err.details).toBe('something broke');
  });

  it('an unencodable response becomes INTERNAL', async () => {
    const err = await rejection(range('bad-response'));
    expect(err.code).toBe(GrpcCode.INTERNAL);
    expect(err.details).toMatch(/^cannot encode response: int64 field value out of range/);
  });

  it('a malformed request is refused before reaching the service, and the server lives on', async () => {
    const before = rangeCalls;
    const err = await rejection(unaryRaw(descriptor('range').path, Buffer.from('0a05666f', 'hex')));
    expect(err.code).toBe(GrpcCode.INTERNAL);
    expect(err.details).toMatch(/^grpc: error unmarshalling request: malformed protobuf at byte \d+: length 5 runs past/);
    expect(rangeCalls).toBe(before);
    expect((await range('after')).count).toBe(1n);
  });

  it('a request over the 2 MiB default limit is refused with RESOURCE_EXHAUSTED', async () => {
    const huge = RPCS.put.encodeRequest({ key: utf8('k'), value: new Uint8Array(3 * 1024 * 1024) });
    const err = await rejection(unaryRaw(descriptor('put').path, huge));
    expect(err.code).toBe(GrpcCode.RESOURCE_EXHAUSTED);
  });

  it('unimplemented methods answer UNIMPLEMENTED', async () => {
    const err = await rejection(unaryRaw(descriptor('leaseLeases').path, Buffer.alloc(0)));
    expect(err.code).toBe(GrpcCode.UNIMPLEMENTED);
    expect(err.details).toBe('method LeaseLeases not implemented');
  });

  it('the call context carries the token, hasleader and other metadata', async () => {
    const md = new grpc.Metadata();
    md.set('token', 'tok123');
    md.set('hasleader', 'true');
    md.set('x-custom', 'abc');
    await range('ctx', md);
    const ctx = seenContexts[seenContexts.length - 1];
    expect(ctx?.authToken).toBe('tok123');
    expect(ctx?.requireLeader).toBe(true);
    expect(ctx?.metadata('X-Custom')).toBe('abc');
    expect(ctx?.peer).toContain('127.0.0.1');
    expect(ctx?.abortedDuringCall).toBe(false);
    await range('no-metadata');
    const plain = seenContexts[seenContexts.length - 1];
    expect(plain?.authToken).toBeUndefined();
    expect(plain?.requireLeader).toBe(false);
  });
});

function openWatch(): grpc.ClientDuplexStream<RpcTypes['watch']['requestInit'], RpcTypes['watch']['response']> {
  return client.makeBidiStreamRequest(
    RPCS.watch.path,
    (m: RpcTypes['watch']['requestInit']) => RPCS.watch.encodeRequest(m),
    (b: Buffer) => RPCS.watch.decodeResponse(b),
  );
}

function collect<T>(stream: grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<unknown, T>): Promise<{ messages: T[]; status: grpc.StatusObject }> {
  const messages: T[] = [];
  return new Promise((resolve) => {
    stream.on('data', (m: T) => messages.push(m));
    stream.on('error', () => undefined);
    stream.on('status', (status: grpc.StatusObject) => resolve({ messages, status }));
  });
}

describe('bidirectional streams (Watch)', { timeout: SLOW_MACHINE_TIMEOUT_MS }, () => {
  it('deliver requests in order and end with OK when the client half-closes', async () => {
    const call = openWatch();
    const done = collect(call);
    call.write({ requestUnion: { case: 'createRequest', value: { key: utf8('a'), watchId: 5n } } });
    call.write({ requestUnion: { case: 'createRequest', value: { key: utf8('b'), watchId: 6n } } });
    call.write({ requestUnion: { case: 'cancelRequest', value: { watchId: 5n } } });
    call.end();
    const { messages, status } = await done;
    expect(status.code).toBe(GrpcCode.OK);
    expect(messages.map((m) => [m.watchId, m.created, m.canceled])).toEqual([
      [5n, true, false], [6n, true, false], [5n, false, true],
    ]);
  });

  it('a status thrown by the hook ends the stream with it', async () => {
    const call = openWatch();
    const done = collect(call);
    call.write({ requestUnion: { case: 'createRequest', value: { key: utf8('explode') } } });
    const { status } = await done;
    expect(status.code).toBe(GrpcCode.INVALID_ARGUMENT);
    expect(status.details).toBe('etcdserver: no no');
  });

  it('a malformed message in the stream ends it with INTERNAL', async () => {
    const raw = client.makeBidiStreamRequest(RPCS.watch.path, (b: Buffer) => b, (b: Buffer) => b);
    const done = collect(raw);
    raw.write(Buffer.from('0a0b', 'hex'));
    const { status } = await done;
    expect(status.code).toBe(GrpcCode.INTERNAL);
    expect(status.details).toMatch(/^grpc: error unmarshalling request/);
  });

  it('send() applies backpressure without losing or reordering messages', async () => {
    const call = openWatch();
    const done = collect(call);
    call.write({ requestUnion: { case: 'createRequest', value: { key: utf8('flood'), watchId: 1n } } });
    call.end();
    const { messages, status } = await done;
    expect(status.code).toBe(GrpcCode.OK);
    const versions = messages.flatMap((m) => m.events.map((e) => e.kv?.version));
    expect(versions.length).toBe(1000);
    expect(versions.every((v, i) => v === BigInt(i + 1))).toBe(true);
  });
});

describe('server streams', { timeout: SLOW_MACHINE_TIMEOUT_MS }, () => {
  it('Snapshot sends every chunk, then OK', async () => {
    const call = client.makeServerStreamRequest(
      RPCS.snapshot.path,
      (m: RpcTypes['snapshot']['requestInit']) => RPCS.snapshot.encodeRequest(m),
      (b: Buffer) => RPCS.snapshot.decodeResponse(b),
      {},
    );
    const { messages, status } = await collect(call);
    expect(status.code).toBe(GrpcCode.OK);
    expect(messages.map((m) => [fromUtf8(m.blob), m.remainingBytes])).toEqual([
      ['chunk3', 2n], ['chunk2', 1n], ['chunk1', 0n],
    ]);
  });

  it('Observe sees its signal aborted when the client cancels', async () => {
    observeAborted = new Promise((resolve) => (resolveObserveAborted = resolve));
    const call = client.makeServerStreamRequest(
      RPCS.observe.path,
      (m: RpcTypes['observe']['requestInit']) => RPCS.observe.encodeRequest(m),
      (b: Buffer) => RPCS.observe.decodeResponse(b),
      { name: utf8('e') },
    );
    call.on('error', () => undefined);
    const first = await new Promise<RpcTypes['observe']['response']>((resolve) => call.once('data', resolve));
    expect(first.kv && fromUtf8(first.kv.value)).toBe('me');
    call.cancel();
    await observeAborted;
  });
});

describe('garbage on every unary path', { timeout: SLOW_MACHINE_TIMEOUT_MS }, () => {
  it('is answered with a status, never a crash, and the server keeps serving', async () => {
    const unaryPaths = (Object.values(RPCS) as RpcDescriptor[]).filter((d) => !d.requestStream && !d.responseStream).map((d) => d.path);
    const samples = fc.sample(fc.tuple(fc.constantFrom(...unaryPaths), fc.uint8Array({ minLength: 1, maxLength: 40 })), { numRuns: 60, seed: 7 });
    const codes = new Set<number>();
    for (const [path, bytes] of samples) {
      try {
        await unaryRaw(path, Buffer.from(bytes));
        codes.add(GrpcCode.OK);
      } catch (error) {
        codes.add((error as grpc.ServiceError).code);
      }
    }
    // Undecodable input answers INTERNAL; input that happens to decode reaches the services,
    // which here answer UNIMPLEMENTED or their own result.
    const allowed: number[] = [GrpcCode.OK, GrpcCode.INTERNAL, GrpcCode.UNIMPLEMENTED, GrpcCode.UNKNOWN];
    expect([...codes].filter((c) => !allowed.includes(c))).toEqual([]);
    expect(codes.has(GrpcCode.INTERNAL)).toBe(true);
    expect((await range('still-alive')).count).toBe(1n);
  });
});

describe('listening and closing', { timeout: SLOW_MACHINE_TIMEOUT_MS }, () => {
  it('parses etcd-style listen URLs', () => {
    expect(parseListenUrl('http://127.0.0.1:2379')).toBe('127.0.0.1:2379');
    expect(parseListenUrl('127.0.0.1:0')).toBe('127.0.0.1:0');
    expect(parseListenUrl('http://[::1]:2379/')).toBe('[::1]:2379');
    expect(parseListenUrl('unix:///tmp/etcd.sock')).toBe('unix:/tmp/etcd.sock');
    expect(() => parseListenUrl('https://127.0.0.1:2379')).toThrow(/TLS/);
    expect(() => parseListenUrl('ftp://x')).toThrow(/cannot listen/);
  });

  it('serves on a unix socket too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'grpc-test-'));
    const other = createGrpcServer(services);
    try {
      await other.listen(`unix://${join(dir, 's.sock')}`);
      const unixClient = new grpc.Client(`unix:${join(dir, 's.sock')}`, grpc.credentials.createInsecure());
      const bytes = await new Promise<Buffer>((resolve, reject) =>
        unixClient.makeUnaryRequest(RPCS.range.path, (b: Buffer) => b, (b: Buffer) => b,
          RPCS.range.encodeRequest({ key: utf8('u') }), (err, res) => (err ? reject(err) : resolve(res as Buffer))),
      );
      expect(RPCS.range.decodeResponse(bytes).count).toBe(1n);
      unixClient.close();
    } finally {
      await other.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('close() ends even while a stream stays open', async () => {
    const other = createGrpcServer(services, { closeGraceMs: 50 });
    const otherPort = await other.listen('127.0.0.1:0');
    const otherClient = new grpc.Client(`127.0.0.1:${otherPort}`, grpc.credentials.createInsecure());
    const call = otherClient.makeBidiStreamRequest(RPCS.watch.path, (m: RpcTypes['watch']['requestInit']) => RPCS.watch.encodeRequest(m), (b: Buffer) => RPCS.watch.decodeResponse(b));
    const done = collect(call);
    call.write({ requestUnion: { case: 'createRequest', value: { key: utf8('open') } } });
    await new Promise((resolve) => call.once('data', resolve));
    await other.close();
    const { status } = await done;
    expect(status.code).not.toBe(GrpcCode.OK);
    otherClient.close();
  });
});
