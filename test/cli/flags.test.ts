import { describe, expect, it } from 'vitest';
import { FlagError, parseServerFlags } from '../../src/cli/flags.js';
import { computeClusterId, computeMemberId } from '../../src/cli/member-id.js';

const IC = 'n1=http://127.0.0.1:2380,n2=http://127.0.0.1:22380,n3=http://127.0.0.1:32380';

describe('server flags for clusters', () => {
  it('parses a multi-member --initial-cluster and the join state', () => {
    const f = parseServerFlags(
      ['--name', 'n2', '--initial-cluster', IC, '--initial-cluster-state=existing', '--initial-advertise-peer-urls', 'http://127.0.0.1:22380'],
      {},
    );
    expect([...f.initialCluster.keys()]).toEqual(['n1', 'n2', 'n3']);
    expect(f.initialCluster.get('n2')).toEqual(['http://127.0.0.1:22380']);
    expect(f.initialClusterState).toBe('existing');
    expect(f.snapshotCatchUpEntries).toBe(5000);
  });

  it('takes ETCD_* variables, with flags winning', () => {
    const f = parseServerFlags(['--snapshot-count', '7'], {
      ETCD_NAME: 'x',
      ETCD_SNAPSHOT_COUNT: '9',
      ETCD_EXPERIMENTAL_SNAPSHOT_CATCHUP_ENTRIES: '3',
    });
    expect(f.name).toBe('x');
    expect(f.snapshotCount).toBe(7);
    expect(f.snapshotCatchUpEntries).toBe(3);
  });

  it('refuses a cluster without this member and a bad state', () => {
    expect(() => parseServerFlags(['--name', 'n9', '--initial-cluster', IC], {})).toThrow(FlagError);
    expect(() => parseServerFlags(['--initial-cluster-state', 'maybe'], {})).toThrow(/new or existing/);
    expect(() => parseServerFlags(['--experimental-snapshot-catchup-entries', '0'], {})).toThrow(FlagError);
  });

  it('derives the same member and cluster ids on every member from the same flags', () => {
    const ids = ['http://127.0.0.1:2380', 'http://127.0.0.1:22380', 'http://127.0.0.1:32380'].map((u) => computeMemberId([u], 'tok'));
    expect(new Set(ids).size).toBe(3);
    expect(computeMemberId(['http://127.0.0.1:2380'], 'tok')).toBe(ids[0]);
    expect(computeMemberId(['http://127.0.0.1:2380'], 'other')).not.toBe(ids[0]);
    expect(computeClusterId([...ids].reverse())).toBe(computeClusterId(ids));
  });
});
