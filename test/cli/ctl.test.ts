/**
 * tsetcdctl against real etcdctl 3.4: the same script of commands runs with etcdctl against one
 * fresh tsetcd member and with tsetcdctl against another (same ids, same history), and stdout,
 * stderr and exit codes must match after normalising what legitimately differs (the endpoint's
 * port, lease ids, timings, db sizes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasEtcdctl, ours, startMember, theirs } from './ctl-harness.js';
import type { Member, Run } from './ctl-harness.js';

interface Step {
  readonly argv: readonly string[];
  readonly stdin?: string;
  /** Ctrl-C after this long (watch); exit codes are then not compared. */
  readonly interruptMs?: number;
}

const TXN_SUCCESS = 'value("foo") = "bar2"\n\nput k1 v1\nget foo\ndel nope\n\nput k2 v2\n\n';
const TXN_FAILURE = 'mod("foo") > "100"\nver("foo") != "0"\n\nput k1 v1\n\nget foo --prefix --keys-only\nput k3 v3 --prev-kv\n\n';

const SCRIPT: readonly Step[] = [
  { argv: ['put', 'foo', 'bar'] },
  { argv: ['put', 'foo', 'bar2', '--prev-kv'] },
  { argv: ['put', 'foo2', 'x', '-w', 'json'] },
  { argv: ['put', 'fromstdin'], stdin: 'piped value' },
  { argv: ['put', 'nostdin'] },
  { argv: ['put', 'foo', 'ignored', '--ignore-value'] },
  { argv: ['get', 'foo'] },
  { argv: ['get', 'foo', '-w', 'json'] },
  { argv: ['get', 'foo', '-w', 'fields'] },
  { argv: ['get', 'foo', '--hex'] },
  { argv: ['get', 'f', '--prefix', '--keys-only'] },
  { argv: ['get', 'f', '--prefix', '--print-value-only'] },
  { argv: ['get', '', '--prefix', '--limit', '2', '--sort-by=VALUE', '--order=DESCEND', '-w', 'json'] },
  { argv: ['get', 'a', 'g', '--sort-by', 'CREATE', '--order', 'DESCEND'] },
  { argv: ['get', 'foo', '--from-key', '--keys-only'] },
  { argv: ['get', 'foo', '--consistency=s', '--rev=2'] },
  { argv: ['get', 'foo', '--rev=999'] },
  { argv: ['get'] },
  { argv: ['get', 'a', '--prefix', '--from-key'] },
  { argv: ['get', 'a', 'b', '--prefix'] },
  { argv: ['get', 'foo', '--sort-by=bad'] },
  { argv: ['get', 'foo', '--order=sideways'] },
  { argv: ['get', 'foo', '--consistency=x'] },
  { argv: ['watch', 'foo', '--rev=2', '--prev-kv'], interruptMs: 1500 },
  { argv: ['watch', 'f', '--prefix', '--rev=2', '-w', 'json'], interruptMs: 1500 },
  { argv: ['txn'], stdin: TXN_SUCCESS },
  { argv: ['txn', '-w', 'json'], stdin: TXN_SUCCESS },
  { argv: ['txn'], stdin: TXN_FAILURE },
  { argv: ['txn'], stdin: 'value(foo) = "bar"\n\n\n\n' },
  { argv: ['txn'], stdin: 'nope("foo") = "bar"\n\n\n\n' },
  { argv: ['txn'], stdin: 'mod("foo") > "0"\n\nget foo\n\n' },
  { argv: ['del', 'nope'] },
  { argv: ['del', 'foo2', '--prev-kv'] },
  { argv: ['del', 'k', '--prefix', '-w', 'json'] },
  { argv: ['del'] },
  { argv: ['compaction', '3'] },
  { argv: ['compaction', '2'] },
  { argv: ['compaction'] },
  { argv: ['get', 'foo', '--rev=2'] },
  { argv: ['watch', 'foo', '--rev=1'] },
  { argv: ['lease', 'grant', '100'] },
  { argv: ['lease', 'grant', '50', '-w', 'json'] },
  { argv: ['lease', 'list'] },
  { argv: ['lease', 'revoke', '123'] },
  { argv: ['lease', 'revoke', 'zz'] },
  { argv: ['lease', 'timetolive', '123'] },
  { argv: ['lease', 'timetolive', '123', '-w', 'json'] },
  { argv: ['put', 'x', 'y', '--lease=1234'] },
  { argv: ['member', 'list'] },
  { argv: ['member', 'list', '-w', 'json'] },
  { argv: ['member', 'remove', 'zz'] },
  { argv: ['member', 'add', 'm2'] },
  { argv: ['endpoint', 'status'] },
  { argv: ['endpoint', 'status', '-w', 'json'] },
  { argv: ['endpoint', 'health'] },
  { argv: ['endpoint', 'health', '-w', 'json'] },
];

/** What may differ between two members and two clients running the same script. */
function normalise(run: Run, endpoint: string, step: Step): Run {
  const isLease = step.argv[0] === 'lease';
  const fix = (s: string): string => {
    let t = s
      .replaceAll(endpoint, 'ENDPOINT')
      .replace(/took = [0-9.]+(ns|µs|ms|s)/g, 'took = T')
      .replace(/"took":"[^"]*"/g, '"took":"T"')
      .replace(/"(dbSize|dbSizeInUse)":\d+/g, '"$1":N')
      .replace(/, \d+(\.\d)? (B|kB|MB|GB), /g, ', SIZE, ');
    // Lease ids are drawn per member; only their shape must match.
    if (isLease) t = t.replace(/\b[0-9a-f]{16}\b/g, 'LEASE').replace(/"(ID|id)":\d+/g, '"$1":LEASE');
    return t;
  };
  return { out: fix(run.out), err: fix(run.err).trimEnd(), code: step.interruptMs === undefined ? run.code : 0 };
}

describe.skipIf(!hasEtcdctl)('tsetcdctl matches etcdctl 3.4 on the same script', () => {
  let forEtcdctl: Member;
  let forTsetcdctl: Member;
  beforeAll(async () => {
    [forEtcdctl, forTsetcdctl] = await Promise.all([startMember(), startMember()]);
  }, 30_000);
  afterAll(async () => {
    await Promise.all([forEtcdctl?.close(), forTsetcdctl?.close()]);
  });

  it('prints the same output and exits with the same code for every command', async () => {
    const mismatches: string[] = [];
    for (const step of SCRIPT) {
      const [a, b] = await Promise.all([
        theirs(forEtcdctl.endpoint, step.argv, step.stdin, step.interruptMs),
        ours(forTsetcdctl.endpoint, step.argv, step.stdin, step.interruptMs),
      ]);
      const want = normalise(a, forEtcdctl.endpoint, step);
      const got = normalise(b, forTsetcdctl.endpoint, step);
      if (JSON.stringify(want) !== JSON.stringify(got)) {
        mismatches.push(`$ etcdctl ${step.argv.join(' ')}\n  etcdctl:   ${JSON.stringify(want)}\n  tsetcdctl: ${JSON.stringify(got)}`);
      }
    }
    expect(mismatches.join('\n')).toBe('');
  }, 120_000);

  it('matches on commands that carry the ids the server hands out (leases, new members)', async () => {
    // Each side substitutes its own ids: {LEASE} from its `lease grant`, {MEMBER} from `member add`.
    const steps: readonly Step[] = [
      { argv: ['lease', 'grant', '100'] },
      { argv: ['put', 'leased', 'v', '--lease={LEASE}'] },
      { argv: ['lease', 'timetolive', '{LEASE}', '--keys'] },
      { argv: ['lease', 'timetolive', '{LEASE}', '--keys', '-w', 'json'] },
      { argv: ['lease', 'keep-alive', '--once', '{LEASE}'] },
      { argv: ['lease', 'keep-alive', '--once', '{LEASE}', '-w', 'json'] },
      { argv: ['lease', 'list', '-w', 'json'] },
      { argv: ['lease', 'revoke', '{LEASE}'] },
      { argv: ['lease', 'timetolive', '{LEASE}'] },
      { argv: ['lease', 'timetolive', '{LEASE}', '-w', 'json'] },
      { argv: ['get', 'leased'] },
      { argv: ['member', 'add', 'm2', '--peer-urls=http://127.0.0.1:2390', '--learner'] },
      { argv: ['member', 'list'] },
      { argv: ['member', 'remove', '{MEMBER}'] },
      { argv: ['member', 'list'] },
    ];
    const ids = { etcdctl: { LEASE: '', MEMBER: '' }, tsetcdctl: { LEASE: '', MEMBER: '' } };
    const fill = (argv: readonly string[], side: { LEASE: string; MEMBER: string }): string[] =>
      argv.map((a) => a.replace('{LEASE}', side.LEASE).replace('{MEMBER}', side.MEMBER));
    const capture = (run: Run, side: { LEASE: string; MEMBER: string }): void => {
      side.LEASE = /^lease ([0-9a-f]{16}) granted/.exec(run.out)?.[1] ?? side.LEASE;
      side.MEMBER = /^Member +([0-9a-f]+) added/.exec(run.out)?.[1] ?? side.MEMBER;
    };
    const scrub = (run: Run, side: { LEASE: string; MEMBER: string }, lease: bigint): Run => {
      const fix = (t: string): string => {
        let out = t.replaceAll(side.LEASE, 'LEASE').replaceAll(String(lease), 'LEASE_DEC');
        // %16x pads a short id with spaces; the padding itself is checked in ctl-units.
        if (side.MEMBER !== '') out = out.replaceAll(side.MEMBER, 'MEMBER').replace(/Member +MEMBER/g, 'Member MEMBER');
        // Remaining TTL may tick over between the two runs.
        // Leases left by the first script have per-member ids too.
        out = out.replace(/\{"id":\d+\}/g, '{"id":L}');
        // Members are listed by id, and new member ids are random on both sides, so only the
        // set of members (and of initial-cluster entries) is comparable, not their order.
        out = out.replace(/ETCD_INITIAL_CLUSTER="([^"]*)"/, (_m, list: string) => `ETCD_INITIAL_CLUSTER="${list.split(',').sort().join(',')}"`);
        if (/^[0-9a-fA-FMEMBR]+, (started|unstarted), /m.test(out)) out = out.split('\n').sort().join('\n');
        return out.replace(/remaining\(\d+s\)/g, 'remaining(Rs)').replace(/"ttl":(9\d|100)\b/g, '"ttl":R');
      };
      return { out: fix(run.out), err: fix(run.err).trimEnd(), code: run.code };
    };
    const mismatches: string[] = [];
    for (const step of steps) {
      const [a, b] = await Promise.all([
        theirs(forEtcdctl.endpoint, fill(step.argv, ids.etcdctl), step.stdin),
        ours(forTsetcdctl.endpoint, fill(step.argv, ids.tsetcdctl), step.stdin),
      ]);
      capture(a, ids.etcdctl);
      capture(b, ids.tsetcdctl);
      const want = scrub(a, ids.etcdctl, ids.etcdctl.LEASE === '' ? -1n : BigInt('0x' + ids.etcdctl.LEASE));
      const got = scrub(b, ids.tsetcdctl, ids.tsetcdctl.LEASE === '' ? -1n : BigInt('0x' + ids.tsetcdctl.LEASE));
      if (JSON.stringify(want) !== JSON.stringify(got)) {
        mismatches.push(`$ etcdctl ${step.argv.join(' ')}\n  etcdctl:   ${JSON.stringify(want)}\n  tsetcdctl: ${JSON.stringify(got)}`);
      }
    }
    expect(ids.tsetcdctl.LEASE).toMatch(/^[0-9a-f]{16}$/);
    expect(mismatches.join('\n')).toBe('');
  }, 120_000);

  it('holds a lock and an election until Ctrl-C as etcdctl does', async () => {
    const steps: readonly Step[] = [
      { argv: ['lock', 'mylock'], interruptMs: 1500 },
      { argv: ['elect', 'myelection', 'proposal-1'], interruptMs: 1500 },
      { argv: ['elect'] },
      { argv: ['lock'] },
    ];
    const mismatches: string[] = [];
    for (const step of steps) {
      const [a, b] = await Promise.all([
        theirs(forEtcdctl.endpoint, step.argv, '', step.interruptMs),
        ours(forTsetcdctl.endpoint, step.argv, '', step.interruptMs),
      ]);
      // Keys end in the session's lease id, which each member draws itself.
      const fix = (r: Run, endpoint: string): Run => ({ ...normalise(r, endpoint, step), out: r.out.replace(/[0-9a-f]{16}/g, 'LEASE') });
      const want = fix(a, forEtcdctl.endpoint);
      const got = fix(b, forTsetcdctl.endpoint);
      if (JSON.stringify(want) !== JSON.stringify(got)) {
        mismatches.push(`$ etcdctl ${step.argv.join(' ')}\n  etcdctl:   ${JSON.stringify(want)}\n  tsetcdctl: ${JSON.stringify(got)}`);
      }
    }
    expect(mismatches.join('\n')).toBe('');
  }, 120_000);
});
