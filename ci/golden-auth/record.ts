/**
 * Records real etcd 3.4's transcripts of the auth scripts into recorded/<name>.txt: a fresh
 * single-member etcd per script (free ports, temp data dir, killed afterwards), each line run
 * with /usr/bin/etcdctl. Usage: npx tsx ci/golden-auth/record.ts [script|heldout ...]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GOLDEN_DIR, SCRIPT_NAMES, etcdctlRunner, hasRealEtcd, parseScript, runScript, startRealEtcd } from './harness.js';

async function main(): Promise<void> {
  if (!hasRealEtcd) throw new Error('needs /usr/bin/etcd and /usr/bin/etcdctl (ci/install-system-deps.sh)');
  const wanted = process.argv.slice(2);
  for (const name of SCRIPT_NAMES) {
    if (wanted.length > 0 && !wanted.includes(name)) continue;
    const steps = parseScript(readFileSync(join(GOLDEN_DIR, `${name}.txt`), 'utf8'));
    const etcd = await startRealEtcd();
    try {
      const transcript = await runScript(steps, etcdctlRunner(etcd.endpoint));
      writeFileSync(join(GOLDEN_DIR, 'recorded', `${name}.txt`), transcript);
      process.stdout.write(`recorded ${name}: ${steps.length} commands\n`);
    } finally {
      await etcd.close();
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
