/**
 * Real 3-member tsetcd clusters with peer TLS, driven by the real etcdctl:
 * - CA-signed peer and client certificates with --peer-client-cert-auth and --client-cert-auth:
 *   a leader is elected over https peer links, writes replicate to every member, and a fourth
 *   member added with an https peer URL joins (its member-list fetch goes over TLS);
 * - --peer-auto-tls and --auto-tls: self-signed certificates in <data-dir>/fixtures/{peer,client},
 *   the cluster forms, and etcdctl reaches it with --insecure-skip-tls-verify
 *   (and --insecure-transport=false, which etcdctl 3.4 needs for an https endpoint without a CA).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TlsCluster, etcdctl, eventually, makePki } from './harness.js';
import type { CtlResult, Pki } from './harness.js';

const SLOW_MS = 120_000;
let pki: Pki;
const clusters: TlsCluster[] = [];
let caCluster: TlsCluster;
let autoCluster: TlsCluster;
const CA_NAMES = ['t1', 't2', 't3'];
const AUTO_NAMES = ['a1', 'a2', 'a3'];

// Both clusters start at once: most of their start-up is waiting (process start, elections),
// and overlapping it keeps the file near half the time of starting them one after the other.
beforeAll(async () => {
  pki = makePki(['root']);
  caCluster = new TlsCluster('https', 'https', [
    '--cert-file', pki.server.cert, '--key-file', pki.server.key, '--trusted-ca-file', pki.caFile, '--client-cert-auth',
    '--peer-cert-file', pki.server.cert, '--peer-key-file', pki.server.key, '--peer-trusted-ca-file', pki.caFile, '--peer-client-cert-auth',
  ]);
  autoCluster = new TlsCluster('https', 'https', ['--auto-tls', '--peer-auto-tls']);
  clusters.push(caCluster, autoCluster);
  for (const n of CA_NAMES) await caCluster.define(n);
  for (const n of AUTO_NAMES) await autoCluster.define(n);
  for (const n of CA_NAMES) caCluster.start(n, CA_NAMES);
  for (const n of AUTO_NAMES) autoCluster.start(n, AUTO_NAMES);
}, SLOW_MS);

afterAll(async () => {
  await Promise.all(clusters.map((c) => c.destroy()));
});

async function leaderOf(c: TlsCluster, names: readonly string[], ctl: (name: string, args: string[]) => Promise<CtlResult>): Promise<string | undefined> {
  const leaders: string[] = [];
  for (const name of names) {
    const r = await ctl(name, ['--dial-timeout=1s', '--command-timeout=2s', 'endpoint', 'status', '-w', 'simple']);
    if (r.code === 0 && r.stdout.split(', ')[4] === 'true') leaders.push(name);
  }
  return leaders.length === 1 ? leaders[0] : undefined;
}

describe('peer TLS with CA-signed certificates and peer client-cert-auth', { timeout: SLOW_MS }, () => {
  let c: TlsCluster;
  let clientTls: string[];
  const names = CA_NAMES;
  const ctl = (name: string, args: string[]): Promise<CtlResult> => etcdctl([`--endpoints=${c.clientUrl(name)}`, ...clientTls, ...args]);

  beforeAll(() => {
    c = caCluster;
    const root = pki.clients.get('root');
    if (root === undefined) throw new Error('no root cert');
    clientTls = ['--cacert', pki.caFile, '--cert', root.cert, '--key', root.key];
  });

  it('elects a leader over https peer links and replicates writes to every member', async () => {
    const leader = await eventually(`a leader\n${c.logs()}`, 40_000, () => leaderOf(c, names, ctl));
    expect(names).toContain(leader);
    expect((await ctl(leader, ['put', 'peer/k', 'v1'])).stdout).toBe('OK\n');
    for (const n of names) {
      await eventually(`${n} to have the write`, 20_000, async () => {
        const r = await ctl(n, ['get', 'peer/k', '--consistency=s', '--print-value-only']);
        return r.stdout === 'v1\n' ? true : undefined;
      });
    }
    // A follower forwards lease keep-alives and time-to-live to the leader over the TLS peer link.
    const follower = names.find((n) => n !== leader) as string;
    const granted = await ctl(follower, ['lease', 'grant', '60']);
    const leaseId = /lease ([0-9a-f]+) granted/.exec(granted.stdout)?.[1];
    expect(leaseId, granted.stderr).toBeDefined();
    const kept = await ctl(follower, ['lease', 'keep-alive', '--once', leaseId as string]);
    expect(kept.stdout).toMatch(new RegExp(`lease ${leaseId as string} keepalived with TTL\\(6\\d\\)`));
    expect((await ctl(follower, ['lease', 'timetolive', leaseId as string])).stdout).toMatch(/granted with TTL\(60s\)/);
    const members = (await ctl(names[0] as string, ['member', 'list', '-w', 'simple'])).stdout.trim().split('\n');
    expect(members).toHaveLength(3);
    for (const line of members) expect(line).toMatch(/, started, t[123], https:\/\/127\.0\.0\.1:\d+, https:\/\/127\.0\.0\.1:\d+, false$/);
  });

  it('a member added with an https peer URL joins through TLS and catches up', async () => {
    await c.define('t4');
    const added = await ctl('t1', ['member', 'add', 't4', `--peer-urls=${c.peerUrl('t4')}`]);
    expect(added.code).toBe(0);
    c.start('t4', ['t1', 't2', 't3', 't4'], 'existing');
    await eventually(`t4 to serve the earlier write\n${c.logs()}`, 40_000, async () => {
      const r = await ctl('t4', ['get', 'peer/k', '--consistency=s', '--print-value-only']);
      return r.stdout === 'v1\n' ? true : undefined;
    });
    await ctl('t2', ['put', 'peer/k2', 'after-join']);
    await eventually('t4 to receive a new write', 20_000, async () => {
      const r = await ctl('t4', ['get', 'peer/k2', '--consistency=s', '--print-value-only']);
      return r.stdout === 'after-join\n' ? true : undefined;
    });
    // t4 publishes its name and client URLs through Raft after it starts serving (as etcd's
    // publish does), so the member list may still call it unstarted for a moment.
    const started = /, started, t4, https:\/\/127\.0\.0\.1:\d+, https:\/\/127\.0\.0\.1:\d+, false/;
    const list = await eventually('t4 to publish its attributes', 20_000, async () => {
      const out = (await ctl('t4', ['member', 'list', '-w', 'simple'])).stdout;
      return started.test(out) ? out : undefined;
    });
    expect(list).toMatch(started);
  });
});

describe('--peer-auto-tls and --auto-tls', { timeout: SLOW_MS }, () => {
  let c: TlsCluster;
  const names = AUTO_NAMES;
  const skipVerify = ['--insecure-transport=false', '--insecure-skip-tls-verify'];
  const ctl = (name: string, args: string[]): Promise<CtlResult> => etcdctl([`--endpoints=${c.clientUrl(name)}`, ...skipVerify, ...args]);

  beforeAll(() => {
    c = autoCluster;
  });

  it('forms a cluster on self-signed certificates and serves etcdctl --insecure-skip-tls-verify', async () => {
    const leader = await eventually(`a leader\n${c.logs()}`, 40_000, () => leaderOf(c, names, ctl));
    expect((await ctl(leader, ['put', 'auto/k', 'v'])).stdout).toBe('OK\n');
    for (const n of names) {
      await eventually(`${n} to have the write`, 20_000, async () => {
        const r = await ctl(n, ['get', 'auto/k', '--consistency=s', '--print-value-only']);
        return r.stdout === 'v\n' ? true : undefined;
      });
      const dir = c.member(n).dataDir;
      for (const side of ['client', 'peer']) {
        expect(existsSync(join(dir, 'fixtures', side, 'cert.pem'))).toBe(true);
        expect(existsSync(join(dir, 'fixtures', side, 'key.pem'))).toBe(true);
      }
    }
    // Without skipping verification the self-signed certificate is refused, as by etcd.
    const strict = await etcdctl([`--endpoints=${c.clientUrl('a1')}`, '--dial-timeout=1s', '--command-timeout=2s', 'get', 'auto/k']);
    expect(strict.code).not.toBe(0);
  });
});
