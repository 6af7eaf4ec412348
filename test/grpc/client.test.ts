import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcClient, createGrpcServer, GrpcCode } from '../../src/grpc/index.js';
import type { EtcdGrpcClient, GrpcServer } from '../../src/grpc/index.js';
import { fromUtf8, utf8 } from '../../src/util/index.js';
import { MEMBER_ID, MemKv, memKvServices } from './memkv.js';
import { failure } from './helpers.js';

/** Generous: CI shares two cores with other suites, and these tests spawn processes or loop. */
const SLOW_MACHINE_TIMEOUT_MS = 60_000;

let server: GrpcServer;
let client: EtcdGrpcClient;
let kv: MemKv;
let serverSawAbort = 0;

beforeAll(async () => {
  kv = new MemKv();
  server = createGrpcServer({
    ...memKvServices(kv),
    // Never answers until cancelled: exercises deadlines and abort signals.
    lock: (_req, ctx) =>
      new Promise((_resolve, reject) =>
        ctx.signal.addEventListener('abort', () => {
          serverSawAbort += 1;
          reject(new Error('aborted'));
        }),
      ),
  });
  const port = await server.listen('127.0.0.1:0');
  client = createGrpcClient(`http://127.0.0.1:${port}`, { ownConnection: true });
});

afterAll(async () => {
  client.close();
  await server.close();
});


describe('createGrpcClient', { timeout: SLOW_MACHINE_TIMEOUT_MS }, () => {
  it('makes typed unary calls', async () => {
    const put = await client.unary('put', { key: utf8('c/1'), value: utf8('one') });
    expect(put.header?.revision).toBe(kv.revision);
    const got = await client.unary('range', { key: utf8('c/'), rangeEnd: utf8('c0') });
    expect(got.kvs.map((x) => [fromUtf8(x.key), fromUtf8(x.value)])).toEqual([['c/1', 'one']]);
    const members = await client.unary('memberList', {});
    expect(members.members[0]?.ID).toBe(MEMBER_ID);
  });

  it('rejects with the server\'s { grpcCode, message }', async () => {
    const error = await failure(client.unary('leaseRevoke', { ID: 99n }));
    expect(error).toEqual({ grpcCode: GrpcCode.NOT_FOUND, message: 'etcdserver: requested lease not found' });
  });

  it('enforces deadlines and abort signals', async () => {
    const late = await failure(client.unary('lock', { name: utf8('l') }, { deadlineMs: 50 }));
    expect(late.grpcCode).toBe(GrpcCode.DEADLINE_EXCEEDED);
    // The server side learns of the expired deadline through ctx.signal, so a blocked Lock
    // or Campaign can give up instead of holding resources.
    for (let i = 0; i < 500 && serverSawAbort < 1; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(serverSawAbort).toBe(1);
    const controller = new AbortController();
    const pending = client.unary('lock', { name: utf8('l') }, { signal: controller.signal });
    controller.abort();
    expect((await failure(pending)).grpcCode).toBe(GrpcCode.CANCELLED);
  });

  it('runs a watch over a bidirectional call', async () => {
    const watch = client.bidi('watch');
    watch.send({ requestUnion: { case: 'createRequest', value: { key: utf8('cw'), prevKv: true } } });
    const seen: string[] = [];
    for await (const res of watch) {
      if (res.created) {
        await client.unary('put', { key: utf8('cw'), value: utf8('a') });
        await client.unary('put', { key: utf8('cw'), value: utf8('b') });
      }
      for (const e of res.events) seen.push(`${e.type}:${fromUtf8(e.kv?.value ?? new Uint8Array())}:${fromUtf8(e.prevKv?.value ?? new Uint8Array())}`);
      if (seen.length === 2) watch.end();
    }
    expect(seen).toEqual(['0:a:', '0:b:a']);
  });

  it('iterates a server stream and surfaces a failing status as a thrown error', async () => {
    let bytes = 0;
    for await (const chunk of client.serverStream('snapshot', {})) bytes += chunk.blob.length;
    expect(bytes).toBe(16 * 1024 + 32);
    const observe = client.serverStream('observe', { name: utf8('e') });
    const error = await failure((async () => {
      for await (const _ of observe) void _;
    })());
    expect(error).toEqual({ grpcCode: GrpcCode.UNIMPLEMENTED, message: 'method Observe not implemented' });
  });
});
