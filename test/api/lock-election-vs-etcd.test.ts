/**
 * The Lock and Election gRPC services of tsetcd and of the real etcd 3.4 (/usr/bin/etcd) given
 * the same script: every answer (gRPC code and message of errors, key layout, values, versions,
 * what Observe streams) must be the same once lease ids and revisions are abstracted away.
 * The one known difference is left out on purpose: etcd 3.4 answers a Lock whose lease was
 * revoked while it waited with success on a key that no longer exists; tsetcd answers etcd
 * 3.5+'s "mutex: session is expired" (test/api/lock.test.ts covers it).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcClient } from '../../src/grpc/index.js';
import type { EtcdGrpcClient, GrpcStatusError, LeaderKey } from '../../src/grpc/index.js';
import { LocalCluster, eventually, freePort, sleep } from '../cluster/harness.js';

const TIMEOUT_MS = 60_000;
const u = (s: string): Uint8Array => new TextEncoder().encode(s);
const s = (b: Uint8Array | undefined): string => new TextDecoder().decode(b ?? new Uint8Array());

let cluster: LocalCluster;
let etcd: ChildProcess | undefined;
let etcdDir = '';
const clients: EtcdGrpcClient[] = [];

async function serving(client: EtcdGrpcClient): Promise<void> {
  await eventually('the server to answer', 20_000, async () => ((await client.unary('range', { key: u('x') })).header ? true : undefined));
}

beforeAll(async () => {
  cluster = new LocalCluster();
  await cluster.define('m1');
  cluster.start('m1', ['m1']);
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  etcdDir = mkdtempSync(join(tmpdir(), 'real-etcd-'));
  etcd = spawn('/usr/bin/etcd', [
    '--data-dir', etcdDir,
    '--listen-client-urls', `http://127.0.0.1:${clientPort}`,
    '--advertise-client-urls', `http://127.0.0.1:${clientPort}`,
    '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
    '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
    '--initial-cluster', `default=http://127.0.0.1:${peerPort}`,
  ], { stdio: 'ignore' });
  clients.push(createGrpcClient(cluster.endpoint('m1')), createGrpcClient(`127.0.0.1:${clientPort}`));
  await Promise.all(clients.map(serving));
}, TIMEOUT_MS);

afterAll(async () => {
  for (const c of clients) c.close();
  if (etcd && etcd.exitCode === null) {
    const exited = new Promise((r) => etcd?.once('exit', r));
    etcd.kill('SIGKILL');
    await exited;
  }
  if (etcdDir) rmSync(etcdDir, { recursive: true, force: true });
  await cluster?.destroy();
});

/** Runs `work`, answering its result or its gRPC error as plain data. */
async function outcome<T>(work: Promise<T>, shape: (value: T) => unknown): Promise<unknown> {
  try {
    return { ok: shape(await work) };
  } catch (error) {
    const e = error as GrpcStatusError;
    return { error: { code: e.grpcCode, message: e.message } };
  }
}

/** The script, with lease ids replaced by names so both servers' answers compare equal. */
async function script(c: EtcdGrpcClient): Promise<unknown[]> {
  const out: unknown[] = [];
  const grant = async (): Promise<bigint> => (await c.unary('leaseGrant', { TTL: 30n })).ID;
  const [a, b, e1, e2] = [await grant(), await grant(), await grant(), await grant()];
  const named = (key: Uint8Array | undefined): string =>
    s(key).replace(a.toString(16), '<a>').replace(b.toString(16), '<b>').replace(e1.toString(16), '<e1>').replace(e2.toString(16), '<e2>');
  out.push(await outcome(c.unary('lock', { name: u('L'), lease: 0x12345n }), (r) => named(r.key)));
  const fresh = await c.unary('lock', { name: u('L0'), lease: 0n });
  const freshKv = (await c.unary('range', { key: fresh.key })).kvs[0];
  out.push({ freshKeyIsNameSlashLeaseHex: s(fresh.key) === `L0/${(freshKv?.lease ?? 0n).toString(16)}` });
  out.push(await outcome(c.unary('lock', { name: u('L'), lease: a }), (r) => named(r.key)));
  out.push(await outcome(c.unary('lock', { name: u('L'), lease: a }), (r) => named(r.key)));
  out.push(await outcome(c.unary('unlock', { key: u('nothing/here') }), () => 'unlocked'));
  // A waiter that gives up (deadline) withdraws its key.
  out.push(await outcome(c.unary('lock', { name: u('L'), lease: b }, { deadlineMs: 400 }), (r) => named(r.key)).then((r) => ((r as { error?: { code: number } }).error?.code ?? 'no error')));
  await sleep(300);
  out.push((await c.unary('range', { key: u('L/'), rangeEnd: u('L0') })).kvs.map((kv) => named(kv.key)));
  out.push(await outcome(c.unary('leader', { name: u('E') }), (r) => s(r.kv?.value)));
  out.push(await outcome(c.unary('campaign', { name: u('E'), lease: 0x999n, value: u('v') }), () => 'elected'));
  const won = await c.unary('campaign', { name: u('E'), lease: e1, value: u('one') });
  out.push({ key: named(won.leader?.key), name: s(won.leader?.name), revIsHeader: won.leader?.rev === won.header?.revision });
  out.push(await outcome(c.unary('campaign', { name: u('E'), lease: e1, value: u('uno') }), (r) => ({ key: named(r.leader?.key), sameRev: r.leader?.rev === won.leader?.rev })));
  out.push(await outcome(c.unary('leader', { name: u('E') }), (r) => ({ key: named(r.kv?.key), value: s(r.kv?.value), version: Number(r.kv?.version) })));
  out.push(await outcome(c.unary('proclaim', { leader: won.leader, value: u('eins') }), () => 'proclaimed'));
  out.push(await outcome(c.unary('proclaim', { leader: { ...won.leader, rev: 1n }, value: u('x') }), () => 'proclaimed'));
  out.push(await outcome(c.unary('proclaim', { value: u('x') }), () => 'proclaimed'));
  out.push(await outcome(c.unary('resign', {}), () => 'resigned'));
  out.push(await outcome(c.unary('resign', { leader: { ...won.leader, rev: 1n } }), () => 'resigned'));
  out.push(await outcome(c.unary('leader', { name: u('E') }), (r) => s(r.kv?.value)));
  out.push(await observed(c, e2, won.leader));
  return out;
}

/** Observe across a proclaim, a queued campaigner taking over, and puts on an empty prefix. */
async function observed(c: EtcdGrpcClient, e2: bigint, leader: LeaderKey | undefined): Promise<string[]> {
  const abort = new AbortController();
  const seen: string[] = [];
  const stream = c.serverStream('observe', { name: u('E') }, { signal: abort.signal });
  const empty = c.serverStream('observe', { name: u('F') }, { signal: abort.signal });
  const read = async (st: typeof stream, tag: string): Promise<void> => {
    try {
      for await (const r of st) seen.push(`${tag}:${s(r.kv?.value)}`);
    } catch {
      // cancelled at the end
    }
  };
  const readers = [read(stream, 'E'), read(empty, 'F')];
  await sleep(300);
  const next = c.unary('campaign', { name: u('E'), lease: e2, value: u('two') });
  await sleep(300);
  await c.unary('resign', { leader });
  await next;
  await c.unary('put', { key: u('F/1'), value: u('first') });
  await c.unary('put', { key: u('F/2'), value: u('second') });
  await c.unary('deleteRange', { key: u('F/1') });
  await sleep(500);
  abort.abort();
  await Promise.all(readers);
  return seen.sort();
}

describe('Lock and Election services: tsetcd answers as etcd 3.4 does', () => {
  it('the same script gives the same answers on both', async () => {
    const [ours, theirs] = [await script(clients[0] as EtcdGrpcClient), await script(clients[1] as EtcdGrpcClient)];
    expect(ours).toEqual(theirs);
    // And the answers are the interesting ones (not, say, every call failing the same way).
    expect(theirs[0]).toEqual({ error: { code: 2, message: 'etcdserver: requested lease not found' } });
    expect(theirs[2]).toEqual({ ok: 'L/<a>' });
    expect(theirs[5]).toBe(4);
    expect(theirs[6]).toEqual(['L/<a>']);
    expect(theirs[13]).toEqual({ error: { code: 2, message: 'election: not leader' } });
    expect(theirs[18]).toEqual(['E:eins', 'E:two', 'F:first', 'F:second']);
  }, TIMEOUT_MS);
});
