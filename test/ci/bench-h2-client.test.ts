import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createH2BenchClient } from '../../ci/bench/h2-client.js';
import type { BenchClient } from '../../ci/bench/h2-client.js';
import { createGrpcServer, GrpcCode } from '../../src/grpc/index.js';
import type { GrpcServer } from '../../src/grpc/index.js';
import { fromUtf8, utf8 } from '../../src/util/index.js';
import { memKvServices } from '../grpc/memkv.js';
import { failure } from '../grpc/helpers.js';

let server: GrpcServer;
let client: BenchClient;

beforeAll(async () => {
  server = createGrpcServer(memKvServices());
  const port = await server.listen('127.0.0.1:0');
  client = createH2BenchClient(`127.0.0.1:${port}`);
});

afterAll(async () => {
  client.close();
  await server.close();
});


describe('the bench load generator client (node:http2, no grpc-js)', () => {
  it('puts and reads back over unary calls, revisions included', async () => {
    const put = await client.unary('put', { key: utf8('a'), value: utf8('1') });
    const again = await client.unary('put', { key: utf8('a'), value: utf8('2') });
    expect(again.header?.revision).toBe((put.header?.revision ?? 0n) + 1n);
    const got = await client.unary('range', { key: utf8('a') });
    expect(got.kvs.map((kv) => fromUtf8(kv.value))).toEqual(['2']);
    expect(got.kvs[0]?.modRevision).toBe(again.header?.revision);
  });

  it('many calls in flight on one connection all complete with their own answers', async () => {
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    await Promise.all(keys.map((k) => client.unary('put', { key: utf8(k), value: utf8(k.toUpperCase()) })));
    const values = await Promise.all(keys.map((k) => client.unary('range', { key: utf8(k) }).then((r) => fromUtf8(r.kvs[0]?.value ?? new Uint8Array(0)))));
    expect(values).toEqual(keys.map((k) => k.toUpperCase()));
  });

  it('a failed call rejects with the server status code and message', async () => {
    const e = await failure(client.unary('put', { key: new Uint8Array(0), value: utf8('x') }));
    expect(e).toEqual({ grpcCode: GrpcCode.INVALID_ARGUMENT, message: 'etcdserver: key is not provided' });
    const revoke = await failure(client.unary('leaseRevoke', { ID: 999n }));
    expect(revoke).toEqual({ grpcCode: GrpcCode.NOT_FOUND, message: 'etcdserver: requested lease not found' });
  });

  it('a bidirectional call sends and receives in turn, and cancel ends its iteration', async () => {
    const grant = await client.unary('leaseGrant', { TTL: 60n });
    const stream = client.bidi('leaseKeepAlive');
    const responses = stream[Symbol.asyncIterator]();
    for (let i = 0; i < 3; i++) {
      stream.send({ ID: grant.ID });
      const next = await responses.next();
      expect(next.done).toBe(false);
      expect(next.value).toMatchObject({ ID: grant.ID, TTL: 60n });
    }
    stream.cancel();
    await expect(responses.next()).rejects.toMatchObject({ grpcCode: GrpcCode.CANCELLED });
  });

  it('a watch stream delivers created, then the events of later puts', async () => {
    const stream = client.bidi('watch');
    const it = stream[Symbol.asyncIterator]();
    stream.send({ requestUnion: { case: 'createRequest', value: { key: utf8('w/'), rangeEnd: utf8('w0') } } });
    expect((await it.next()).value).toMatchObject({ created: true });
    await client.unary('put', { key: utf8('w/1'), value: utf8('v') });
    const events = await it.next();
    expect(events.value.events.map((e: { kv?: { key: Uint8Array } }) => fromUtf8(e.kv?.key ?? new Uint8Array(0)))).toEqual(['w/1']);
    stream.cancel();
  });

  it('calls to a port nobody listens on fail as UNAVAILABLE instead of hanging', async () => {
    const probe = createGrpcServer(memKvServices());
    const port = await probe.listen('127.0.0.1:0');
    await probe.close();
    const dead = createH2BenchClient(`127.0.0.1:${port}`);
    const e = await failure(dead.unary('range', { key: utf8('a') }));
    expect(e.grpcCode).toBe(GrpcCode.UNAVAILABLE);
    dead.close();
  });

  it('an answer that does not decode fails its call as INTERNAL instead of crashing the generator', async () => {
    // A server that answers every call with a message of field number 0 (never valid protobuf) and OK.
    const bad = http2.createServer();
    bad.on('stream', (stream) => {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.from([0, 0, 0, 0, 2, 0x00, 0x01]));
      });
    });
    await new Promise<void>((resolve) => bad.listen(0, '127.0.0.1', resolve));
    const c = createH2BenchClient(`127.0.0.1:${(bad.address() as AddressInfo).port}`);
    const e = await failure(c.unary('range', { key: utf8('a') }));
    expect(e.grpcCode).toBe(GrpcCode.INTERNAL);
    expect(e.message).toMatch(/does not decode/);
    c.close();
    await new Promise<void>((resolve) => bad.close(() => resolve()));
  });
});
