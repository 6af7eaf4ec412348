/**
 * Tries a script (same format as script.txt) two ways and prints the commands whose transcripts
 * differ: a quick way to check new behaviour before adding it to the recorded scripts.
 *   default    real etcdctl vs tsetcdctl, each against its own fresh real etcd 3.4 (the client)
 *   --servers  real etcdctl against a fresh real etcd 3.4 vs against a fresh tsetcd (the server)
 * The raft term is not compared in --servers mode (a tsetcd single member reaches term 1, etcd 2).
 *
 * Usage: npx tsx ci/golden-auth/compare-ctl.ts <script-file> [--servers] [--show]   (exit 1 on a difference)
 */
import { readFileSync } from 'node:fs';
import { ours } from '../../test/cli/ctl-harness.js';
import { differingCommands, etcdctlRunner, parseScript, runScript, startRealEtcd } from './harness.js';
import type { CtlRunner } from './harness.js';
import { startTsetcd } from './tsetcd.js';

const withoutTerm = (t: string): string => t.replace(/"raft_term":\d+/g, '"raft_term":T').replace(/"RaftTerm" : \d+/g, '"RaftTerm" : T');

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (file === undefined) throw new Error('usage: compare-ctl.ts <script-file> [--servers] [--show]');
  const servers = args.includes('--servers');
  const steps = parseScript(readFileSync(file, 'utf8'));
  const reference = await startRealEtcd();
  const other = servers ? await startTsetcd() : await startRealEtcd();
  try {
    const otherRunner: CtlRunner = servers ? etcdctlRunner(other.endpoint) : (argv, stdin) => ours(other.endpoint, argv, stdin);
    let want = await runScript(steps, etcdctlRunner(reference.endpoint));
    let got = await runScript(steps, otherRunner);
    if (servers) [want, got] = [withoutTerm(want), withoutTerm(got)];
    if (args.includes('--show')) process.stdout.write(want);
    const differences = differingCommands(want, got);
    process.stdout.write(differences.length === 0 ? `same output for all ${steps.length} commands\n` : differences.join('\n'));
    return differences.length === 0 ? 0 : 1;
  } finally {
    await reference.close();
    await other.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
