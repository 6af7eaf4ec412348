/**
 * The same TLS script against real etcd 3.4 and tsetcd, both started with --cert-file,
 * --key-file, --trusted-ca-file and --client-cert-auth on the same certificates: every etcdctl
 * command, run with a different client certificate (or none, or an untrusted one), must give
 * the same stdout, stderr (without etcdctl's JSON log lines) and exit code on both, through
 * auth being enabled, where the certificate's CN becomes the user. Then the gateway's answer
 * to a certificate with a CN under auth is compared too.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServerFlags } from '../../src/cli/flags.js';
import { startServer } from '../../src/cli/server-process.js';
import type { RunningServer } from '../../src/cli/server-process.js';
import { etcdctl, eventually, freePort, makePki } from './harness.js';
import type { CtlResult, Pki } from './harness.js';

const SLOW_MS = 90_000;
let pki: Pki;
let root: string;
let etcd: ChildProcess | undefined;
let etcdLog = '';
let ours: RunningServer | undefined;
const urls = { etcd: '', tsetcd: '' };

type Who = 'alice' | 'root' | 'nobody' | 'untrusted' | 'none';

function certArgs(who: Who): string[] {
  if (who === 'none') return ['--cacert', pki.caFile];
  const files = who === 'untrusted' ? pki.untrusted : pki.clients.get(who);
  if (files === undefined) throw new Error(`no certificate for ${who}`);
  return ['--cacert', pki.caFile, '--cert', files.cert, '--key', files.key];
}

function tlsFlags(url: string, peerPort: number): string[] {
  return [
    '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
    '--initial-cluster', `default=http://127.0.0.1:${peerPort}`,
    '--cert-file', pki.server.cert, '--key-file', pki.server.key, '--trusted-ca-file', pki.caFile, '--client-cert-auth',
  ];
}

async function ready(url: string): Promise<void> {
  await eventually(`${url} to serve`, 30_000, async () => ((await etcdctl([`--endpoints=${url}`, ...certArgs('root'), 'endpoint', 'health'])).code === 0 ? true : undefined));
}

beforeAll(async () => {
  pki = makePki(['alice', 'root', 'nobody']);
  root = mkdtempSync(join(tmpdir(), 'tsetcd-tls-diff-'));
  const [etcdClient, etcdPeer, ourClient, ourPeer] = [await freePort(), await freePort(), await freePort(), await freePort()];
  urls.etcd = `https://127.0.0.1:${etcdClient}`;
  urls.tsetcd = `https://127.0.0.1:${ourClient}`;
  etcd = spawn('etcd', ['--name', 'default', '--data-dir', join(root, 'etcd'), ...tlsFlags(urls.etcd, etcdPeer)], { stdio: ['ignore', 'pipe', 'pipe'] });
  etcd.stderr?.on('data', (d: Buffer) => (etcdLog = (etcdLog + d.toString()).slice(-4000)));
  ours = await startServer(parseServerFlags(['--data-dir', join(root, 'tsetcd'), '--log-level', 'error', ...tlsFlags(urls.tsetcd, ourPeer)], {}), { onRemoved: () => undefined });
  await Promise.all([ready(urls.etcd), ready(urls.tsetcd)]);
}, SLOW_MS);

afterAll(async () => {
  if (etcd !== undefined && etcd.exitCode === null) {
    const exited = new Promise<void>((r) => etcd?.once('exit', () => r()));
    etcd.kill('SIGKILL');
    await exited;
  }
  await ours?.close();
  rmSync(root, { recursive: true, force: true });
  rmSync(pki.dir, { recursive: true, force: true });
});

/** etcdctl's output without its client-side JSON log lines (they carry timestamps and ids). */
function clean(r: CtlResult): CtlResult {
  return { code: r.code, stdout: r.stdout, stderr: r.stderr.split('\n').filter((l) => !l.startsWith('{"level"')).join('\n') };
}

const SCRIPT: ReadonlyArray<readonly [Who, readonly string[]]> = [
  ['alice', ['put', 'k1', 'v1']],
  ['none', ['get', 'k1']],
  ['untrusted', ['get', 'k1']],
  ['alice', ['get', 'k1']],
  ['alice', ['user', 'add', 'root', '--new-user-password=rootpw']],
  ['alice', ['user', 'add', 'alice', '--new-user-password=alicepw']],
  ['alice', ['role', 'add', 'reader']],
  ['alice', ['role', 'grant-permission', 'reader', 'read', 'k', '--prefix']],
  ['alice', ['user', 'grant-role', 'alice', 'reader']],
  ['alice', ['auth', 'enable']],
  ['alice', ['get', 'k1']],
  ['alice', ['put', 'k1', 'v2']],
  ['nobody', ['get', 'k1']],
  ['root', ['put', 'k1', 'v2']],
  ['root', ['user', 'list']],
  ['alice', ['user', 'list']],
  ['nobody', ['--user', 'alice:alicepw', 'get', 'k1', '--print-value-only']],
  ['alice', ['--user', 'root:rootpw', 'role', 'revoke-permission', 'reader', 'k', '--prefix']],
  ['alice', ['get', 'k1']],
  ['alice', ['--user', 'alice:wrong', 'get', 'k1']],
  ['root', ['auth', 'disable']],
  ['nobody', ['get', 'k1', '--print-value-only']],
];

describe('TLS with client certificates: etcd 3.4 and tsetcd answer alike', { timeout: SLOW_MS }, () => {
  it('every step of the script gives the same output and exit code', async () => {
    const differences: string[] = [];
    const etcdSaid: CtlResult[] = [];
    for (const [who, args] of SCRIPT) {
      const shortTimeouts = who === 'none' || who === 'untrusted' ? ['--dial-timeout=1s', '--command-timeout=2s'] : [];
      const [theirs, mine] = await Promise.all(
        [urls.etcd, urls.tsetcd].map(async (url) => clean(await etcdctl([`--endpoints=${url}`, ...certArgs(who), ...shortTimeouts, ...args]))),
      );
      etcdSaid.push(theirs as CtlResult);
      if (JSON.stringify(theirs) !== JSON.stringify(mine)) {
        differences.push(`[${who}] etcdctl ${args.join(' ')}\n  etcd:   ${JSON.stringify(theirs)}\n  tsetcd: ${JSON.stringify(mine)}`);
      }
    }
    expect(differences.join('\n'), etcdLog).toBe('');
    // The script exercises what it claims on etcd itself: refusals, the CN as the user, tokens.
    const said = (i: number): string => `${etcdSaid[i]?.stdout ?? ''}${etcdSaid[i]?.stderr ?? ''}`;
    expect(said(1)).toContain('context deadline exceeded');
    expect(said(2)).toContain('context deadline exceeded');
    expect(said(9)).toBe('Authentication Enabled\n');
    expect(said(10)).toBe('k1\nv1\n');
    expect(said(11)).toContain('etcdserver: permission denied');
    expect(said(12)).toContain('etcdserver: permission denied');
    expect(said(13)).toBe('OK\n');
    expect(said(16)).toBe('v2\n');
    expect(said(18)).toContain('etcdserver: permission denied');
    expect(said(19)).toContain('authentication failed');
  });

  it('the gateway refuses a certificate with a CN under auth with the same status and text', async () => {
    for (const [who, args] of [['alice', ['auth', 'enable']]] as const) {
      for (const url of [urls.etcd, urls.tsetcd]) expect((await etcdctl([`--endpoints=${url}`, ...certArgs(who), ...args])).code).toBe(0);
    }
    const alice = pki.clients.get('alice');
    if (alice === undefined) throw new Error('no alice');
    const answers = await Promise.all(
      [urls.etcd, urls.tsetcd].map(
        (url) =>
          new Promise<{ status: number; type: string; text: string }>((resolve, reject) => {
            const { port } = new URL(url);
            const req = https.request(
              { host: '127.0.0.1', port: Number(port), path: '/v3/kv/range', method: 'POST', ca: readFileSync(pki.caFile), cert: readFileSync(alice.cert), key: readFileSync(alice.key) },
              (res) => {
                let text = '';
                res.on('data', (d: Buffer) => (text += d.toString()));
                res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), text }));
              },
            );
            req.on('error', reject);
            req.end(JSON.stringify({ key: Buffer.from('k1').toString('base64') }));
          }),
      ),
    );
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[0]?.status).toBe(400);
  });
});
