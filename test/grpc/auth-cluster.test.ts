/**
 * Auth on a 3-member tsetcd cluster (real processes): a simple token issued by one member works
 * at once on the others (each waits to apply the Authenticate entry, as etcd's index waiter
 * does), and a permission revoked through one member is refused by every member right after.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrpcClient } from '../../src/grpc/index.js';
import type { EtcdGrpcClient } from '../../src/grpc/index.js';
import { freePort } from '../../ci/free-port.js';

const ETCDCTL = '/usr/bin/etcdctl';
const ROOT = new URL('../..', import.meta.url).pathname;


function ctl(endpoint: string, args: readonly string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(ETCDCTL, [`--endpoints=${endpoint}`, '--dial-timeout=3s', '--command-timeout=5s', ...args], { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 20_000 }, (error, out) => {
      resolve({ code: error === null ? 0 : 1, out });
    });
  });
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe.skipIf(!existsSync(ETCDCTL))('auth on a 3-member cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsetcd-auth-cluster-'));
  const children: ChildProcess[] = [];
  const endpoints: string[] = [];
  const clients: EtcdGrpcClient[] = [];

  beforeAll(async () => {
    const ports = await Promise.all([0, 1, 2].map(async () => ({ client: await freePort(), peer: await freePort() })));
    const cluster = ports.map((p, i) => `m${i}=http://127.0.0.1:${p.peer}`).join(',');
    ports.forEach((p, i) => {
      endpoints.push(`127.0.0.1:${p.client}`);
      children.push(
        spawn(
          process.execPath,
          ['--import', 'tsx', 'src/cli/tsetcd.ts', '--name', `m${i}`, '--data-dir', join(dir, `m${i}`), '--listen-client-urls', `http://127.0.0.1:${p.client}`,
            '--advertise-client-urls', `http://127.0.0.1:${p.client}`, '--listen-peer-urls', `http://127.0.0.1:${p.peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${p.peer}`,
            '--initial-cluster', cluster, '--log-level', 'error', '--bcrypt-cost', '4'],
          { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
        ),
      );
    });
    for (let i = 0; i < 200 && (await ctl(endpoints.join(','), ['put', 'ready', '1'])).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
    const e0 = endpoints[0] as string;
    for (const args of [['user', 'add', 'root:rootpw'], ['role', 'add', 'root'], ['user', 'grant-role', 'root', 'root'], ['user', 'add', 'alice:alicepw'],
      ['role', 'add', 'app'], ['role', 'grant-permission', 'app', 'readwrite', 'app/', '--prefix=true'], ['user', 'grant-role', 'alice', 'app'], ['auth', 'enable']]) {
      expect((await ctl(e0, args)).code).toBe(0);
    }
    for (const e of endpoints) clients.push(createGrpcClient(e));
  }, 90_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all(children.map((child) => {
      if (child.exitCode !== null) return Promise.resolve();
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      return exited;
    }));
    rmSync(dir, { recursive: true, force: true });
  });

  it('a token from one member works on every other member at once', async () => {
    for (let round = 0; round < 6; round++) {
      const from = clients[round % 3] as EtcdGrpcClient;
      const { token } = await from.unary('authenticate', { name: 'alice', password: 'alicepw' });
      for (let j = 1; j <= 2; j++) {
        const other = clients[(round + j) % 3] as EtcdGrpcClient;
        await other.unary('put', { key: enc(`app/${round}-${j}`), value: enc('v') }, { token });
      }
    }
    const { token } = await (clients[2] as EtcdGrpcClient).unary('authenticate', { name: 'alice', password: 'alicepw' });
    const range = await (clients[0] as EtcdGrpcClient).unary('range', { key: enc('app/'), rangeEnd: enc('app0') }, { token });
    expect(Number(range.count)).toBe(12);
  });

  it('a revoked permission is refused by every member right after', async () => {
    const c = clients as [EtcdGrpcClient, EtcdGrpcClient, EtcdGrpcClient];
    const { token: rootToken } = await c[0].unary('authenticate', { name: 'root', password: 'rootpw' });
    const { token } = await c[1].unary('authenticate', { name: 'alice', password: 'alicepw' });
    await c[0].unary('roleRevokePermission', { role: 'app', key: enc('app/'), rangeEnd: enc('app0') }, { token: rootToken });
    for (const client of c) {
      await expect(client.unary('put', { key: enc('app/x'), value: enc('v') }, { token })).rejects.toMatchObject({ message: 'etcdserver: permission denied' });
      await expect(client.unary('range', { key: enc('app/x') }, { token })).rejects.toMatchObject({ message: 'etcdserver: permission denied' });
    }
    await expect(c[2].unary('put', { key: enc('app/x'), value: enc('v') })).rejects.toMatchObject({ message: 'etcdserver: user name is empty' });
  });
});
