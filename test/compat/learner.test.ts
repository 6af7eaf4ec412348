/**
 * Issue 7: a learner refuses what etcd 3.4's interceptors refuse ("etcdserver: rpc not supported
 * for learner"): everything but Maintenance.Status and serializable Range, and every stream.
 * The same etcdctl script runs against a real etcd 3.4 voter + learner and a tsetcd one; exit
 * codes, error lines and read outputs must be identical. Both clusters run side by side.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../cluster/harness.js';
import { RealEtcdCluster, haveEtcd } from './etcd-harness.js';
import { runLearnerScript } from './learner-script.js';

const clusters: LocalCluster[] = [];

afterAll(async () => {
  await Promise.all(clusters.map((c) => c.destroy()));
});

describe('learner refusals', () => {
  it.runIf(haveEtcd())('etcdctl against a learner answers as real etcd 3.4 does', async () => {
    const etcd = new RealEtcdCluster();
    const ours = new LocalCluster();
    clusters.push(etcd, ours);
    const [expected, actual] = await Promise.all([
      runLearnerScript(etcd).catch((e: unknown) => Promise.reject(new Error(`etcd: ${String(e)}\n${etcd.recentLogs()}`))),
      runLearnerScript(ours).catch((e: unknown) => Promise.reject(new Error(`tsetcd: ${String(e)}\n${ours.recentLogs()}`))),
    ]);
    // Sanity: the script really hit the learner rule on etcd, so agreeing means something.
    expect(expected.find((o) => o.command === 'put a b')?.error).toBe('Error: etcdserver: rpc not supported for learner');
    expect(expected.find((o) => o.command === 'get foo --consistency=s')?.out).toBe('foo\nbar\n');
    expect(actual).toEqual(expected);
    // The gateway obeys the same rule, and a learner's /health reads locally (it is healthy).
    const put = await fetch(`http://${ours.endpoint('l1')}/v3/kv/put`, { method: 'POST', body: '{"key":"YQ==","value":"Yg=="}' });
    expect(await put.json()).toMatchObject({ message: 'etcdserver: rpc not supported for learner', code: 14 });
    const health = await fetch(`http://${ours.endpoint('l1')}/health`);
    expect(health.status).toBe(200);
  }, 60_000);
});
