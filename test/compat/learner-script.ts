/**
 * The learner script run against real etcd and tsetcd alike: one voter, one learner added with
 * `etcdctl member add --learner`, then every etcdctl command sent to the learner alone. Outputs
 * are reduced to what must match: exit code and the error line (or stdout for reads).
 */
import type { LocalCluster } from '../cluster/harness.js';
import { eventually } from '../cluster/harness.js';

export interface LearnerOutcome {
  readonly command: string;
  readonly code: number;
  /** stdout for commands whose output carries no ids; '' otherwise. */
  readonly out: string;
  readonly error: string;
}

/** Commands sent to the learner; `ids` marks outputs with member ids or versions in them. */
export const LEARNER_COMMANDS: ReadonlyArray<{ readonly args: readonly string[]; readonly ids?: boolean }> = [
  { args: ['put', 'a', 'b'] },
  { args: ['get', 'foo'] },
  { args: ['get', 'foo', '--consistency=s'] },
  { args: ['get', 'f', '--prefix', '--consistency=s', '-w', 'json'], ids: true },
  { args: ['del', 'foo'] },
  { args: ['compaction', '1'] },
  { args: ['lease', 'grant', '10'] },
  { args: ['lease', 'list'] },
  { args: ['member', 'list'] },
  { args: ['endpoint', 'status'], ids: true },
  { args: ['endpoint', 'hashkv'] },
  { args: ['alarm', 'list'] },
  { args: ['defrag'] },
  { args: ['move-leader', '1'] },
  // A stream: refused outright; etcdctl retries it until its command timeout.
  { args: ['snapshot', 'save', '/dev/null', '--command-timeout=2s'] },
];

export async function runLearnerScript(cluster: LocalCluster): Promise<LearnerOutcome[]> {
  await cluster.define('v1');
  await cluster.define('l1');
  cluster.start('v1', ['v1']);
  await eventually('the voter to serve', 20_000, async () => ((await cluster.ctl(['put', 'foo', 'bar'], [cluster.endpoint('v1')])).code === 0 ? true : undefined));
  await cluster.ok(['member', 'add', 'l1', '--learner', `--peer-urls=${cluster.peerUrl('l1')}`], [cluster.endpoint('v1')]);
  cluster.start('l1', ['v1', 'l1'], 'existing');
  const l1 = [cluster.endpoint('l1')];
  await eventually('the learner to catch up', 20_000, async () => ((await cluster.ctl(['get', 'foo', '--consistency=s', '--print-value-only'], l1)).stdout.trim() === 'bar' ? true : undefined));
  // Refused reads are retried by etcdctl for about 3 s each: run the commands side by side.
  return Promise.all(
    LEARNER_COMMANDS.map(async ({ args, ids }) => {
      const r = await cluster.ctl(args, l1);
      const error = r.stderr.split('\n').find((l) => l.startsWith('Error')) ?? '';
      return { command: args.join(' '), code: r.code, out: ids === true || r.code !== 0 ? '' : r.stdout, error: error.replace(/\[[0-9.:]+\]/, '[endpoint]') };
    }),
  );
}
