/**
 * Real etcdctl 3.4 against a tsetcd process with auth: users, roles, auth enable, reads and
 * writes with and without --user, a watch refused for lack of READ, a lease revoke refused for
 * lack of WRITE on its keys, admin-only maintenance; and the same with JWT tokens (RS256).
 * Each server gets free ports and a temp data dir and is killed after its suite.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../ci/free-port.js';

const ETCDCTL = '/usr/bin/etcdctl';
const ROOT = new URL('../..', import.meta.url).pathname;


interface Ctl {
  code: number;
  out: string;
  err: string;
}

class Server {
  private child: ChildProcess | undefined;
  endpoint = '';
  constructor(private readonly dir: string) {}

  async start(extra: readonly string[]): Promise<void> {
    const [client, peer] = [await freePort(), await freePort()];
    this.endpoint = `127.0.0.1:${client}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    this.child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/tsetcd.ts', '--name', 'a', '--data-dir', this.dir, '--listen-client-urls', `http://${this.endpoint}`,
        '--advertise-client-urls', `http://${this.endpoint}`, '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
        '--log-level', 'error', '--bcrypt-cost', '4', ...extra],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    for (let i = 0; i < 150; i++) {
      if ((await this.ctl(['endpoint', 'health'])).code === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('tsetcd did not become healthy');
  }

  ctl(args: readonly string[], stdin = ''): Promise<Ctl> {
    return new Promise((resolve) => {
      const child = execFile(ETCDCTL, [`--endpoints=${this.endpoint}`, '--dial-timeout=3s', '--command-timeout=5s', ...args], { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 20_000 }, (error, out, err) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, out, err: err.split('\n').filter((l) => l.length > 0 && !l.startsWith('{"level"')).join('\n') });
      });
      child.stdin?.end(stdin);
    });
  }

  async ok(args: readonly string[], stdin = ''): Promise<string> {
    const r = await this.ctl(args, stdin);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    return r.out;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** root (root role), alice (readwrite on /a/ prefix, read on "r"), auth on. */
async function setUpUsers(s: Server): Promise<void> {
  await s.ok(['user', 'add', 'root:rootpw']);
  await s.ok(['role', 'add', 'root']);
  await s.ok(['user', 'grant-role', 'root', 'root']);
  await s.ok(['user', 'add', 'alice:alicepw']);
  await s.ok(['role', 'add', 'app']);
  await s.ok(['role', 'grant-permission', 'app', 'readwrite', '/a/', '--prefix=true']);
  await s.ok(['role', 'grant-permission', 'app', 'read', 'r']);
  await s.ok(['user', 'grant-role', 'alice', 'app']);
  expect(await s.ok(['auth', 'enable'])).toBe('Authentication Enabled\n');
}

const hasEtcdctl = existsSync(ETCDCTL);

describe.skipIf(!hasEtcdctl)('etcdctl against tsetcd with auth (simple tokens)', () => {
  const s = new Server(mkdtempSync(join(tmpdir(), 'tsetcd-auth-')));
  beforeAll(async () => {
    await s.start([]);
    await setUpUsers(s);
  }, 60_000);
  afterAll(() => s.stop());

  it('refuses requests without credentials and with a wrong password', async () => {
    expect(await s.ctl(['get', 'x'])).toMatchObject({ code: 1, err: 'Error: etcdserver: user name is empty' });
    expect(await s.ctl(['put', 'x', '1'])).toMatchObject({ code: 1, err: 'Error: etcdserver: user name is empty' });
    expect(await s.ctl(['--user', 'alice:wrong', 'get', 'x'])).toMatchObject({ err: 'Error: etcdserver: authentication failed, invalid user ID or password' });
    expect(await s.ctl(['user', 'list'])).toMatchObject({ code: 1, err: 'Error: etcdserver: user name is empty' });
  });

  it('lets a user do exactly what its roles allow', async () => {
    expect(await s.ok(['--user', 'root:rootpw', 'put', 'x', '1'])).toBe('OK\n');
    expect(await s.ok(['--user', 'alice:alicepw', 'put', '/a/k', 'v'])).toBe('OK\n');
    expect(await s.ok(['--user', 'alice:alicepw', 'get', '/a/', '--prefix'])).toBe('/a/k\nv\n');
    expect(await s.ctl(['--user', 'alice:alicepw', 'get', 'x'])).toMatchObject({ code: 1, err: 'Error: etcdserver: permission denied' });
    expect(await s.ctl(['--user', 'alice:alicepw', 'put', 'r', '1'])).toMatchObject({ code: 1, err: 'Error: etcdserver: permission denied' });
    // a txn is refused when any op of either branch is not allowed
    const txn = 'value("/a/k") = "v"\n\nput /a/ok 1\n\nput x 2\n\n';
    expect(await s.ctl(['--user', 'alice:alicepw', 'txn'], txn)).toMatchObject({ code: 1, err: 'Error: etcdserver: permission denied' });
    expect(await s.ok(['--user', 'root:rootpw', 'get', 'x', '--print-value-only'])).toBe('1\n');
    expect(await s.ctl(['--user', 'alice:alicepw', 'user', 'list'])).toMatchObject({ code: 1, err: 'Error: etcdserver: permission denied' });
    expect(await s.ctl(['--user', 'alice:alicepw', 'defrag'])).toMatchObject({ code: 1 });
    expect(await s.ok(['--user', 'alice:alicepw', 'user', 'get', 'alice'])).toBe('User: alice\nRoles: app\n');
  });

  it('refuses a watch without READ on the whole range, and a lease revoke without WRITE on its keys', async () => {
    const watch = await s.ctl(['--user', 'alice:alicepw', 'watch', '/', '/b']);
    expect(watch.out + watch.err).toContain('permission denied');
    const grant = await s.ok(['--user', 'root:rootpw', 'lease', 'grant', '60']);
    const id = /lease ([0-9a-f]+) granted/.exec(grant)?.[1] ?? '';
    await s.ok(['--user', 'root:rootpw', 'put', 'x', '3', `--lease=${id}`]);
    expect(await s.ctl(['--user', 'alice:alicepw', 'lease', 'revoke', id])).toMatchObject({ code: 1, err: 'Error: failed to revoke lease (etcdserver: permission denied)' });
    expect(await s.ok(['--user', 'root:rootpw', 'lease', 'revoke', id])).toBe(`lease ${id} revoked\n`);
  });

  it('the HTTP gateway: /v3/auth/authenticate gives a token that the Authorization header carries', async () => {
    const post = async (path: string, body: unknown, token?: string): Promise<{ status: number; json: Record<string, unknown> }> => {
      const res = await fetch(`http://${s.endpoint}${path}`, { method: 'POST', body: JSON.stringify(body), headers: token === undefined ? {} : { authorization: token } });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const auth = await post('/v3/auth/authenticate', { name: 'alice', password: 'alicepw' });
    const token = String(auth.json['token']);
    expect(token).toMatch(/^[a-zA-Z]{16}\.\d+$/);
    const key = Buffer.from('/a/http').toString('base64');
    expect((await post('/v3/kv/put', { key, value: key })).json['message']).toBe('etcdserver: user name is empty');
    expect((await post('/v3/kv/put', { key, value: key }, token)).status).toBe(200);
    expect((await post('/v3/kv/range', { key: Buffer.from('x').toString('base64') }, token)).json['message']).toBe('etcdserver: permission denied');
    expect((await post('/v3/kv/range', { key }, 'forged.1')).json['message']).toBe('etcdserver: invalid auth token');
  });

  it('auth disable opens everything again', async () => {
    expect(await s.ok(['--user', 'root:rootpw', 'auth', 'disable'])).toBe('Authentication Disabled\n');
    expect(await s.ok(['get', '/a/k', '--print-value-only'])).toBe('v\n');
    expect(await s.ok(['user', 'list'])).toBe('alice\nroot\n');
  });
});

describe.skipIf(!hasEtcdctl)('etcdctl against tsetcd with JWT tokens', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsetcd-jwt-'));
  const s = new Server(join(dir, 'data'));
  beforeAll(async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'priv.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(dir, 'pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    await s.start(['--auth-token', `jwt,pub-key=${join(dir, 'pub.pem')},priv-key=${join(dir, 'priv.pem')},sign-method=RS256,ttl=5m`]);
    await setUpUsers(s);
  }, 60_000);
  afterAll(async () => {
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('authenticates with signed tokens and checks permissions', async () => {
    expect(await s.ok(['--user', 'alice:alicepw', 'put', '/a/j', 'w'])).toBe('OK\n');
    expect(await s.ctl(['--user', 'alice:alicepw', 'get', 'x'])).toMatchObject({ code: 1, err: 'Error: etcdserver: permission denied' });
    expect(await s.ok(['--user', 'root:rootpw', 'get', '/a/j', '--print-value-only'])).toBe('w\n');
  });
});
