/**
 * Tries a script (same format as script.txt) with real etcdctl and with tsetcdctl, each against
 * its own fresh real etcd 3.4, and prints the commands whose transcripts differ: a quick way to
 * check new etcdctl behaviour before adding it to the recorded scripts.
 *
 * Usage: npx tsx ci/golden-auth/compare-ctl.ts <script-file> [--show]   (exit 1 on a difference)
 */
import { readFileSync } from 'node:fs';
import { ours } from '../../test/cli/ctl-harness.js';
import { differingCommands, etcdctlRunner, parseScript, runScript, startRealEtcd } from './harness.js';

async function main(): Promise<number> {
  const [file, flag] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: compare-ctl.ts <script-file> [--show]');
  const steps = parseScript(readFileSync(file, 'utf8'));
  const [forEtcdctl, forTsetcdctl] = [await startRealEtcd(), await startRealEtcd()];
  try {
    const want = await runScript(steps, etcdctlRunner(forEtcdctl.endpoint));
    const got = await runScript(steps, (argv, stdin) => ours(forTsetcdctl.endpoint, argv, stdin));
    if (flag === '--show') process.stdout.write(want);
    const differences = differingCommands(want, got);
    process.stdout.write(differences.length === 0 ? `same output for all ${steps.length} commands\n` : differences.join('\n'));
    return differences.length === 0 ? 0 : 1;
  } finally {
    await forEtcdctl.close();
    await forTsetcdctl.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
