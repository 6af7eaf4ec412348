/**
 * h2wire under real clients and load: 2,000 unary calls from 8 grpc-js clients (8 connections)
 * at once, while a watch stream on one of those connections is fed 500 requests as fast as
 * the client can write them and a 4 MB snapshot streams to another. Every answer is checked.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcServer, RPCS, unimplementedServices } from '../../../src/grpc/index.js';
import type { GrpcServer, RpcTypes } from '../../../src/grpc/index.js';
import { fromUtf8, utf8 } from '../../../src/util/index.js';

const CLIENTS = 8;
const CALLS_PER_CLIENT = 250;
const IN_FLIGHT_PER_CLIENT = 32;
const WATCH_REQUESTS = 500;
const SNAPSHOT_CHUNKS = 64;
const SNAPSHOT_CHUNK_BYTES = 64 * 1024;

let server: GrpcServer;
let port = 0;

beforeAll(async () => {
  server = createGrpcServer(
    {
      ...unimplementedServices(),
      range: async (req) => {
        const key = fromUtf8(req.key);
        return { header: { revision: 7n }, kvs: [{ key: req.key, value: utf8(`value of ${key}`), modRevision: 7n }], count: 1n };
      },
      watch: async (stream) => {
        let watchId = 0n;
        for await (const request of stream) {
          if (request.requestUnion?.case !== 'createRequest') continue;
          const key = request.requestUnion.value.key;
          await stream.send({ header: { revision: 7n }, watchId: watchId++, created: true, events: [{ kv: { key, value: key, modRevision: 7n } }] });
        }
      },
      snapshot: async (_req, out) => {
        for (let i = 0; i < SNAPSHOT_CHUNKS; i++) {
          await out.send({ remainingBytes: BigInt((SNAPSHOT_CHUNKS - 1 - i) * SNAPSHOT_CHUNK_BYTES), blob: new Uint8Array(SNAPSHOT_CHUNK_BYTES).fill(i) });
        }
      },
    },
    { closeGraceMs: 300 },
  );
  port = await server.listen('127.0.0.1:0');
});

afterAll(async () => {
  await server.close();
});

function range(client: grpc.Client, key: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      RPCS.range.path,
      (m: RpcTypes['range']['requestInit']) => RPCS.range.encodeRequest(m),
      (b: Buffer) => RPCS.range.decodeResponse(b),
      { key: utf8(key) },
      (error, response) => {
        if (error || response === undefined) reject(error ?? new Error('no response'));
        else resolve(fromUtf8(response.kvs[0]!.value));
      },
    );
  });
}

/** `calls` ranges on one client, `inFlight` at a time; the keys whose answer was wrong. */
async function rangeMany(client: grpc.Client, clientIndex: number, calls: number, inFlight: number): Promise<string[]> {
  const wrong: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < calls) {
      const key = `c${clientIndex}-k${next++}`;
      const value = await range(client, key);
      if (value !== `value of ${key}`) wrong.push(key);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return wrong;
}

function watchMany(client: grpc.Client): Promise<{ ids: bigint[]; keys: string[]; status: grpc.StatusObject }> {
  const call = client.makeBidiStreamRequest(
    RPCS.watch.path,
    (m: RpcTypes['watch']['requestInit']) => RPCS.watch.encodeRequest(m),
    (b: Buffer) => RPCS.watch.decodeResponse(b),
  );
  const ids: bigint[] = [];
  const keys: string[] = [];
  const done = new Promise<{ ids: bigint[]; keys: string[]; status: grpc.StatusObject }>((resolve) => {
    call.on('data', (m: RpcTypes['watch']['response']) => {
      ids.push(m.watchId);
      keys.push(fromUtf8(m.events[0]?.kv?.key ?? new Uint8Array()));
      if (ids.length === WATCH_REQUESTS) call.end();
    });
    call.on('error', () => undefined);
    call.on('status', (status: grpc.StatusObject) => resolve({ ids, keys, status }));
  });
  for (let i = 0; i < WATCH_REQUESTS; i++) call.write({ requestUnion: { case: 'createRequest', value: { key: utf8(`w${i}`) } } });
  return done;
}

function snapshot(client: grpc.Client): Promise<{ fills: number[]; wrongSizes: number; status: grpc.StatusObject }> {
  const call = client.makeServerStreamRequest(
    RPCS.snapshot.path,
    (m: RpcTypes['snapshot']['requestInit']) => RPCS.snapshot.encodeRequest(m),
    (b: Buffer) => RPCS.snapshot.decodeResponse(b),
    {},
  );
  const fills: number[] = [];
  let wrongSizes = 0;
  return new Promise((resolve) => {
    call.on('data', (m: RpcTypes['snapshot']['response']) => {
      fills.push(m.blob[0] ?? -1);
      if (m.blob.length !== SNAPSHOT_CHUNK_BYTES || m.blob[SNAPSHOT_CHUNK_BYTES - 1] !== m.blob[0]) wrongSizes++;
    });
    call.on('error', () => undefined);
    call.on('status', (status: grpc.StatusObject) => resolve({ fills, wrongSizes, status }));
  });
}

describe('h2wire interop under load', { timeout: 60_000 }, () => {
  it('answers 2,000 unary calls from 8 grpc-js clients, a busy watch stream and a 4 MB snapshot, all correctly', async () => {
    const clients = Array.from({ length: CLIENTS }, () => new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
    try {
      const watching = watchMany(clients[0]!);
      const snapshotting = snapshot(clients[1]!);
      const wrong = await Promise.all(clients.map((client, i) => rangeMany(client, i, CALLS_PER_CLIENT, IN_FLIGHT_PER_CLIENT)));
      expect(wrong.flat()).toEqual([]);
      const watched = await watching;
      expect(watched.status.code).toBe(grpc.status.OK);
      expect(watched.ids).toEqual(Array.from({ length: WATCH_REQUESTS }, (_, i) => BigInt(i)));
      expect(watched.keys).toEqual(Array.from({ length: WATCH_REQUESTS }, (_, i) => `w${i}`));
      const snapped = await snapshotting;
      expect(snapped.status.code).toBe(grpc.status.OK);
      expect(snapped.fills).toEqual([...Array(SNAPSHOT_CHUNKS).keys()]);
      expect(snapped.wrongSizes).toBe(0);
    } finally {
      for (const client of clients) client.close();
    }
  });
});
