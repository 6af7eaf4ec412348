/**
 * Issue 7: the `etcd3` npm client (the one Node programs use) against a real tsetcd process,
 * unchanged: KV (put, get, delete, prefixes, txn if/then/else), watch on a prefix, leases (put
 * with a lease, keep-alive, revoke deleting the key), its lock (`lock(name).do(fn)`) and its
 * election (campaign, observe, resign). The etcd3 client builds locks and elections itself on
 * KV, Watch and Lease, so these also exercise those services the way a third-party client does.
 */
import { Etcd3, EtcdLeaseInvalidError, EtcdLockFailedError } from 'etcd3';
import type { Campaign } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, eventually, sleep } from '../cluster/harness.js';

const TIMEOUT_MS = 60_000;

let cluster: LocalCluster;
let client: Etcd3;

beforeAll(async () => {
  cluster = new LocalCluster();
  await cluster.define('m1');
  cluster.start('m1', ['m1']);
  client = new Etcd3({ hosts: `http://${cluster.endpoint('m1')}` });
  await eventually('the member to serve', 20_000, async () => ((await client.get('probe').exists()) === false ? true : undefined));
}, TIMEOUT_MS);

afterAll(async () => {
  client?.close();
  await cluster?.destroy();
});

describe('etcd3 npm client against tsetcd', () => {
  it('KV: put, get, delete, prefix reads, txn if/then/else', async () => {
    await client.put('kv/a').value('1');
    await client.put('kv/b').value('2');
    await client.put('kv/c').value('3');
    await client.put('other').value('x');
    expect(await client.get('kv/a').string()).toBe('1');
    expect(await client.getAll().prefix('kv/').strings()).toEqual({ 'kv/a': '1', 'kv/b': '2', 'kv/c': '3' });
    expect(await client.getAll().prefix('kv/').count()).toBe(3);
    expect(await client.getAll().prefix('kv/').sort('Key', 'Descend').limit(1).keys()).toEqual(['kv/c']);
    const deleted = await client.delete().key('kv/b').exec();
    expect(deleted.deleted).toBe('1');
    expect(await client.get('kv/b').string()).toBeNull();
    const hit = await client.if('kv/a', 'Value', '==', '1').then(client.put('kv/a').value('one')).else(client.put('kv/a').value('miss')).commit();
    expect(hit.succeeded).toBe(true);
    expect(await client.get('kv/a').string()).toBe('one');
    const miss = await client.if('kv/a', 'Value', '==', '1').then(client.put('kv/a').value('again')).else(client.get('kv/c')).commit();
    expect(miss.succeeded).toBe(false);
    expect(miss.responses[0]?.response_range?.kvs[0]?.value.toString()).toBe('3');
    expect(await client.get('kv/a').string()).toBe('one');
    const created = await client.if('kv/new', 'Create', '==', 0).then(client.put('kv/new').value('n')).commit();
    expect(created.succeeded).toBe(true);
    await client.delete().prefix('kv/');
    expect(await client.getAll().prefix('kv/').count()).toBe(0);
  }, TIMEOUT_MS);

  it('watch on a prefix receives puts and deletes in order', async () => {
    const watcher = await client.watch().prefix('w/').create();
    const events: string[] = [];
    watcher.on('put', (kv) => events.push(`put ${kv.key.toString()}=${kv.value.toString()}`));
    watcher.on('delete', (kv) => events.push(`delete ${kv.key.toString()}`));
    await client.put('w/1').value('a');
    await client.put('elsewhere').value('ignored');
    await client.put('w/2').value('b');
    await client.delete().key('w/1');
    await eventually('three watch events', 10_000, () => Promise.resolve(events.length >= 3 ? true : undefined));
    expect(events).toEqual(['put w/1=a', 'put w/2=b', 'delete w/1']);
    await watcher.cancel();
  }, TIMEOUT_MS);

  it('leases: put with a lease, keep-alive past the TTL, revoke deletes the key; unknown leases raise EtcdLeaseInvalidError', async () => {
    const lease = client.lease(2);
    let keepAlives = 0;
    lease.on('keepaliveSucceeded', () => keepAlives++);
    await lease.put('leased').value('v');
    const id = await lease.grant();
    const got = await client.get('leased').exec();
    expect(got.kvs[0]?.lease).toBe(id);
    // Past the 2 s TTL: only the client's keep-alives keep the key.
    await sleep(3_000);
    expect(keepAlives).toBeGreaterThan(0);
    expect(await client.get('leased').string()).toBe('v');
    await lease.revoke();
    expect(await client.get('leased').string()).toBeNull();
    await expect(client.put('bad').value('v').lease('12345').exec()).rejects.toBeInstanceOf(EtcdLeaseInvalidError);
  }, TIMEOUT_MS);

  it('lock(name).do(fn): one holder at a time; a held lock fails fast as the client promises', async () => {
    const order: string[] = [];
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = client.lock('job').do(async () => {
      order.push('first in');
      await held;
      order.push('first out');
    });
    await eventually('the first holder', 10_000, () => Promise.resolve(order.includes('first in') ? true : undefined));
    expect(await client.getAll().prefix('job').count()).toBe(1);
    await expect(client.lock('job').do(() => Promise.resolve(order.push('second in')))).rejects.toBeInstanceOf(EtcdLockFailedError);
    release();
    await first;
    await client.lock('job').do(() => Promise.resolve(order.push('third in')));
    expect(order).toEqual(['first in', 'first out', 'third in']);
    expect(await client.getAll().prefix('job').count()).toBe(0);
    // Four workers retrying until they get the lock: never two inside at once.
    let inside = 0;
    let maxInside = 0;
    let done = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        try {
          await client.lock('counter').ttl(5).do(async () => {
            inside++;
            maxInside = Math.max(maxInside, inside);
            await sleep(30);
            inside--;
            done++;
          });
          return;
        } catch (error) {
          if (!(error instanceof EtcdLockFailedError)) throw error;
          await sleep(10);
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    expect(done).toBe(4);
    expect(maxInside).toBe(1);
  }, TIMEOUT_MS);

  it('election: campaign, observe, resign hand leadership over', async () => {
    const election = client.election('leaders', 5);
    const observer = await election.observe();
    const changes: Array<string | undefined> = [];
    observer.on('change', (leader) => changes.push(leader));
    const c1: Campaign = election.campaign('c1');
    await c1.wait();
    expect(await election.leader()).toBe('c1');
    await eventually('the observer to see c1', 10_000, () => Promise.resolve(observer.leader() === 'c1' ? true : undefined));
    const c2 = election.campaign('c2');
    let c2Elected = false;
    c2.on('elected', () => (c2Elected = true));
    await sleep(500);
    expect(c2Elected).toBe(false);
    await c1.proclaim('c1-updated');
    await eventually('the observer to see the proclaimed value', 10_000, () => Promise.resolve(observer.leader() === 'c1-updated' ? true : undefined));
    await c1.resign();
    await c2.wait();
    expect(await election.leader()).toBe('c2');
    await eventually('the observer to see c2', 10_000, () => Promise.resolve(observer.leader() === 'c2' ? true : undefined));
    expect(changes.filter((c) => c !== undefined)).toEqual(['c1', 'c1-updated', 'c2']);
    await c2.resign();
    await observer.cancel();
    expect(await election.leader()).toBeUndefined();
  }, TIMEOUT_MS);
});
