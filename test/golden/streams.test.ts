/**
 * Issue 6: watch and lease scripts recorded from real etcd 3.4 (ci/golden/recorded-streams, by
 * `npm run golden:record`) replayed with the real etcdctl against a fresh tsetcd process each:
 * the normalised transcripts (ids out; revisions, events, prev_kv, compact_revision, cancels,
 * errors, exit codes in) must be identical. Remaining TTLs depend on how long the machine took
 * between steps, so each is checked against etcd's truncation rule for the time measured around
 * it, in etcd's recording and in tsetcd's run alike.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalCluster, eventually } from '../cluster/harness.js';
import { normalise, playScript, ttlWindows } from '../../ci/golden/streams.js';
import type { StreamRecord, StreamScript, Transcript } from '../../ci/golden/streams.js';

const GOLDEN = join(import.meta.dirname, '../../ci/golden');
const scripts = (JSON.parse(readFileSync(join(GOLDEN, 'streams.json'), 'utf8')) as { scripts: StreamScript[] }).scripts;
const recorded = new Map(
  readdirSync(join(GOLDEN, 'recorded-streams'))
    .filter((f) => f.endsWith('.json'))
    .map((f) => {
      const t = JSON.parse(readFileSync(join(GOLDEN, 'recorded-streams', f), 'utf8')) as Transcript;
      return [t.name, t] as const;
    }),
);
const clusters: LocalCluster[] = [];

afterAll(async () => {
  await Promise.all(clusters.map((c) => c.destroy()));
});

const TTL = /"ttl":(-?\d+)/;

/** Compares two normalised records with the remaining TTL blanked (ttlWindows judges it). */
function compareRecord(got: StreamRecord, want: StreamRecord, label: string): void {
  const blank = (r: StreamRecord): StreamRecord => (r.stdout === undefined ? r : { ...r, stdout: r.stdout.replace(TTL, (m, ttl: string) => (Number(ttl) >= 0 ? '"ttl":~' : m)) });
  expect(blank(got), label).toEqual(blank(want));
}

/** Every live TTL answered is the one etcd's truncation gives for the time that passed. */
function checkTtls(t: Transcript, who: string): number {
  const windows = ttlWindows(t);
  for (const [i, w] of windows) expect(w.ttl, `${who} step ${i}: ttl ${w.ttl} outside [${w.min}, ${w.max}]`).toSatisfy((ttl: number) => ttl >= w.min && ttl <= w.max);
  return windows.size;
}

describe.concurrent('watch and lease goldens recorded from etcd 3.4', () => {
  it('has a recording for every script', () => {
    expect(scripts.length).toBeGreaterThanOrEqual(4);
    for (const s of scripts) expect(recorded.has(s.name), s.name).toBe(true);
  });

  for (const script of scripts) {
    it(`tsetcd answers ${script.name} as etcd did`, async () => {
      const cluster = new LocalCluster();
      clusters.push(cluster);
      await cluster.define('g');
      cluster.start('g', ['g']);
      await eventually('tsetcd to serve', 30_000, async () => ((await cluster.ctl(['get', 'probe'], [cluster.endpoint('g')])).code === 0 ? true : undefined));
      const raw = await playScript(cluster.endpoint('g'), script, 'tsetcd');
      const etcdRaw = recorded.get(script.name) as Transcript;
      // The truncation rule holds for etcd's own recording and for tsetcd's run.
      expect(checkTtls(etcdRaw, 'etcd')).toBe(checkTtls(raw, 'tsetcd'));
      const ours = normalise(raw);
      const theirs = normalise(etcdRaw);
      expect(ours.length).toBe(theirs.length);
      ours.forEach((r, i) => compareRecord(r, theirs[i] as StreamRecord, `${script.name} step ${i}: ${JSON.stringify(theirs[i]?.step)}`));
      if (script.name.startsWith('lease-ttl')) expect(ttlWindows(raw).size).toBeGreaterThanOrEqual(2);
    }, 45_000);
  }
});
