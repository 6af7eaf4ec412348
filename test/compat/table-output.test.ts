/**
 * Issue 7: `-w table` as etcdctl 3.4 prints it (tablewriter: borders, centred upper-case
 * header, right-aligned cells). tsetcdctl and the real etcdctl query the same tsetcd member and
 * must print the same bytes (the health table's "took" column aside, a timing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasEtcdctl, ours, startMember, theirs } from '../cli/ctl-harness.js';
import type { Member } from '../cli/ctl-harness.js';
import { renderTable } from '../../src/cli/ctl/table.js';

let member: Member;

beforeAll(async () => {
  member = await startMember();
}, 30_000);

afterAll(async () => {
  await member?.close();
});

describe('-w table', () => {
  it.runIf(hasEtcdctl)('member list, endpoint status, endpoint hashkv and endpoint health match etcdctl byte for byte', async () => {
    await theirs(member.endpoint, ['put', 'k', 'v']);
    const commands = [
      ['member', 'list', '-w', 'table'],
      ['endpoint', 'status', '-w', 'table'],
      ['endpoint', 'status', '-w', 'table', '--cluster'],
      ['endpoint', 'hashkv', '-w', 'table'],
      ['endpoint', 'hashkv', '--rev=2'],
      ['endpoint', 'hashkv', '-w', 'json'],
    ];
    for (const argv of commands) {
      // etcdctl before and after ours: a background write between two calls (raft index, db
      // size) must not fail the layout comparison, so ours must equal one of the two.
      const before = await theirs(member.endpoint, argv);
      const a = await ours(member.endpoint, argv);
      const b = a.out === before.out ? before : await theirs(member.endpoint, argv);
      expect(a.code, argv.join(' ')).toBe(b.code);
      expect(a.out, argv.join(' ')).toBe(b.out);
      if (argv.includes('table')) expect(a.out).toMatch(/^\+-+\+/);
    }
    const took = (text: string): string => text.replace(/\| +[0-9.]+[µnm]?s \|/g, '| <took> |').replace(/-+/g, '-').replace(/ +/g, ' ');
    const [a, b] = await Promise.all([ours(member.endpoint, ['endpoint', 'health', '-w', 'table']), theirs(member.endpoint, ['endpoint', 'health', '-w', 'table'])]);
    expect(took(a.out)).toBe(took(b.out));
    expect(b.out).toMatch(/\| +ENDPOINT +\| HEALTH \|/);
  }, 30_000);

  it('centres headers with the odd space on the right and right-aligns cells, as tablewriter does', () => {
    expect(renderTable(['id', 'peer_addrs'], [['a', 'http://x'], ['bcdef', 'y']])).toBe(
      [
        '+-------+------------+',
        '|  ID   | PEER ADDRS |',
        '+-------+------------+',
        '|     a |   http://x |',
        '| bcdef |          y |',
        '+-------+------------+',
        '',
      ].join('\n'),
    );
  });
});
