/**
 * The other direction of wire compatibility: our encoder and client against a real etcd 3.4
 * (Debian's etcd-server, installed by ci/install-system-deps.sh), started on loopback ports
 * in a temporary data directory for this file only.
 */
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcClient, GrpcCode } from '../../src/grpc/index.js';
import type { EtcdGrpcClient, GrpcStatusError } from '../../src/grpc/index.js';
import { fromUtf8, utf8 } from '../../src/util/index.js';
import { freePort } from '../../ci/free-port.js';

/** Generous: CI shares two cores with other suites, and these tests spawn processes or loop. */
const SLOW_MACHINE_TIMEOUT_MS = 60_000;


let etcd: ChildProcess;
let dataDir = '';
let client: EtcdGrpcClient;

beforeAll(async () => {
  try {
    execFileSync('sh', ['-c', 'command -v etcd']);
  } catch {
    throw new Error('etcd not found: run `bash ci/install-system-deps.sh` (Debian package etcd-server)');
  }
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  dataDir = mkdtempSync(join(tmpdir(), 'real-etcd-'));
  etcd = spawn('etcd', [
    '--name', 'ref', '--data-dir', dataDir,
    '--listen-client-urls', `http://127.0.0.1:${clientPort}`, '--advertise-client-urls', `http://127.0.0.1:${clientPort}`,
    '--listen-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
    '--initial-cluster', `ref=http://127.0.0.1:${peerPort}`,
  ], { stdio: 'ignore' });
  client = createGrpcClient(`127.0.0.1:${clientPort}`, { ownConnection: true });
  // Ready once a serializable read answers (bounded: 10 s).
  for (let attempt = 0; ; attempt++) {
    try {
      await client.unary('range', { key: utf8('ready'), serializable: true }, { deadlineMs: 500 });
      break;
    } catch (error) {
      if (attempt >= 40) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}, 30_000);

afterAll(async () => {
  client?.close();
  if (etcd !== undefined && etcd.exitCode === null) {
    const exited = new Promise((resolve) => etcd.once('exit', resolve));
    etcd.kill('SIGTERM');
    await exited;
  }
  if (dataDir !== '') rmSync(dataDir, { recursive: true, force: true });
});

describe('our client against real etcd 3.4', { timeout: SLOW_MACHINE_TIMEOUT_MS }, () => {
  it('put and range: the first write is revision 2, versions and create revisions as etcd counts them', async () => {
    const first = await client.unary('put', { key: utf8('a'), value: utf8('1') });
    expect(first.header?.revision).toBe(2n);
    await client.unary('put', { key: utf8('a'), value: utf8('2') });
    await client.unary('put', { key: utf8('b'), value: utf8('3') });
    const res = await client.unary('range', { key: utf8('a'), rangeEnd: utf8('c') });
    expect(res.kvs.map((kv) => [fromUtf8(kv.key), fromUtf8(kv.value), kv.createRevision, kv.modRevision, kv.version]))
      .toEqual([['a', '2', 2n, 3n, 2n], ['b', '3', 4n, 4n, 1n]]);
    expect(res.count).toBe(2n);
    expect(res.header?.memberId).toBeGreaterThan(0n);
  });

  it('txn with compares, nested ops and prev_kv', async () => {
    const res = await client.unary('txn', {
      compare: [{ key: utf8('a'), target: 3, result: 0, targetUnion: { case: 'value', value: utf8('2') } }],
      success: [
        { request: { case: 'requestPut', value: { key: utf8('a'), value: utf8('x'), prevKv: true } } },
        { request: { case: 'requestDeleteRange', value: { key: utf8('b'), prevKv: true } } },
      ],
    });
    expect(res.succeeded).toBe(true);
    const [put, del] = res.responses.map((r) => r.response);
    expect(put?.case === 'responsePut' && put.value.prevKv && fromUtf8(put.value.prevKv.value)).toBe('2');
    expect(del?.case === 'responseDeleteRange' && del.value.deleted).toBe(1n);
  });

  it('errors arrive as etcd\'s { grpcCode, message }', async () => {
    let error: GrpcStatusError | undefined;
    try {
      await client.unary('leaseRevoke', { ID: 12345n });
    } catch (e) {
      error = e as GrpcStatusError;
    }
    expect(error).toEqual({ grpcCode: GrpcCode.NOT_FOUND, message: 'etcdserver: requested lease not found' });
  });

  it('64-bit lease ids survive grant, keep-alive and time-to-live', async () => {
    const lease = await client.unary('leaseGrant', { TTL: 30n, ID: (1n << 62n) + 12345n });
    expect(lease.ID).toBe((1n << 62n) + 12345n);
    const keepAlive = client.bidi('leaseKeepAlive');
    keepAlive.send({ ID: lease.ID });
    for await (const res of keepAlive) {
      expect(res.ID).toBe(lease.ID);
      expect(res.TTL).toBe(30n);
      keepAlive.cancel();
      break;
    }
    await client.unary('put', { key: utf8('leased'), value: utf8('v'), lease: lease.ID });
    const ttl = await client.unary('leaseTimeToLive', { ID: lease.ID, keys: true });
    expect(ttl.grantedTTL).toBe(30n);
    expect(ttl.keys.map(fromUtf8)).toEqual(['leased']);
  });

  it('watch delivers events with prev_kv, and a progress request answers', async () => {
    const watch = client.bidi('watch');
    watch.send({ requestUnion: { case: 'createRequest', value: { key: utf8('w'), prevKv: true, watchId: 7n } } });
    const events: string[] = [];
    for await (const res of watch) {
      if (res.created) {
        expect(res.watchId).toBe(7n);
        await client.unary('put', { key: utf8('w'), value: utf8('1') });
        await client.unary('put', { key: utf8('w'), value: utf8('2') });
      }
      for (const e of res.events) events.push(`${fromUtf8(e.kv?.value ?? new Uint8Array())}<-${fromUtf8(e.prevKv?.value ?? new Uint8Array())}`);
      if (events.length === 2) break;
    }
    watch.cancel();
    expect(events).toEqual(['1<-', '2<-1']);
  });

  it('status and member list agree on the member id', async () => {
    const status = await client.unary('status', {});
    const members = await client.unary('memberList', {});
    expect(status.version).toBe('3.4.23');
    expect(members.members.map((m) => m.ID)).toEqual([status.header?.memberId]);
    expect(status.leader).toBe(status.header?.memberId);
  });
});
