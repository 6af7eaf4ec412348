/**
 * Issue 6: a follower forwards LeaseKeepAlive and LeaseTimeToLive to the leader over the peer
 * channel, as etcd does, instead of answering "etcdserver: not leader". The etcd3 npm client is
 * pinned to one follower; its keep-alives must keep a 2 s lease alive well past its TTL, and the
 * TTL it reads through the follower is the leader's countdown, not the granted TTL.
 */
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, eventually, sleep } from './harness.js';

const NAMES = ['f1', 'f2', 'f3'];
const TIMEOUT_MS = 60_000;
let cluster: LocalCluster;
let follower = '';
let leader = '';
let client: Etcd3 | undefined;

beforeAll(async () => {
  cluster = new LocalCluster();
  for (const n of NAMES) await cluster.define(n);
  for (const n of NAMES) cluster.start(n, NAMES);
  try {
    leader = await eventually('a leader', 30_000, () => cluster.leader(NAMES));
  } catch (error) {
    throw new Error(`${String(error)}\n${cluster.recentLogs()}`);
  }
  follower = NAMES.find((n) => n !== leader) as string;
  client = new Etcd3({ hosts: `http://${cluster.endpoint(follower)}` });
}, TIMEOUT_MS);

afterAll(async () => {
  client?.close();
  await cluster?.destroy();
});

describe.sequential('lease requests on a follower go to the leader', () => {
  it('etcd3 keep-alives through a follower keep a 2 s lease and its key alive for 5 s', async () => {
    const c = client as Etcd3;
    const lease = c.lease(2);
    let keepAlives = 0;
    let lost = false;
    lease.on('keepaliveSucceeded', () => keepAlives++);
    lease.on('lost', () => (lost = true));
    await lease.put('fwd/key').value('v');
    const id = await lease.grant();
    await sleep(5_000);
    expect(lost).toBe(false);
    expect(keepAlives).toBeGreaterThanOrEqual(2);
    expect(await c.get('fwd/key').string()).toBe('v');
    // The leader's lessor holds it: the leader itself reports a live TTL and the key.
    const ttl = await cluster.ok(['lease', 'timetolive', BigInt(id).toString(16), '--keys'], [cluster.endpoint(leader)]);
    expect(ttl).toMatch(/granted with TTL\(2s\), remaining\(\ds\), attached keys\(\[fwd\/key\]\)/);
    await lease.revoke();
    expect(await c.get('fwd/key').string()).toBeNull();
  }, TIMEOUT_MS);

  it('etcdctl keep-alive --once and timetolive on a follower answer as the leader does', async () => {
    const grant = await cluster.ok(['lease', 'grant', '30'], [cluster.endpoint(leader)]);
    const id = /lease ([0-9a-f]+) granted with TTL\(30s\)/.exec(grant)?.[1];
    expect(id).toBeDefined();
    await cluster.ok(['put', 'fwd/k2', 'x', `--lease=${String(id)}`], [cluster.endpoint(leader)]);
    await sleep(2_200);
    // A follower's own lessor only knows the granted TTL (30 s); the leader's countdown is below it.
    const viaFollower = await cluster.ok(['lease', 'timetolive', String(id), '--keys'], [cluster.endpoint(follower)]);
    const remaining = Number(/remaining\((\d+)s\)/.exec(viaFollower)?.[1]);
    expect(remaining).toBeLessThan(30);
    expect(remaining).toBeGreaterThanOrEqual(15); // a busy machine may take seconds per etcdctl call
    expect(viaFollower).toContain('attached keys([fwd/k2])');
    const once = await cluster.ok(['lease', 'keep-alive', '--once', String(id)], [cluster.endpoint(follower)]);
    expect(once.trim()).toBe(`lease ${String(id)} keepalived with TTL(30)`);
    const after = await cluster.ok(['lease', 'timetolive', String(id)], [cluster.endpoint(follower)]);
    expect(Number(/remaining\((\d+)s\)/.exec(after)?.[1])).toBeGreaterThanOrEqual(remaining);
    // Unknown leases: TTL -1 for timetolive and TTL 0 on the keep-alive stream, as etcd answers.
    const unknown = await cluster.ok(['lease', 'timetolive', '1234abcd'], [cluster.endpoint(follower)]);
    expect(unknown.trim()).toBe('lease 000000001234abcd already expired');
    const onceUnknown = await cluster.ctl(['lease', 'keep-alive', '--once', '1234abcd'], [cluster.endpoint(follower)]);
    expect(onceUnknown.code).toBe(2);
    expect(onceUnknown.stderr).toContain('Error: etcdserver: requested lease not found');
    // Leases lists come from every member's own applied state.
    const list = await cluster.ok(['lease', 'list'], [cluster.endpoint(follower)]);
    expect(list).toContain(String(id));
  }, TIMEOUT_MS);

  it('keep-alives through a follower survive the leader being killed', async () => {
    const c = client as Etcd3;
    const lease = c.lease(3);
    let lost = false;
    lease.on('lost', () => (lost = true));
    await lease.put('fwd/survivor').value('v');
    await lease.grant();
    await cluster.kill9(leader);
    const rest = NAMES.filter((n) => n !== leader);
    const next = await eventually('a new leader', 20_000, () => cluster.leader(rest));
    expect(rest).toContain(next);
    await sleep(4_000);
    expect(lost).toBe(false);
    expect(await c.get('fwd/survivor').string()).toBe('v');
    await lease.revoke();
  }, TIMEOUT_MS);
});
