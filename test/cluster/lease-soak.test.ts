/**
 * Issue 6: lease expiry on real processes across a leader kill. Three leases with short TTLs
 * (one kept alive by the etcd3 client, two left to expire, one of them spanning the kill) each
 * hold two keys. The leader is killed with SIGKILL one second in. Checked:
 * - no lease expires before its TTL: a key's delete is observed no earlier than the time the
 *   grant (or the last successful keep-alive) was sent plus the TTL;
 * - the kept-alive lease survives the election, and expires on its own once released;
 * - each lease's keys are deleted at ONE revision, and every member (the killed one too, once
 *   restarted) holds the same history of those deletes.
 */
import { spawn } from 'node:child_process';
import { Etcd3 } from 'etcd3';
import type { Lease } from 'etcd3';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalCluster, eventually, sleep } from './harness.js';

const NAMES = ['s1', 's2', 's3'];
let cluster: LocalCluster;
const clients: Etcd3[] = [];

afterAll(async () => {
  for (const c of clients) c.close();
  await cluster?.destroy();
});

interface Deleted {
  readonly key: string;
  readonly rev: number;
  readonly atMs: number;
}

/** Every event under `prefix` from revision 1, replayed by one member's watch (etcdctl). */
function replay(endpoint: string, prefix: string): Promise<string[]> {
  return new Promise((resolve) => {
    const child = spawn('etcdctl', [`--endpoints=${endpoint}`, 'watch', prefix, '--prefix', '--rev=1', '-w', 'json'], { env: { ...process.env, ETCDCTL_API: '3' } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGINT'), 1500);
    child.on('close', () => {
      clearTimeout(timer);
      const events: string[] = [];
      for (const line of out.split('\n').filter((l) => l.startsWith('{'))) {
        const r = JSON.parse(line.replace(/"(cluster_id|member_id|lease)":\d+/g, '"$1":0')) as { Events?: Array<{ type?: number; kv: { key: string; mod_revision: number } }> };
        for (const e of r.Events ?? []) events.push(`${e.type === 1 ? 'DELETE' : 'PUT'} ${Buffer.from(e.kv.key, 'base64').toString()} @${e.kv.mod_revision}`);
      }
      resolve(events);
    });
  });
}

describe.sequential('lease expiry across a leader kill', () => {
  it('no lease expires early; keys go at one revision on every member', async () => {
    cluster = new LocalCluster();
    for (const n of NAMES) await cluster.define(n);
    for (const n of NAMES) cluster.start(n, NAMES);
    const leader = await eventually('a leader', 30_000, () => cluster.leader(NAMES));
    const followers = NAMES.filter((n) => n !== leader);
    const watcherHost = followers[0] as string;
    const client = new Etcd3({ hosts: NAMES.map((n) => `http://${cluster.endpoint(n)}`) });
    const watchClient = new Etcd3({ hosts: `http://${cluster.endpoint(watcherHost)}` });
    clients.push(client, watchClient);

    const deleted: Deleted[] = [];
    const watcher = await watchClient.watch().prefix('soak/').create();
    watcher.on('delete', (kv) => deleted.push({ key: kv.key.toString(), rev: Number(kv.mod_revision), atMs: Date.now() }));

    const grantSentAt = new Map<string, number>();
    const grant = async (name: string, ttlSeconds: number, keepAlive: boolean): Promise<Lease> => {
      const lease = client.lease(ttlSeconds, { autoKeepAlive: keepAlive });
      grantSentAt.set(name, Date.now());
      await lease.grant();
      await lease.put(`soak/${name}/1`).value('v');
      await lease.put(`soak/${name}/2`).value('v');
      return lease;
    };
    // a: kept alive (4 s); b: 3 s, expires soon after the kill; c: 5 s, spans the election.
    let lastFiredAt = 0;
    let lastSuccessSentAt = 0;
    const a = client.lease(4);
    a.on('keepaliveFired', () => (lastFiredAt = Date.now()));
    a.on('keepaliveSucceeded', () => (lastSuccessSentAt = lastFiredAt));
    let aLost = false;
    a.on('lost', () => (aLost = true));
    grantSentAt.set('a', Date.now());
    await a.grant();
    await a.put('soak/a/1').value('v');
    await a.put('soak/a/2').value('v');
    await grant('b', 3, false);
    await grant('c', 5, false);

    await sleep(1000);
    await cluster.kill9(leader);
    const rest = NAMES.filter((n) => n !== leader);
    await eventually('a new leader', 20_000, () => cluster.leader(rest));

    await eventually('leases b and c to expire', 20_000, () => Promise.resolve(deleted.filter((d) => /soak\/[bc]\//.test(d.key)).length === 4 ? true : undefined));
    expect(aLost).toBe(false);
    expect(await client.get('soak/a/1').string()).toBe('v');

    // Release a: its keep-alives stop; it must last its TTL from the last renewal sent.
    a.release();
    const releasedAfterSentAt = lastSuccessSentAt;
    await eventually('lease a to expire', 20_000, () => Promise.resolve(deleted.filter((d) => d.key.startsWith('soak/a/')).length === 2 ? true : undefined));

    const ttlMs: Record<string, number> = { a: 4000, b: 3000, c: 5000 };
    for (const name of ['a', 'b', 'c']) {
      const gone = deleted.filter((d) => d.key.startsWith(`soak/${name}/`));
      expect(gone.length, name).toBe(2);
      // Both keys of a lease go in one revision.
      expect(new Set(gone.map((d) => d.rev)).size, name).toBe(1);
      const notBeforeMs = (name === 'a' ? releasedAfterSentAt : (grantSentAt.get(name) ?? 0)) + (ttlMs[name] ?? 0);
      for (const d of gone) expect(d.atMs, `${name}: ${d.key} deleted ${notBeforeMs - d.atMs} ms early`).toBeGreaterThanOrEqual(notBeforeMs);
      if (process.env['SOAK_REPORT'] === '1') console.log(`lease ${name}: keys deleted at rev ${gone[0]?.rev}, ${(gone[0]?.atMs ?? 0) - notBeforeMs} ms after the earliest allowed expiry`);
    }

    // The killed member rejoins; every member holds the same history of the soak keys.
    cluster.start(leader, NAMES);
    const histories = await eventually('every member to agree', 20_000, async () => {
      const all = await Promise.all(NAMES.map((n) => replay(cluster.endpoint(n), 'soak/')));
      return all.every((h) => JSON.stringify(h) === JSON.stringify(all[0]) && h.length === 12) ? all : undefined;
    });
    expect(histories[0]?.filter((e) => e.startsWith('DELETE')).length).toBe(6);
    await watcher.cancel();
  }, 60_000);
});
