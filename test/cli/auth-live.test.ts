/**
 * tsetcdctl's user/role/auth commands against real etcd 3.4 (when installed): the auth scripts
 * of ci/golden-auth, run with tsetcdctl in place of etcdctl against a fresh etcd, must give
 * etcdctl's recorded transcripts line for line. This isolates the client: same server, other CLI.
 * If etcd's behaviour itself moved, re-record with `npx tsx ci/golden-auth/record.ts`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GOLDEN_DIR, SCRIPT_NAMES, differingCommands, hasRealEtcd, parseScript, runScript, startRealEtcd } from '../../ci/golden-auth/harness.js';
import { ours } from './ctl-harness.js';

describe.skipIf(!hasRealEtcd)('tsetcdctl auth commands against real etcd 3.4', () => {
  for (const name of SCRIPT_NAMES) {
    it(`${name}: same transcript as etcdctl`, async () => {
      const steps = parseScript(readFileSync(join(GOLDEN_DIR, `${name}.txt`), 'utf8'));
      const want = readFileSync(join(GOLDEN_DIR, 'recorded', `${name}.txt`), 'utf8');
      const etcd = await startRealEtcd();
      try {
        const got = await runScript(steps, (argv, stdin) => ours(etcd.endpoint, argv, stdin));
        expect(differingCommands(want, got).join('\n')).toBe('');
      } finally {
        await etcd.close();
      }
    }, 240_000);
  }
});
