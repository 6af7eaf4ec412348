/** The auth scripts against tsetcd with tsetcdctl in place of etcdctl (see auth-diff-harness.ts). */
import { describe, it } from 'vitest';
import { SCRIPT_NAMES } from '../../ci/golden-auth/harness.js';
import { judge, playAgainstTsetcd } from './auth-diff-harness.js';
import { ours } from './ctl-harness.js';

describe('auth scripts with tsetcdctl against tsetcd give etcd 3.4 transcripts', () => {
  for (const name of SCRIPT_NAMES) {
    it(name, async () => {
      judge(await playAgainstTsetcd(name, (endpoint) => (argv, stdin) => ours(endpoint, argv, stdin)), name);
    }, 240_000);
  }
});
