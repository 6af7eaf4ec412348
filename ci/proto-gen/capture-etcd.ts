/**
 * Records the raw protobuf bytes real etcdctl and real etcd exchange, for the codec tests:
 *   npx tsx ci/proto-gen/capture-etcd.ts [out.json]
 * (default out: test/grpc/fixtures/etcd-3.4.23.json). Needs Debian's etcd-server and
 * etcd-client. Starts a throwaway single-member etcd on loopback, puts a recording gRPC proxy
 * with pass-through (identity) serializers in front of it, runs a script of etcdctl commands
 * through the proxy, and writes every call: path, request and response messages as hex, and the
 * final status (code and message, which are etcd's exact error texts).
 */
import * as grpc from '@grpc/grpc-js';
import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RPCS } from '../../src/grpc/index.js';
import type { RpcDescriptor, RpcTypes } from '../../src/grpc/index.js';
import { freePort } from '../free-port.js';

interface CallRecord {
  step: string;
  path: string;
  requests: string[];
  responses: string[];
  status: { code: number; details: string };
}

/** Streams can be long (snapshots); a few messages per direction are enough for the codec. */
const MAX_MESSAGES_PER_DIRECTION = 4;
const FORWARDED_METADATA = ['token', 'authorization', 'hasleader'];

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const outPath = process.argv[2] ?? join(root, 'test', 'grpc', 'fixtures', 'etcd-3.4.23.json');
const records: CallRecord[] = [];
let currentStep = '';


function forwardMetadata(from: grpc.Metadata): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const key of FORWARDED_METADATA) for (const v of from.get(key)) md.add(key, v);
  return md;
}

function newRecord(path: string): CallRecord {
  const record: CallRecord = { step: currentStep, path, requests: [], responses: [], status: { code: 0, details: '' } };
  records.push(record);
  return record;
}

function note(list: string[], bytes: Buffer): void {
  if (list.length < MAX_MESSAGES_PER_DIRECTION) list.push(bytes.toString('hex'));
}

const identity = (b: Buffer): Buffer => b;

function proxyHandler(d: RpcDescriptor, upstream: grpc.Client): grpc.UntypedHandleCall {
  if (!d.requestStream && !d.responseStream) {
    const h: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
      const rec = newRecord(d.path);
      note(rec.requests, call.request);
      upstream.makeUnaryRequest(d.path, identity, identity, call.request, forwardMetadata(call.metadata), (err, res) => {
        if (err) {
          rec.status = { code: err.code, details: err.details };
          callback(err);
        } else if (res) {
          note(rec.responses, res);
          callback(null, res);
        }
      });
    };
    return h;
  }
  if (!d.requestStream) {
    const h: grpc.handleServerStreamingCall<Buffer, Buffer> = (call) => {
      const rec = newRecord(d.path);
      note(rec.requests, call.request);
      const up = upstream.makeServerStreamRequest(d.path, identity, identity, call.request, forwardMetadata(call.metadata));
      pipeUpstream(up, call, rec);
      call.on('cancelled', () => up.cancel());
    };
    return h;
  }
  const h: grpc.handleBidiStreamingCall<Buffer, Buffer> = (call) => {
    const rec = newRecord(d.path);
    const up = upstream.makeBidiStreamRequest(d.path, identity, identity, forwardMetadata(call.metadata));
    call.on('data', (b: Buffer) => {
      note(rec.requests, b);
      up.write(b);
    });
    call.on('end', () => up.end());
    call.on('cancelled', () => up.cancel());
    pipeUpstream(up, call, rec);
  };
  return h;
}

function pipeUpstream(
  up: grpc.ClientReadableStream<Buffer> | grpc.ClientDuplexStream<Buffer, Buffer>,
  call: grpc.ServerWritableStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>,
  rec: CallRecord,
): void {
  up.on('data', (b: Buffer) => {
    note(rec.responses, b);
    if (!call.cancelled) call.write(b);
  });
  up.on('status', (s: grpc.StatusObject) => {
    rec.status = { code: s.code, details: s.details };
    if (call.cancelled) return;
    if (s.code === 0) call.end();
    else call.emit('error', { code: s.code, details: s.details });
  });
  up.on('error', () => undefined);
}

async function startProxy(etcdPort: number): Promise<{ port: number; server: grpc.Server }> {
  const upstream = new grpc.Client(`127.0.0.1:${etcdPort}`, grpc.credentials.createInsecure());
  const server = new grpc.Server();
  const byService = new Map<string, [grpc.ServiceDefinition, grpc.UntypedServiceImplementation]>();
  for (const d of Object.values(RPCS) as RpcDescriptor[]) {
    let entry = byService.get(d.service);
    if (entry === undefined) byService.set(d.service, (entry = [{}, {}]));
    (entry[0] as Record<string, grpc.MethodDefinition<Buffer, Buffer>>)[d.method] = {
      path: d.path, requestStream: d.requestStream, responseStream: d.responseStream,
      requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity,
    };
    entry[1][d.method] = proxyHandler(d, upstream);
  }
  for (const [def, impl] of byService.values()) server.addService(def, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { port, server };
}

function etcdctl(port: number, args: string[], stdin?: string): Promise<{ out: string; ok: boolean }> {
  return new Promise((resolve) => {
    const child = execFile('etcdctl', [`--endpoints=127.0.0.1:${port}`, '--dial-timeout=5s', ...args], {
      env: { ...process.env, ETCDCTL_API: '3' },
      timeout: 20_000,
    }, (error, stdout, stderr) => resolve({ out: (stdout + stderr).trim(), ok: error === null }));
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs a blocking etcdctl command (watch, elect, keep-alive) while `during` runs, then stops it. */
async function background(port: number, args: string[], during: () => Promise<void>): Promise<void> {
  const child: ChildProcess = spawn('etcdctl', [`--endpoints=127.0.0.1:${port}`, ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  await sleep(700);
  await during();
  await sleep(500);
  child.kill('SIGINT');
  await exited;
  console.log(`$ etcdctl ${args.join(' ')} (background)\n${output.trim()}`);
}

async function script(port: number): Promise<void> {
  const run = async (args: string[], stdin?: string): Promise<string> => {
    currentStep = args.join(' ');
    const { out } = await etcdctl(port, args, stdin);
    console.log(`$ etcdctl ${currentStep}\n${out}`);
    return out;
  };
  await run(['put', 'foo', 'bar']);
  await run(['put', 'foo2', 'baz', '--prev-kv']);
  await run(['put', 'foo3', 'qux']);
  await run(['put', 'foo', 'bar2', '--prev-kv', '-w', 'json']);
  await run(['get', 'foo']);
  await run(['get', 'foo', '--prefix', '-w', 'json']);
  await run(['get', 'foo', '--prefix', '--limit=1', '--sort-by=MODIFY', '--order=DESCEND']);
  await run(['get', 'foo', '--prefix', '--keys-only']);
    await run(['get', 'foo', '--rev=2']);
  await run(['get', '--from-key', 'a', '--consistency=s']);
  await run(['get', 'foo', '--rev=1000']);
  await run(['txn'], 'mod("foo3") > "0"\nvalue("foo") = "bar2"\nversion("nokey") = "0"\n\nput t1 v1\nget foo --prefix\ndel foo2\n\nput t2 v2\n\n');
  await run(['txn'], 'create("foo") = "1"\n\nput never v\n\nget foo\n\n');
  await run(['del', 'foo3', '--prev-kv']);
  await run(['del', 'nokey']);
  await leases(run);
  await run(['member', 'list']);
  const added = await run(['member', 'add', 'learner1', '--learner', '--peer-urls=http://127.0.0.1:1']);
  const learnerId = /Member\s+([0-9a-f]+) added/.exec(added)?.[1];
  if (learnerId !== undefined) {
    await run(['member', 'promote', learnerId]);
    await run(['member', 'update', learnerId, '--peer-urls=http://127.0.0.1:2']);
    await run(['member', 'remove', learnerId]);
  }
  await run(['endpoint', 'status', '-w', 'json']);
  await run(['endpoint', 'hashkv']);
  await run(['endpoint', 'health']);
  await run(['alarm', 'list']);
  await run(['move-leader', 'ffff']);
  await run(['compaction', '4']);
  await run(['get', 'foo', '--rev=2']);
  await run(['defrag']);
  await streams(port, run);
  await lockAndElection(port);
  await auth(run);
  currentStep = 'snapshot save';
  const dir = mkdtempSync(join(tmpdir(), 'capture-snap-'));
  await run(['snapshot', 'save', join(dir, 'snap.db')]);
  rmSync(dir, { recursive: true, force: true });
}

type Run = (args: string[], stdin?: string) => Promise<string>;

async function leases(run: Run): Promise<void> {
  const granted = await run(['lease', 'grant', '60']);
  const id = /lease ([0-9a-f]+) granted/.exec(granted)?.[1] ?? '1';
  await run(['put', 'leased', 'v', `--lease=${id}`]);
  await run(['lease', 'timetolive', id, '--keys']);
  await run(['lease', 'keep-alive', '--once', id]);
  await run(['lease', 'list']);
  await run(['lease', 'revoke', id]);
  await run(['lease', 'revoke', id]);
  await run(['lease', 'timetolive', id]);
  await run(['put', 'x', 'y', '--lease=1234']);
}

async function streams(port: number, run: Run): Promise<void> {
  currentStep = 'watch w --prefix --prev-kv';
  await background(port, ['watch', 'w', '--prefix', '--prev-kv'], async () => {
    await run(['put', 'w1', 'a']);
    await run(['put', 'w1', 'b']);
    await run(['del', 'w1']);
  });
  currentStep = 'watch foo --rev=2 (compacted)';
  await background(port, ['watch', 'foo', '--rev=2'], async () => undefined);
  currentStep = 'lock mylock';
  await run(['lock', 'mylock', 'echo', 'locked']);
  currentStep = 'elect myelection p1';
  await background(port, ['elect', 'myelection', 'p1'], async () => {
    currentStep = 'elect -l myelection';
    await background(port, ['elect', '-l', 'myelection'], async () => undefined);
  });
}

function unary<K extends keyof typeof RPCS>(client: grpc.Client, key: K, request: RpcTypes[K]['requestInit']): Promise<RpcTypes[K]['response']> {
  const d = RPCS[key] as unknown as RpcDescriptor;
  const encode = d.encodeRequest as (m: unknown) => Buffer;
  currentStep = `direct ${d.method}`;
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(d.path, encode, (b: Buffer) => d.decodeResponse(b), request, (err, res) =>
      err ? reject(err) : resolve(res as RpcTypes[K]['response']),
    );
  });
}

/**
 * etcdctl's lock and elect use client-side recipes over KV and Watch, never the Lock and
 * Election services; call those directly (our encoder, etcd's real responses).
 */
async function lockAndElection(port: number): Promise<void> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const lease = (await unary(client, 'leaseGrant', { TTL: 30n })).ID;
  const name = new TextEncoder().encode('direct-lock');
  const locked = await unary(client, 'lock', { name, lease });
  await unary(client, 'unlock', { key: locked.key });
  const election = new TextEncoder().encode('direct-election');
  const campaign = await unary(client, 'campaign', { name: election, lease, value: new TextEncoder().encode('v1') });
  await unary(client, 'leader', { name: election });
  await unary(client, 'proclaim', { leader: campaign.leader, value: new TextEncoder().encode('v2') });
  currentStep = 'direct Observe';
  const d = RPCS.observe as unknown as RpcDescriptor;
  const encode = d.encodeRequest as (m: unknown) => Buffer;
  const stream = client.makeServerStreamRequest(d.path, encode, (b: Buffer) => d.decodeResponse(b), { name: election });
  await new Promise<void>((resolve) => stream.once('data', () => resolve()));
  stream.cancel();
  stream.on('error', () => undefined);
  await unary(client, 'resign', { leader: campaign.leader });
  await unary(client, 'leaseRevoke', { ID: lease });
  client.close();
}

async function auth(run: Run): Promise<void> {
  await run(['user', 'add', 'root', '--new-user-password=rootpw']);
  await run(['role', 'add', 'root']);
  await run(['user', 'grant-role', 'root', 'root']);
  await run(['role', 'add', 'r1']);
  await run(['role', 'grant-permission', 'r1', 'readwrite', 'foo']);
  await run(['role', 'grant-permission', 'r1', 'read', 'bar', '--prefix']);
  await run(['role', 'get', 'r1']);
  await run(['role', 'list']);
  await run(['user', 'add', 'u1', '--new-user-password=u1pw']);
  await run(['user', 'grant-role', 'u1', 'r1']);
  await run(['user', 'get', 'u1']);
  await run(['user', 'list']);
  await run(['user', 'passwd', 'u1', '--interactive=false'], 'newpw\n');
  await run(['role', 'revoke-permission', 'r1', 'foo']);
  await run(['user', 'revoke-role', 'u1', 'r1']);
  await run(['auth', 'enable']);
  await run(['get', 'foo', '--user=root:rootpw']);
  await run(['get', 'foo', '--user=u1:newpw']);
  await run(['get', 'foo', '--user=root:wrong']);
  await run(['get', 'foo']);
  await run(['auth', 'disable', '--user=root:rootpw']);
  await run(['user', 'delete', 'u1']);
  await run(['role', 'delete', 'r1']);
}

async function main(): Promise<void> {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), 'capture-etcd-'));
  const etcd = spawn('etcd', [
    '--name', 'capture', '--data-dir', dataDir,
    '--listen-client-urls', `http://127.0.0.1:${clientPort}`, '--advertise-client-urls', `http://127.0.0.1:${clientPort}`,
    '--listen-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
    '--initial-cluster', `capture=http://127.0.0.1:${peerPort}`,
  ], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 50 && !(await etcdctl(clientPort, ['endpoint', 'health'])).ok; i++) await sleep(200);
    const proxy = await startProxy(clientPort);
    await script(proxy.port);
    proxy.server.forceShutdown();
  } finally {
    etcd.kill('SIGTERM');
    await new Promise((r) => etcd.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
  const fixture = { etcdVersion: '3.4.23', capturedWith: 'ci/proto-gen/capture-etcd.ts', calls: records };
  writeFileSync(outPath, JSON.stringify(fixture, null, 1) + '\n');
  console.log(`${records.length} calls written to ${outPath}`);
}

await main();
