/**
 * Lock and Election on a real tsetcd process: the real etcdctl 3.4 (`lock`, `elect`: Go's
 * client-side concurrency package over KV, Watch and Lease) contending with itself and with the
 * Lock and Election gRPC services on the same keys, and Lock cancellation cleaning up over the
 * wire. Free ports, a temp data dir, every process killed at the end.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcClient } from '../../src/grpc/index.js';
import type { EtcdGrpcClient, GrpcStatusError } from '../../src/grpc/index.js';
import { LocalCluster, eventually, sleep } from '../cluster/harness.js';

const TIMEOUT_MS = 60_000;
const u = (s: string): Uint8Array => new TextEncoder().encode(s);
const s = (b: Uint8Array): string => new TextDecoder().decode(b);

let cluster: LocalCluster;
let client: EtcdGrpcClient;
let endpoint = '';
const children = new Set<ChildProcess>();

/** A long-running etcdctl (lock or elect) whose output is collected as it comes. */
interface Ctl {
  output(): string;
  exitCode(): number | null | undefined;
  interrupt(): Promise<void>;
  exited(): Promise<number | null>;
}

function etcdctl(args: readonly string[]): Ctl {
  const child = spawn('etcdctl', [`--endpoints=${endpoint}`, ...args], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let code: number | null | undefined;
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (c) => {
      code = c;
      children.delete(child);
      resolve(c);
    }),
  );
  return {
    output: () => out,
    exitCode: () => code,
    interrupt: async () => {
      child.kill('SIGINT');
      await exit;
    },
    exited: () => exit,
  };
}

function waitOutput(ctl: Ctl, pattern: RegExp, what: string): Promise<string> {
  return eventually(what, 15_000, () => Promise.resolve(pattern.exec(ctl.output())?.[0]));
}

async function keys(prefix: string): Promise<string[]> {
  const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  const r = await client.unary('range', { key: u(prefix), rangeEnd: u(end), keysOnly: true });
  return r.kvs.map((kv) => s(kv.key));
}

async function grant(ttl: bigint): Promise<bigint> {
  return (await client.unary('leaseGrant', { TTL: ttl })).ID;
}

beforeAll(async () => {
  cluster = new LocalCluster();
  await cluster.define('m1');
  cluster.start('m1', ['m1']);
  endpoint = cluster.endpoint('m1');
  client = createGrpcClient(endpoint);
  await eventually('the member to serve', 20_000, async () => ((await client.unary('range', { key: u('x') })).header ? true : undefined));
}, TIMEOUT_MS);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  client?.close();
  await cluster?.destroy();
});

describe('etcdctl lock and the Lock service on tsetcd', () => {
  it('etcdctl lock: the second holder blocks until the first exits', async () => {
    const first = etcdctl(['lock', 'mylock']);
    const firstKey = await waitOutput(first, /mylock\/[0-9a-f]+/, 'the first etcdctl to hold the lock');
    const second = etcdctl(['lock', 'mylock']);
    await eventually('the second contender to queue', 10_000, async () => ((await keys('mylock/')).length === 2 ? true : undefined));
    await sleep(500);
    expect(second.output()).toBe('');
    await first.interrupt();
    const secondKey = await waitOutput(second, /mylock\/[0-9a-f]+/, 'the second etcdctl to take the lock');
    expect(secondKey).not.toBe(firstKey);
    expect(await keys('mylock/')).toEqual([secondKey]);
    await second.interrupt();
    expect(await keys('mylock/')).toEqual([]);
  }, TIMEOUT_MS);

  it('etcdctl and the Lock RPC exclude each other on the same keys, both ways', async () => {
    const holder = etcdctl(['lock', 'shared']);
    await waitOutput(holder, /shared\/[0-9a-f]+/, 'etcdctl to hold the lock');
    const lease = await grant(30n);
    let rpcDone = false;
    const rpc = client.unary('lock', { name: u('shared'), lease }).then((r) => ((rpcDone = true), r));
    await sleep(700);
    expect(rpcDone).toBe(false);
    await holder.interrupt();
    const got = await rpc;
    expect(s(got.key)).toBe(`shared/${lease.toString(16)}`);
    // Now the service holds it and etcdctl waits.
    const waiter = etcdctl(['lock', 'shared']);
    await eventually('etcdctl to queue', 10_000, async () => ((await keys('shared/')).length === 2 ? true : undefined));
    await sleep(500);
    expect(waiter.output()).toBe('');
    await client.unary('unlock', { key: got.key });
    await waitOutput(waiter, /shared\/[0-9a-f]+/, 'etcdctl to take the lock after Unlock');
    await waiter.interrupt();
  }, TIMEOUT_MS);

  it('a Lock call that hits its deadline deletes its key; an unknown lease is UNKNOWN as on etcd', async () => {
    const [a, b] = [await grant(30n), await grant(30n)];
    await client.unary('lock', { name: u('dl'), lease: a });
    const error = (await client.unary('lock', { name: u('dl'), lease: b }, { deadlineMs: 500 }).catch((e: unknown) => e)) as GrpcStatusError;
    expect(error.grpcCode).toBe(4); // DEADLINE_EXCEEDED
    await eventually('the abandoned key to be deleted', 5_000, async () => ((await keys('dl/')).length === 1 ? true : undefined));
    expect(await keys('dl/')).toEqual([`dl/${a.toString(16)}`]);
    const unknown = (await client.unary('lock', { name: u('dl'), lease: 0x77n }).catch((e: unknown) => e)) as GrpcStatusError;
    expect(unknown).toEqual({ grpcCode: 2, message: 'etcdserver: requested lease not found' });
  }, TIMEOUT_MS);
});

describe('etcdctl elect and the Election service on tsetcd', () => {
  it('etcdctl campaigns and observes; the Election RPCs see and join the same election', async () => {
    const observer = etcdctl(['elect', '-l', 'race']);
    const p1 = etcdctl(['elect', 'race', 'p1']);
    await waitOutput(p1, /race\/[0-9a-f]+\np1/, 'p1 to be elected');
    await waitOutput(observer, /p1/, 'the observer to see p1');
    const leader = await client.unary('leader', { name: u('race') });
    expect(s(leader.kv?.value ?? new Uint8Array())).toBe('p1');
    // The Campaign RPC queues behind etcdctl's campaigner.
    const lease = await grant(30n);
    let rpcElected = false;
    const campaign = client.unary('campaign', { name: u('race'), lease, value: u('rpc') }).then((r) => ((rpcElected = true), r));
    const p2 = etcdctl(['elect', 'race', 'p2']);
    await eventually('three contenders', 10_000, async () => ((await keys('race/')).length === 3 ? true : undefined));
    await sleep(500);
    expect(rpcElected).toBe(false);
    expect(p2.output()).toBe('');
    await p1.interrupt();
    const won = await campaign;
    expect(s(won.leader?.key ?? new Uint8Array())).toBe(`race/${lease.toString(16)}`);
    await waitOutput(observer, /rpc/, 'the observer to see the RPC campaigner');
    await client.unary('proclaim', { leader: won.leader, value: u('rpc2') });
    await waitOutput(observer, /rpc2/, 'the observer to see the proclaimed value');
    expect(p2.output()).toBe('');
    await client.unary('resign', { leader: won.leader });
    await waitOutput(p2, /race\/[0-9a-f]+\np2/, 'p2 to be elected after the RPC leader resigned');
    await waitOutput(observer, /p2/, 'the observer to see p2');
    const order = observer.output().split('\n').filter((l) => ['p1', 'rpc', 'rpc2', 'p2'].includes(l));
    expect(order).toEqual(['p1', 'rpc', 'rpc2', 'p2']);
    await p2.interrupt();
    await observer.interrupt();
  }, TIMEOUT_MS);

  it('the Observe stream follows leaders elected by etcdctl', async () => {
    const abort = new AbortController();
    const stream = client.serverStream('observe', { name: u('watched') }, { signal: abort.signal });
    const values: string[] = [];
    const reading = (async () => {
      try {
        for await (const r of stream) values.push(s(r.kv?.value ?? new Uint8Array()));
      } catch {
        // cancelled below
      }
    })();
    const c1 = etcdctl(['elect', 'watched', 'one']);
    await eventually('Observe to see "one"', 10_000, () => Promise.resolve(values.includes('one') ? true : undefined));
    const c2 = etcdctl(['elect', 'watched', 'two']);
    await eventually('c2 to queue', 10_000, async () => ((await keys('watched/')).length === 2 ? true : undefined));
    await c1.interrupt();
    await eventually('Observe to see "two"', 10_000, () => Promise.resolve(values.includes('two') ? true : undefined));
    expect(values).toEqual(['one', 'two']);
    await c2.interrupt();
    abort.abort();
    await reading;
  }, TIMEOUT_MS);
});
