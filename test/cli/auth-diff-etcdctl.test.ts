/** The auth scripts against tsetcd with real etcdctl 3.4 (see auth-diff-harness.ts). */
import { describe, it } from 'vitest';
import { SCRIPT_NAMES, etcdctlRunner, hasRealEtcd } from '../../ci/golden-auth/harness.js';
import { judge, playAgainstTsetcd } from './auth-diff-harness.js';

// Concurrent: each case has its own member; most of the time is etcdctl process starts.
describe.skipIf(!hasRealEtcd)('auth scripts with real etcdctl against tsetcd give etcd 3.4 transcripts', () => {
  for (const name of SCRIPT_NAMES) {
    it.concurrent(name, async () => {
      judge(await playAgainstTsetcd(name, etcdctlRunner), name);
    }, 240_000);
  }
});
