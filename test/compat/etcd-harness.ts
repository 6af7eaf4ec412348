/**
 * Real etcd 3.4 members (Debian's /usr/bin/etcd) with the same shape as test/cluster's
 * LocalCluster: free ports, one temp dir, etcdctl helpers. Used to record what etcd answers and
 * compare tsetcd with it on the same script.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { LocalCluster } from '../cluster/harness.js';

export const ETCD_BINARY = '/usr/bin/etcd';
export const haveEtcd = (): boolean => existsSync(ETCD_BINARY) && existsSync('/usr/bin/etcdctl');

export class RealEtcdCluster extends LocalCluster {
  private readonly etcdToken = `etcd-test-${process.pid}-${Math.floor(Math.random() * 1e9)}`;

  override start(name: string, clusterNames: readonly string[], state: 'new' | 'existing' = 'new'): void {
    const m = this.member(name);
    const initialCluster = clusterNames.map((n) => `${n}=${this.peerUrl(n)}`).join(',');
    const args = [
      '--name', name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', `http://127.0.0.1:${m.clientPort}`,
      '--advertise-client-urls', `http://127.0.0.1:${m.clientPort}`,
      '--listen-peer-urls', this.peerUrl(name),
      '--initial-advertise-peer-urls', this.peerUrl(name),
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', state,
      '--initial-cluster-token', this.etcdToken,
      '--heartbeat-interval', '100',
      '--election-timeout', '1000',
    ];
    const child = spawn(ETCD_BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    m.child = child;
    m.exitCode = undefined;
    const keep = (chunk: Buffer): void => {
      m.logs.push(...chunk.toString('utf8').split('\n').filter((l) => l.length > 0));
      if (m.logs.length > 400) m.logs.splice(0, m.logs.length - 400);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('exit', (code) => {
      if (m.child === child) m.exitCode = code;
    });
  }
}
