/**
 * One tsetcd member (in this process, started from its command-line flags) serving clients
 * over TLS with --client-cert-auth: the real etcdctl with --cacert --cert --key (put, get,
 * watch, member list, endpoint status), tsetcdctl with the same flags giving the same output,
 * the etcd3 npm client with TLS credentials, the HTTP gateway over HTTPS, and the refusals:
 * no certificate, an untrusted certificate, clear text. Last, with auth enabled, the verified
 * certificate's common name is the user when a request carries no token (etcd's AuthInfoFromTLS).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServerFlags } from '../../src/cli/flags.js';
import { startServer } from '../../src/cli/server-process.js';
import type { RunningServer } from '../../src/cli/server-process.js';
import { ours, theirs } from '../cli/ctl-harness.js';
import { etcdctl, eventually, freePort, makePki } from './harness.js';
import type { Pki } from './harness.js';

const SLOW_MS = 60_000;
let pki: Pki;
let server: RunningServer;
let dataDir: string;
let url: string;
let port: number;
let tlsArgs: string[];

beforeAll(async () => {
  pki = makePki(['alice', 'root', 'nobody']);
  dataDir = mkdtempSync(join(tmpdir(), 'tsetcd-tls-one-'));
  port = await freePort();
  const peerPort = await freePort();
  url = `https://127.0.0.1:${port}`;
  const flags = parseServerFlags(
    [
      '--data-dir', dataDir,
      '--listen-client-urls', url,
      '--advertise-client-urls', url,
      '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--cert-file', pki.server.cert,
      '--key-file', pki.server.key,
      '--trusted-ca-file', pki.caFile,
      '--client-cert-auth',
      '--log-level', 'error',
    ],
    {},
  );
  server = await startServer(flags, { onRemoved: () => undefined });
  const alice = pki.clients.get('alice');
  if (alice === undefined) throw new Error('no alice');
  tlsArgs = ['--cacert', pki.caFile, '--cert', alice.cert, '--key', alice.key];
  await eventually('the member to serve over TLS', 20_000, async () => ((await etcdctl([`--endpoints=${url}`, ...tlsArgs, 'endpoint', 'health'])).code === 0 ? true : undefined));
}, SLOW_MS);

afterAll(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(pki.dir, { recursive: true, force: true });
});

const ctl = (args: readonly string[]): ReturnType<typeof etcdctl> => etcdctl([`--endpoints=${url}`, ...tlsArgs, ...args]);

describe('real etcdctl over TLS with client certificates', { timeout: SLOW_MS }, () => {
  it('put, get, member list and endpoint status', async () => {
    expect((await ctl(['put', 'tls/a', 'one'])).stdout).toBe('OK\n');
    expect((await ctl(['get', 'tls/a'])).stdout).toBe('tls/a\none\n');
    const members = (await ctl(['member', 'list', '-w', 'simple'])).stdout.trim().split(', ');
    expect(members[2]).toBe('default');
    expect(members[4]).toBe(url);
    const status = (await ctl(['endpoint', 'status', '-w', 'simple'])).stdout.split(', ');
    expect(status[0]).toBe(url);
    expect(status[4]).toBe('true');
    // A bare endpoint dials TLS too once certificates are given (etcdctl's rule).
    const bare = await etcdctl([`--endpoints=127.0.0.1:${port}`, ...tlsArgs, 'get', 'tls/a', '--print-value-only']);
    expect(bare.stdout).toBe('one\n');
  });

  it('watch sees a put made while it runs', async () => {
    const child = spawn('etcdctl', [`--endpoints=${url}`, ...tlsArgs, 'watch', 'tls/w'], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      await eventually('the watch to see the put', 20_000, async () => {
        await ctl(['put', 'tls/w', 'seen']);
        return out.includes('PUT\ntls/w\nseen\n') ? true : undefined;
      });
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('refuses a client without a certificate, with an untrusted one, and in clear text', async () => {
    const noCert = await etcdctl([`--endpoints=${url}`, '--cacert', pki.caFile, '--dial-timeout=1s', '--command-timeout=2s', 'get', 'tls/a']);
    expect(noCert.code).not.toBe(0);
    expect(noCert.stdout).toBe('');
    const untrusted = await etcdctl([`--endpoints=${url}`, '--cacert', pki.caFile, '--cert', pki.untrusted.cert, '--key', pki.untrusted.key, '--dial-timeout=1s', '--command-timeout=2s', 'get', 'tls/a']);
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.stdout).toBe('');
    const plain = await etcdctl([`--endpoints=http://127.0.0.1:${port}`, '--dial-timeout=1s', '--command-timeout=2s', 'put', 'tls/plain', 'x']);
    expect(plain.code).not.toBe(0);
    expect((await ctl(['get', 'tls/plain'])).stdout).toBe('');
  });
});

describe('tsetcdctl over TLS', { timeout: SLOW_MS }, () => {
  it('gives etcdctl\'s output with the same flags', async () => {
    await ctl(['put', 'tls/same', 'value']);
    for (const argv of [
      ['get', 'tls/same'],
      ['get', 'tls/', '--prefix', '--keys-only'],
      ['member', 'list'],
      ['put', 'tls/same', 'again'],
    ]) {
      const theirRun = await theirs(url, [...tlsArgs, ...argv]);
      const ourRun = await ours(url, [...tlsArgs, ...argv]);
      expect({ argv, out: ourRun.out, code: ourRun.code }).toEqual({ argv, out: theirRun.out, code: theirRun.code });
    }
  });

  it('is refused without a certificate, and --insecure-transport=false --insecure-skip-tls-verify needs no CA', async () => {
    const noCert = await ours(url, ['--cacert', pki.caFile, '--dial-timeout=1s', '--command-timeout=2s', 'get', 'tls/same']);
    expect(noCert.code).not.toBe(0);
    expect(noCert.err).toMatch(/^Error: /);
    const alice = pki.clients.get('alice');
    if (alice === undefined) throw new Error('no alice');
    const skip = await ours(url, ['--cert', alice.cert, '--key', alice.key, '--insecure-transport=false', '--insecure-skip-tls-verify', 'get', 'tls/same', '--print-value-only']);
    expect(skip).toEqual({ out: 'again\n', err: '', code: 0 });
  });
});

describe('etcd3 npm client over TLS', { timeout: SLOW_MS }, () => {
  it('works with its credentials option and is refused without a client certificate', async () => {
    const alice = pki.clients.get('alice');
    if (alice === undefined) throw new Error('no alice');
    const client = new Etcd3({
      hosts: url,
      credentials: { rootCertificate: readFileSync(pki.caFile), certChain: readFileSync(alice.cert), privateKey: readFileSync(alice.key) },
    });
    const noCert = new Etcd3({ hosts: url, credentials: { rootCertificate: readFileSync(pki.caFile) }, dialTimeout: 1000 });
    try {
      await client.put('tls/npm').value('from etcd3');
      expect(await client.get('tls/npm').string()).toBe('from etcd3');
      expect(await client.getAll().prefix('tls/npm').count()).toBe(1);
      await expect(noCert.get('tls/npm').string()).rejects.toThrow();
    } finally {
      client.close();
      noCert.close();
    }
  });
});

function get(path: string, body?: string, withCert = true): Promise<{ status: number; text: string }> {
  const alice = pki.clients.get('alice');
  if (alice === undefined) throw new Error('no alice');
  const creds = withCert ? { cert: readFileSync(alice.cert), key: readFileSync(alice.key) } : {};
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', ca: readFileSync(pki.caFile), ...creds }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('HTTP gateway over HTTPS', { timeout: SLOW_MS }, () => {
  it('serves /health, /version, /metrics and /v3/kv on the TLS client port', async () => {
    expect(JSON.parse((await get('/health')).text)).toMatchObject({ health: 'true' });
    expect(JSON.parse((await get('/version')).text)).toHaveProperty('etcdserver');
    expect((await get('/metrics')).text).toContain('etcd_server_has_leader 1');
    const put = await get('/v3/kv/put', JSON.stringify({ key: Buffer.from('tls/gw').toString('base64'), value: Buffer.from('json').toString('base64') }));
    expect(put.status).toBe(200);
    expect((await ctl(['get', 'tls/gw', '--print-value-only'])).stdout).toBe('json\n');
    const range = JSON.parse((await get('/v3/kv/range', JSON.stringify({ key: Buffer.from('tls/gw').toString('base64') }))).text) as { kvs: { value: string }[] };
    expect(Buffer.from(range.kvs[0]?.value ?? '', 'base64').toString()).toBe('json');
    await expect(get('/health', undefined, false)).rejects.toThrow();
  });
});

describe('client certificate common name as the user when auth is enabled', { timeout: SLOW_MS }, () => {
  const as = (cn: string, args: readonly string[]): ReturnType<typeof etcdctl> => {
    const files = pki.clients.get(cn);
    if (files === undefined) throw new Error(`no certificate for ${cn}`);
    return etcdctl([`--endpoints=${url}`, '--cacert', pki.caFile, '--cert', files.cert, '--key', files.key, ...args]);
  };

  it('a request without a token runs as the certificate\'s CN; a token wins over it', async () => {
    for (const args of [
      ['user', 'add', 'root', '--new-user-password=rootpw'],
      ['user', 'grant-role', 'root', 'root'],
      ['user', 'add', 'alice', '--new-user-password=alicepw'],
      ['role', 'add', 'reader'],
      ['role', 'grant-permission', 'reader', 'read', 'tls/', '--prefix'],
      ['user', 'grant-role', 'alice', 'reader'],
      ['auth', 'enable'],
    ]) {
      const r = await as('alice', args);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
    }
    // alice may read tls/ but not write; root may do anything; "nobody" is no user at all.
    expect((await as('alice', ['get', 'tls/a', '--print-value-only'])).stdout).toBe('one\n');
    const denied = await as('alice', ['put', 'tls/a', 'two']);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('Error: etcdserver: permission denied');
    expect((await as('root', ['put', 'tls/a', 'two'])).stdout).toBe('OK\n');
    const nobody = await as('nobody', ['get', 'tls/a']);
    expect(nobody.code).not.toBe(0);
    expect(nobody.stderr).toContain('Error: etcdserver: permission denied');
    // With --user the token decides, whatever the certificate says.
    expect((await as('alice', ['--user', 'root:rootpw', 'put', 'tls/a', 'three'])).stdout).toBe('OK\n');
    expect((await as('nobody', ['--user', 'alice:alicepw', 'get', 'tls/a', '--print-value-only'])).stdout).toBe('three\n');
    // tsetcdctl takes the same path.
    const alice = pki.clients.get('alice');
    if (alice === undefined) throw new Error('no alice');
    const ourDenied = await ours(url, ['--cacert', pki.caFile, '--cert', alice.cert, '--key', alice.key, 'put', 'tls/a', 'x']);
    expect(ourDenied.err).toBe('Error: etcdserver: permission denied\n');
    expect((await ours(url, ['--cacert', pki.caFile, '--cert', alice.cert, '--key', alice.key, 'get', 'tls/a', '--print-value-only'])).out).toBe('three\n');
  });

  it('the gateway refuses /v3/ requests from a certificate with a CN while auth is on, as etcd 3.4 does', async () => {
    const refused = await get('/v3/kv/range', JSON.stringify({ key: Buffer.from('tls/a').toString('base64') }));
    expect(refused).toEqual({ status: 400, text: 'CommonName of client sending a request against gateway will be ignored and not used as expected\n' });
    expect((await get('/health')).status).toBe(200);
  });
});
