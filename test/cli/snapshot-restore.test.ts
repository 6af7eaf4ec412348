/**
 * Issue 7: `tsetcdctl snapshot restore` and `snapshot status`. A snapshot saved with the real
 * etcdctl from a running 1-member tsetcd is restored into three data dirs with a new membership;
 * a 3-member cluster starts from them with the keys, their revisions (create, mod, version),
 * leases and the compaction mark kept, and new ids derived from --initial-cluster and the token.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalCluster, eventually } from '../cluster/harness.js';
import { ours } from './ctl-harness.js';
import { computeClusterId, computeMemberId } from '../../src/cli/member-id.js';

const NAMES = ['r1', 'r2', 'r3'];
const TOKEN = 'restored-token';
const scratch = mkdtempSync(join(tmpdir(), 'tsetcd-restore-'));
const clusters: LocalCluster[] = [];

afterAll(async () => {
  await Promise.all(clusters.map((c) => c.destroy()));
  rmSync(scratch, { recursive: true, force: true });
});

interface KvJson {
  key: string;
  create_revision: number;
  mod_revision: number;
  version: number;
  value: string;
  lease?: number;
}

async function getJson(c: LocalCluster, name: string, args: readonly string[]): Promise<{ header: { revision: number }; kvs?: KvJson[] }> {
  return JSON.parse(await c.ok(['get', ...args, '-w', 'json'], [c.endpoint(name)])) as { header: { revision: number }; kvs?: KvJson[] };
}

describe.sequential('snapshot restore', () => {
  let snapshotPath = '';
  let before: { header: { revision: number }; kvs?: KvJson[] } | undefined;
  let leaseId = '';
  let source: LocalCluster;

  it('etcdctl snapshot save from a running member; snapshot status reads the file', async () => {
    source = new LocalCluster();
    clusters.push(source);
    await source.define('s1');
    source.start('s1', ['s1']);
    await eventually('the source member', 20_000, async () => ((await source.ctl(['put', 'k/a', '1'], [source.endpoint('s1')])).code === 0 ? true : undefined));
    await source.ok(['put', 'k/a', '2']);
    await source.ok(['put', 'k/b', 'x']);
    await source.ok(['put', 'k/gone', 'y']);
    await source.ok(['del', 'k/gone']);
    leaseId = /lease ([0-9a-f]+) granted/.exec(await source.ok(['lease', 'grant', '600']))?.[1] ?? '';
    await source.ok(['put', 'k/leased', 'z', `--lease=${leaseId}`]);
    await source.ok(['compaction', '3']);
    await source.ok(['put', 'k/c', 'last']);
    before = await getJson(source, 's1', ['k/', '--prefix']);
    snapshotPath = join(scratch, 'snap.db');
    const saved = await source.ok(['snapshot', 'save', snapshotPath], [source.endpoint('s1')]);
    expect(saved).toContain(`Snapshot saved at ${snapshotPath}`);
    await source.kill9('s1');

    const simple = await ours('127.0.0.1:1', ['snapshot', 'status', snapshotPath]);
    expect(simple.code).toBe(0);
    const [hash, revision, totalKeys, size] = simple.out.trim().split(', ');
    expect(hash).toMatch(/^[0-9a-f]+$/);
    expect(Number(revision)).toBe(before.header.revision);
    expect(Number(totalKeys)).toBeGreaterThan(5);
    expect(size).toMatch(/^\d+(\.\d)? (B|kB|MB)$/);
    const json = JSON.parse((await ours('127.0.0.1:1', ['snapshot', 'status', snapshotPath, '-w', 'json'])).out) as Record<string, number>;
    expect(json['revision']).toBe(before.header.revision);
    expect(json['hash']?.toString(16)).toBe(hash);
    const table = (await ours('127.0.0.1:1', ['snapshot', 'status', snapshotPath, '-w', 'table'])).out.split('\n');
    expect(table[1]).toMatch(/^\| +HASH +\| REVISION \| TOTAL KEYS \| TOTAL SIZE \|$/);
    expect(table[3]).toContain(`| ${' '.repeat(8 - String(before.header.revision).length)}${before.header.revision} |`);
  }, 40_000);

  it('refuses a damaged file, a missing hash without --skip-hash-check, and an existing data dir', async () => {
    const bytes = readFileSync(snapshotPath);
    const flipped = Buffer.from(bytes);
    flipped[20] = (flipped[20] as number) ^ 0xff;
    writeFileSync(join(scratch, 'bad.db'), flipped);
    const bad = await ours('127.0.0.1:1', ['snapshot', 'restore', join(scratch, 'bad.db'), '--data-dir', join(scratch, 'bad')]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/Error: expected sha256 \[/);
    writeFileSync(join(scratch, 'nohash.db'), bytes.subarray(0, bytes.length - 32));
    const noHash = await ours('127.0.0.1:1', ['snapshot', 'restore', join(scratch, 'nohash.db'), '--data-dir', join(scratch, 'nohash')]);
    expect(noHash.err).toContain('Error: snapshot missing hash but --skip-hash-check=false');
    const skipped = await ours('127.0.0.1:1', ['snapshot', 'restore', join(scratch, 'nohash.db'), '--data-dir', join(scratch, 'nohash'), '--skip-hash-check']);
    expect(skipped.code).toBe(0);
    // A bbolt file from real etcd (meta page magic 0xED0CDAED at byte 16) is named, not misread.
    const bolt = Buffer.alloc(4096 + 32);
    bolt.writeUInt32LE(0xed0cdaed, 16);
    writeFileSync(join(scratch, 'bolt.db'), bolt);
    const fromEtcd = await ours('127.0.0.1:1', ['snapshot', 'restore', join(scratch, 'bolt.db'), '--data-dir', join(scratch, 'bolt'), '--skip-hash-check']);
    expect(fromEtcd.err).toContain('is a bbolt database from real etcd; tsetcd restores only snapshots saved from tsetcd members');
    const again = await ours('127.0.0.1:1', ['snapshot', 'restore', snapshotPath, '--data-dir', join(scratch, 'nohash')]);
    expect(again.err).toContain(`Error: data-dir "${join(scratch, 'nohash')}" exists`);
  });

  it('restores into three data dirs; a 3-member cluster starts from them with the data and revisions', async () => {
    const target = new LocalCluster();
    clusters.push(target);
    for (const n of NAMES) await target.define(n);
    const initialCluster = NAMES.map((n) => `${n}=${target.peerUrl(n)}`).join(',');
    for (const n of NAMES) {
      const r = await ours('127.0.0.1:1', [
        'snapshot', 'restore', snapshotPath,
        '--name', n,
        '--data-dir', target.member(n).dataDir,
        '--initial-cluster', initialCluster,
        '--initial-cluster-token', TOKEN,
        '--initial-advertise-peer-urls', target.peerUrl(n),
      ]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toBe('');
      expect(r.err).toContain('"msg":"restored snapshot"');
    }
    // The restored members start as an existing data dir: the start flags' token does not matter.
    for (const n of NAMES) target.start(n, NAMES);
    try {
      await eventually('a leader in the restored cluster', 30_000, () => target.leader(NAMES));
    } catch (error) {
      throw new Error(`${String(error)}\n${target.recentLogs()}`);
    }
    const ids = NAMES.map((n) => computeMemberId([target.peerUrl(n)], TOKEN));
    const members = await eventually('every member published', 20_000, async () => {
      const list = await target.memberList();
      return list.filter((m) => m.status === 'started').length === 3 ? list : undefined;
    });
    expect(members.map((m) => BigInt('0x' + m.id)).sort()).toEqual([...ids].sort());
    for (const n of NAMES) {
      const after = await getJson(target, n, ['k/', '--prefix', '--consistency=s']);
      // Same keys, values and per-key revisions; the store's revision continues from the snapshot.
      expect(after.kvs).toEqual(before?.kvs);
      expect(after.header.revision).toBe(before?.header.revision);
    }
    // etcdctl -w fields prints the 64-bit cluster id as decimal text (JSON would lose precision).
    const fields = await target.ok(['get', 'k/a', '-w', 'fields'], [target.endpoint('r1')]);
    expect(/"ClusterID" : (\d+)/.exec(fields)?.[1]).toBe(computeClusterId(ids).toString());
    // Compaction mark kept: revision 2 was compacted away before the save.
    const old = await target.ctl(['get', 'k/a', '--rev=2'], [target.endpoint('r2')]);
    expect(old.stderr).toContain('etcdserver: mvcc: required revision has been compacted');
    // The lease came along with its key; writes continue at the next revision.
    expect(await target.ok(['lease', 'timetolive', leaseId, '--keys'], [target.endpoint('r3')])).toContain('attached keys([k/leased])');
    const put = JSON.parse(await target.ok(['put', 'k/new', 'v', '-w', 'json'], [target.endpoint('r2')])) as { header: { revision: number } };
    expect(put.header.revision).toBe((before?.header.revision ?? 0) + 1);
  }, 60_000);
});
