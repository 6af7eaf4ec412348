/**
 * A real 3-member cluster (separate tsetcd processes, HTTP/2 peer transport, LMDB, WAL) driven
 * by the real etcdctl. The tests share one cluster and run in order: formation, leader kill -9
 * and rejoin, learner add + join + promote, remove.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, eventually } from './harness.js';

const FOUNDERS = ['n1', 'n2', 'n3'];
let cluster: LocalCluster;
/** Every write etcdctl acknowledged, key -> value: none may be lost. */
const acked = new Map<string, string>();

async function put(key: string, value: string, endpoints?: readonly string[]): Promise<boolean> {
  const r = await cluster.ctl(['put', key, value], endpoints);
  if (r.code === 0 && r.stdout.trim() === 'OK') {
    acked.set(key, value);
    return true;
  }
  return false;
}

/** Linearizable read of every acked key from one member, as key -> value. */
async function readAll(name: string, consistency: 'l' | 's' = 'l'): Promise<Map<string, string>> {
  const out = await cluster.ok(['get', 'k', '--prefix', `--consistency=${consistency}`], [cluster.endpoint(name)]);
  const lines = out.split('\n').filter((l) => l.length > 0);
  const got = new Map<string, string>();
  for (let i = 0; i + 1 < lines.length; i += 2) got.set(lines[i] as string, lines[i + 1] as string);
  return got;
}

const sorted = (m: Map<string, string>): Array<[string, string]> => [...m].sort(([a], [b]) => a.localeCompare(b));

describe.sequential('real 3-member cluster', () => {
  beforeAll(async () => {
    // Small snapshot settings: a member that was down, and a member that joins later, are both
    // behind the leader's compacted log, so they catch up through a streamed Raft snapshot.
    cluster = new LocalCluster(['--snapshot-count', '20', '--experimental-snapshot-catchup-entries', '5']);
    for (const name of FOUNDERS) await cluster.define(name);
    for (const name of FOUNDERS) cluster.start(name, FOUNDERS);
  });

  afterAll(async () => {
    await cluster?.destroy();
  });

  it('forms, publishes every member, and serves put/get on every member', async () => {
    try {
      await eventually('a leader', 30_000, () => cluster.leader(FOUNDERS));
      const members = await eventually('all three members published', 15_000, async () => {
        const list = await cluster.memberList();
        return list.filter((m) => m.status === 'started' && m.clientUrls !== '').length === 3 ? list : undefined;
      });
      expect(members.map((m) => m.name).sort()).toEqual(FOUNDERS);
      for (const m of members) {
        expect(m.clientUrls).toBe(`http://${cluster.endpoint(m.name)}`);
        expect(m.peerUrls).toBe(cluster.peerUrl(m.name));
        expect(m.isLearner).toBe(false);
      }
      for (const name of FOUNDERS) expect(await put(`k-${name}`, `written-via-${name}`, [cluster.endpoint(name)])).toBe(true);
      for (const name of FOUNDERS) expect(sorted(await readAll(name))).toEqual(sorted(acked));
      // Every member reports the same cluster and sees the same leader.
      const ids = new Set(members.map((m) => m.id));
      expect(ids.size).toBe(3);
    } catch (error) {
      console.error(cluster.recentLogs());
      throw error;
    }
  }, 60_000);

  it('survives kill -9 of the leader: a new leader, writes continue, the member rejoins with no acked write lost', async () => {
    try {
      const old = await eventually('the leader', 10_000, () => cluster.leader(FOUNDERS));
      await cluster.kill9(old);
      const survivors = FOUNDERS.filter((n) => n !== old);
      const next = await eventually('a new leader among the survivors', 20_000, () => cluster.leader(survivors));
      expect(next).not.toBe(old);
      const endpoints = survivors.map((n) => cluster.endpoint(n));
      // Enough entries for the leader to snapshot and compact past what the dead member holds.
      for (let batch = 0; batch < 5; batch++) {
        await Promise.all(
          Array.from({ length: 8 }, (_, j) => batch * 8 + j).map((i) =>
            eventually(`write ${i}`, 10_000, async () => ((await put(`k-after-${i}`, `v${i}`, endpoints)) ? true : undefined)),
          ),
        );
      }
      cluster.start(old, FOUNDERS); // restart from its data dir
      // A serializable read is served from the member's own state: equal means it caught up.
      await eventually(`${old} to catch up`, 30_000, async () => {
        const local = await readAll(old, 's');
        return JSON.stringify(sorted(local)) === JSON.stringify(sorted(acked)) ? true : undefined;
      });
      for (const name of FOUNDERS) expect(sorted(await readAll(name))).toEqual(sorted(acked));
      expect(await put('k-rejoined', 'yes', [cluster.endpoint(old)])).toBe(true);
      expect(cluster.member(old).logs.some((l) => l.includes('snapshot received'))).toBe(true);
      // The member list came back with the snapshot too.
      expect((await cluster.memberList([cluster.endpoint(old)])).map((m) => m.name).sort()).toEqual(FOUNDERS);
    } catch (error) {
      console.error(cluster.recentLogs());
      throw error;
    }
  }, 60_000);

  it('adds a learner that joins with --initial-cluster-state existing, then promotes it to a voter', async () => {
    try {
      const n4 = await cluster.define('n4');
      const added = await cluster.ok(['member', 'add', 'n4', '--learner', `--peer-urls=${cluster.peerUrl('n4')}`], FOUNDERS.map((n) => cluster.endpoint(n)));
      expect(added).toMatch(/Member\s+[0-9a-f]+ added to cluster\s+[0-9a-f]+/);
      expect(added).toContain('ETCD_INITIAL_CLUSTER_STATE="existing"');
      const pending = (await cluster.memberList(FOUNDERS.map((n) => cluster.endpoint(n)))).find((m) => m.peerUrls === cluster.peerUrl('n4'));
      expect(pending).toMatchObject({ status: 'unstarted', name: '', isLearner: true });
      // etcd allows one learner at a time, and peer URLs are unique.
      const second = await cluster.ctl(['member', 'add', 'n5', '--learner', '--peer-urls=http://127.0.0.1:1'], FOUNDERS.map((n) => cluster.endpoint(n)));
      expect(second.stderr).toContain('etcdserver: too many learner members in cluster');
      const dup = await cluster.ctl(['member', 'add', 'n5', `--peer-urls=${cluster.peerUrl('n1')}`], FOUNDERS.map((n) => cluster.endpoint(n)));
      expect(dup.stderr).toContain('etcdserver: Peer URLs already exists');

      cluster.start('n4', [...FOUNDERS, 'n4'], 'existing');
      await eventually('n4 published as a started learner', 30_000, async () => {
        const m = (await cluster.memberList()).find((x) => x.name === 'n4');
        return m && m.status === 'started' && m.isLearner ? m : undefined;
      });
      await eventually('n4 to hold every acked key', 20_000, async () => {
        const local = await readAll('n4', 's');
        return JSON.stringify(sorted(local)) === JSON.stringify(sorted(acked)) ? true : undefined;
      });
      // The leader's log was compacted long ago: the joiner caught up through a snapshot.
      expect(n4.logs.some((l) => l.includes('snapshot received'))).toBe(true);
      const id = pending?.id ?? '';
      await eventually('promote to succeed', 20_000, async () => {
        const r = await cluster.ctl(['member', 'promote', id], FOUNDERS.map((n) => cluster.endpoint(n)));
        if (r.code === 0) return r.stdout;
        expect(r.stderr).toContain('can only promote a learner member which is in sync with leader');
        return undefined;
      });
      const promoted = (await cluster.memberList()).find((m) => m.name === 'n4');
      expect(promoted?.isLearner).toBe(false);
      const again = await cluster.ctl(['member', 'promote', id]);
      expect(again.stderr).toContain('etcdserver: can only promote a learner member');
      // A voter serves linearizable reads and writes.
      expect(await put('k-via-n4', 'v', [cluster.endpoint('n4')])).toBe(true);
      expect(sorted(await readAll('n4'))).toEqual(sorted(acked));
      expect(n4.exitCode).toBeUndefined();
    } catch (error) {
      console.error(cluster.recentLogs());
      throw error;
    }
  }, 60_000);

  it('moves the leader and removes a member, which then shuts itself down', async () => {
    try {
      const all = [...FOUNDERS, 'n4'];
      const leader = await eventually('the leader', 10_000, () => cluster.leader(all));
      const target = all.find((n) => n !== leader) as string;
      const targetId = (await cluster.memberList()).find((m) => m.name === target)?.id ?? '';
      const moved = await cluster.ok(['move-leader', targetId], [cluster.endpoint(leader)]);
      expect(moved).toContain(`Leadership transferred from`);
      expect(await eventually('the new leader', 10_000, () => cluster.leader(all))).toBe(target);

      const n4Id = (await cluster.memberList()).find((m) => m.name === 'n4')?.id ?? '';
      const removed = await cluster.ok(['member', 'remove', n4Id], FOUNDERS.map((n) => cluster.endpoint(n)));
      expect(removed).toMatch(new RegExp(`Member\\s+${n4Id} removed from cluster`));
      expect(await cluster.waitExit('n4', 15_000)).toBe(0);
      const list = await cluster.memberList(FOUNDERS.map((n) => cluster.endpoint(n)));
      expect(list.map((m) => m.name).sort()).toEqual(FOUNDERS);
      const gone = await cluster.ctl(['member', 'remove', n4Id], FOUNDERS.map((n) => cluster.endpoint(n)));
      expect(gone.stderr).toContain('etcdserver: member not found');
      expect(await put('k-after-remove', 'v', FOUNDERS.map((n) => cluster.endpoint(n)))).toBe(true);
      for (const name of FOUNDERS) expect(sorted(await readAll(name))).toEqual(sorted(acked));
    } catch (error) {
      console.error(cluster.recentLogs());
      throw error;
    }
  }, 60_000);

  it('refuses to join with --initial-cluster-state existing when the member was never added', async () => {
    await cluster.define('stranger');
    cluster.start('stranger', [...FOUNDERS, 'stranger'], 'existing');
    expect(await cluster.waitExit('stranger', 20_000)).toBe(1);
    expect(cluster.member('stranger').logs.join('\n')).toContain('is not in the cluster\'s member list');
    cluster.members.delete('stranger');
  }, 30_000);

  it('adds a voter directly (no learner step) that joins, serves linearizable reads and counts toward quorum', async () => {
    try {
      await cluster.define('n5');
      const out = await cluster.ok(['member', 'add', 'n5', `--peer-urls=${cluster.peerUrl('n5')}`], FOUNDERS.map((n) => cluster.endpoint(n)));
      expect(out).toMatch(/Member\s+[0-9a-f]+ added to cluster/);
      cluster.start('n5', [...FOUNDERS, 'n5'], 'existing');
      await eventually('n5 published as a started voter', 30_000, async () => {
        const m = (await cluster.memberList()).find((x) => x.name === 'n5');
        return m && m.clientUrls !== '' && !m.isLearner ? m : undefined;
      });
      expect(await put('k-via-n5', 'v', [cluster.endpoint('n5')])).toBe(true);
      // With 4 voters, losing one founder still leaves a quorum of 3.
      const victim = FOUNDERS.find((n) => n !== 'n5') as string;
      await cluster.kill9(victim);
      const alive = [...FOUNDERS.filter((n) => n !== victim), 'n5'];
      await eventually('a write with one of four voters down', 20_000, async () =>
        (await put('k-four-voters', 'v', alive.map((n) => cluster.endpoint(n)))) ? true : undefined,
      );
      expect(sorted(await readAll('n5'))).toEqual(sorted(acked));
    } catch (error) {
      console.error(cluster.recentLogs());
      throw error;
    }
  }, 60_000);
});
