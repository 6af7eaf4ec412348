/**
 * Wire compatibility with the real Go client: Debian's etcdctl 3.4 (ETCDCTL_API=3) against our
 * gRPC server in front of the in-memory MemKv. Installed by ci/install-system-deps.sh.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcServer } from '../../src/grpc/index.js';
import type { GrpcServer } from '../../src/grpc/index.js';
import { CLUSTER_ID, MEMBER_ID, MemKv, memKvServices, snapshotData } from './memkv.js';

/** Generous: CI shares two cores with other suites, and these tests spawn processes or loop. */
const SLOW_MACHINE_TIMEOUT_MS = 60_000;

interface CtlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function etcdctlPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v etcdctl'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('etcdctl not found: run `bash ci/install-system-deps.sh` (Debian package etcd-client)');
  }
}

let server: GrpcServer;
let port = 0;
let kv: MemKv;
let ctlBinary = '';

function ctl(args: readonly string[], stdin?: string): Promise<CtlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      ctlBinary,
      [`--endpoints=127.0.0.1:${port}`, '--dial-timeout=5s', '--command-timeout=10s', ...args],
      { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

async function ok(args: readonly string[], stdin?: string): Promise<string> {
  const r = await ctl(args, stdin);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** Polls a condition (bounded: a hung client fails the test instead of hanging it). */
async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Runs a long-lived etcdctl command (watch) and exposes its output so far. */
function background(args: readonly string[]): { output: () => string; stop: () => Promise<void> } {
  const child = spawn(ctlBinary, [`--endpoints=127.0.0.1:${port}`, ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    output: () => out,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

beforeAll(async () => {
  ctlBinary = etcdctlPath();
  kv = new MemKv();
  server = createGrpcServer(memKvServices(kv));
  port = await server.listen('127.0.0.1:0');
});

afterAll(async () => {
  await server.close();
});

describe('real etcdctl against the gRPC server', { timeout: SLOW_MACHINE_TIMEOUT_MS }, () => {
  it('put stores the key at the next revision', async () => {
    const before = kv.revision;
    expect(await ok(['put', 'p/a', 'va'])).toBe('OK\n');
    expect(kv.revision).toBe(before + 1n);
  });

  it('get prints key and value', async () => {
    await ok(['put', 'g/one', 'first']);
    expect(await ok(['get', 'g/one'])).toBe('g/one\nfirst\n');
    expect(await ok(['get', 'g/missing'])).toBe('');
  });

  it('get --prefix -w json returns the range with header, revisions and versions', async () => {
    await ok(['put', 'j/1', 'a']);
    await ok(['put', 'j/2', 'b']);
    await ok(['put', 'j/1', 'c']);
    await ok(['put', 'k/outside', 'x']);
    const out = await ok(['get', 'j/', '--prefix', '-w', 'json']);
    const parsed = JSON.parse(out) as {
      header: { revision: number; raft_term: number };
      kvs: Array<{ key: string; value: string; create_revision: number; mod_revision: number; version: number }>;
      count: number;
    };
    expect(parsed.kvs.map((x) => [x.key, x.value, x.version])).toEqual([
      [b64('j/1'), b64('c'), 2],
      [b64('j/2'), b64('b'), 1],
    ]);
    expect(parsed.kvs[0]?.mod_revision).toBeGreaterThan(parsed.kvs[0]?.create_revision ?? Infinity);
    expect(parsed.count).toBe(2);
    expect(BigInt(parsed.header.revision)).toBe(kv.revision);
    // uint64 ids exceed 2^53: compare the printed digits, not JSON.parse's rounded numbers.
    expect(out).toContain(`"cluster_id":${CLUSTER_ID}`);
    expect(out).toContain(`"member_id":${MEMBER_ID}`);
  });

  it('get honours --limit, --keys-only and --order', async () => {
    for (const k of ['l/1', 'l/2', 'l/3']) await ok(['put', k, `v${k}`]);
    expect(await ok(['get', 'l/', '--prefix', '--limit=2'])).toBe('l/1\nvl/1\nl/2\nvl/2\n');
    expect(await ok(['get', 'l/', '--prefix', '--keys-only'])).toBe('l/1\n\nl/2\n\nl/3\n\n');
    expect(await ok(['get', 'l/', '--prefix', '--order=DESCEND', '--print-value-only'])).toBe('vl/3\nvl/2\nvl/1\n');
  });

  it('del --prefix deletes and prints the count', async () => {
    for (const k of ['d/1', 'd/2', 'd/3']) await ok(['put', k, 'v']);
    expect(await ok(['del', 'd/', '--prefix'])).toBe('3\n');
    expect(await ok(['get', 'd/', '--prefix'])).toBe('');
    expect(await ok(['del', 'd/1'])).toBe('0\n');
  });

  it('del --prev-kv prints the deleted pairs', async () => {
    await ok(['put', 'pd', 'old']);
    expect(await ok(['del', 'pd', '--prev-kv'])).toBe('1\npd\nold\n');
  });

  it('txn takes the success branch when every compare holds', async () => {
    await ok(['put', 't/k', 'v1']);
    const stdin = 'value("t/k") = "v1"\nversion("t/k") = "1"\n\nput t/k v2\nget t/k\n\nput t/k failed\n\n';
    expect(await ok(['txn'], stdin)).toBe('SUCCESS\n\nOK\n\nt/k\nv2\n');
  });

  it('txn takes the failure branch otherwise', async () => {
    await ok(['put', 't/f', 'v1']);
    const stdin = 'value("t/f") = "nope"\n\nput t/f v2\n\nget t/f\n\n';
    expect(await ok(['txn'], stdin)).toBe('FAILURE\n\nt/f\nv1\n');
  });

  it('txn compares on mod and create revisions', async () => {
    await ok(['put', 't/r', 'x']);
    const stdin = 'mod("t/r") > "0"\ncreate("t/absent") = "0"\n\ndel t/r\n\n\n';
    expect(await ok(['txn'], stdin)).toBe('SUCCESS\n\n1\n');
    expect(await ok(['get', 't/r'])).toBe('');
  });

  it('member list prints the member', async () => {
    expect(await ok(['member', 'list'])).toBe(
      `${MEMBER_ID.toString(16)}, started, memkv, http://127.0.0.1:2380, http://127.0.0.1:2379, false\n`,
    );
  });

  it('endpoint status reports version, db size, leader and raft indexes', async () => {
    const line = await ok(['endpoint', 'status']);
    expect(line).toBe(`127.0.0.1:${port}, ${MEMBER_ID.toString(16)}, 3.4.23, 25 kB, true, false, 2, 42, 42, \n`);
    const json = await ok(['endpoint', 'status', '-w', 'json']);
    const [entry] = JSON.parse(json) as Array<{ Endpoint: string; Status: { version: string; dbSize: number; raftIndex: number } }>;
    expect(entry?.Endpoint).toBe(`127.0.0.1:${port}`);
    expect(entry?.Status).toMatchObject({ version: '3.4.23', dbSize: 24576, raftIndex: 42 });
    expect(json).toContain(`"leader":${MEMBER_ID}`);
  });

  it('a thrown { grpcCode, message } reaches etcdctl as etcd\'s error', async () => {
    const r = await ctl(['lease', 'revoke', '1234']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('code = NotFound desc = etcdserver: requested lease not found');
    expect(r.stderr).toContain('Error: failed to revoke lease (etcdserver: requested lease not found)');
  });

  it('an RPC the services do not implement fails with UNIMPLEMENTED', async () => {
    const r = await ctl(['lease', 'list']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('method LeaseLeases not implemented');
  });

  it('a request the service rejects as invalid keeps its message', async () => {
    const r = await ctl(['get', 'x', '--rev=999999']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('code = OutOfRange desc = etcdserver: mvcc: required revision is a future revision');
  });

  it('watch streams puts and deletes to etcdctl over the bidirectional Watch stream', async () => {
    const watchersBefore = kv.watchers.size;
    const watch = background(['watch', 'w/', '--prefix', '--prev-kv']);
    try {
      await waitFor(() => kv.watchers.size > watchersBefore, 'etcdctl watch to register');
      await ok(['put', 'w/1', 'a']);
      await ok(['put', 'w/1', 'b']);
      await ok(['put', 'outside', 'x']);
      await ok(['del', 'w/1']);
      const expected = 'PUT\nw/1\na\nPUT\nw/1\na\nw/1\nb\nDELETE\nw/1\nb\nw/1\n\n';
      await waitFor(() => watch.output().length >= expected.length, 'watch events');
      expect(watch.output()).toBe(expected);
    } finally {
      await watch.stop();
    }
    await waitFor(() => kv.watchers.size === watchersBefore, 'the watch to be cleaned up after etcdctl exits');
  });

  it('lease grant, keep-alive over the LeaseKeepAlive stream, revoke', async () => {
    const granted = await ok(['lease', 'grant', '30']);
    const id = /^lease ([0-9a-f]+) granted with TTL\(30s\)\n$/.exec(granted)?.[1];
    expect(id).toBeDefined();
    expect(await ok(['lease', 'keep-alive', '--once', id as string])).toBe(`lease ${id} keepalived with TTL(30)\n`);
    expect(await ok(['lease', 'revoke', id as string])).toBe(`lease ${id} revoked\n`);
  });

  it('snapshot save receives the whole server-streamed blob', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'etcdctl-snap-'));
    try {
      const file = join(dir, 'snap.db');
      const r = await ctl(['snapshot', 'save', file]);
      expect(r.stdout).toBe(`Snapshot saved at ${file}\n`);
      // etcdctl verified the trailing SHA-256 (it refuses a snapshot without one) and kept it.
      const saved = readFileSync(file);
      const data = snapshotData();
      expect(saved.length).toBe(data.length + 32);
      expect(saved.subarray(0, data.length).equals(data)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
