/**
 * TLS test fixtures: certificates made inside the tests (a CA, a server certificate for
 * 127.0.0.1/localhost, client certificates with chosen CNs, and a second, untrusted CA with a
 * client of its own), written to a temp dir; tsetcd processes with TLS flags on free ports;
 * the real etcdctl with TLS flags. Every process is killed in destroy().
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCertificate } from '../../src/env/node/index.js';
import type { CertificatePem } from '../../src/env/node/index.js';
import { eventually, freePort } from '../cluster/harness.js';

export { eventually, freePort };

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SERVER_ENTRY = join(REPO, 'src', 'cli', 'tsetcd.ts');
export const CTL_ENTRY = join(REPO, 'src', 'cli', 'tsetcdctl.ts');

export interface PemFiles {
  readonly cert: string;
  readonly key: string;
}

export interface Pki {
  readonly dir: string;
  readonly caFile: string;
  /** Server (and peer) certificate for 127.0.0.1 and localhost, signed by the CA. */
  readonly server: PemFiles;
  readonly clients: ReadonlyMap<string, PemFiles>;
  /** A client certificate (CN "mallory") signed by a CA the servers do not trust. */
  readonly untrusted: PemFiles;
  readonly pem: { readonly ca: CertificatePem };
}

function writePair(dir: string, name: string, pem: CertificatePem): PemFiles {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}-key.pem`);
  writeFileSync(cert, pem.certPem);
  writeFileSync(key, pem.keyPem, { mode: 0o600 });
  return { cert, key };
}

export function makePki(clientNames: readonly string[]): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'tsetcd-pki-'));
  const ca = createCertificate({ commonName: 'tsetcd test CA', isCa: true });
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, ca.certPem);
  const server = writePair(dir, 'server', createCertificate({ commonName: 'server', hosts: ['127.0.0.1', 'localhost'] }, ca));
  const clients = new Map(clientNames.map((n) => [n, writePair(dir, `client-${n}`, createCertificate({ commonName: n }, ca))] as const));
  const otherCa = createCertificate({ commonName: 'someone else', isCa: true });
  const untrusted = writePair(dir, 'mallory', createCertificate({ commonName: 'mallory', hosts: ['127.0.0.1'] }, otherCa));
  return { dir, caFile, server, clients, untrusted, pem: { ca } };
}

export interface CtlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(cmd: string, args: readonly string[], timeoutMs = 20_000): Promise<CtlResult> {
  return new Promise((done) => {
    execFile(cmd, args, { env: { ...process.env, ETCDCTL_API: '3' }, timeout: timeoutMs, cwd: REPO }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      done({ code, stdout, stderr });
    });
  });
}

export function etcdctl(args: readonly string[]): Promise<CtlResult> {
  return run('etcdctl', ['--dial-timeout=3s', '--command-timeout=8s', ...args]);
}

export interface Member {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  child: ChildProcess | undefined;
  readonly logs: string[];
}

/** tsetcd processes sharing one temp root; `scheme` decides http or https per side. */
export class TlsCluster {
  readonly root = mkdtempSync(join(tmpdir(), 'tsetcd-tls-'));
  readonly members = new Map<string, Member>();

  constructor(
    private readonly clientScheme: 'http' | 'https',
    private readonly peerScheme: 'http' | 'https',
    private readonly extraArgs: readonly string[],
  ) {}

  async define(name: string): Promise<Member> {
    const m: Member = { name, clientPort: await freePort(), peerPort: await freePort(), dataDir: join(this.root, `${name}.tsetcd`), child: undefined, logs: [] };
    this.members.set(name, m);
    return m;
  }

  member(name: string): Member {
    const m = this.members.get(name);
    if (m === undefined) throw new Error(`no member ${name}`);
    return m;
  }

  clientUrl(name: string): string {
    return `${this.clientScheme}://127.0.0.1:${this.member(name).clientPort}`;
  }

  peerUrl(name: string): string {
    return `${this.peerScheme}://127.0.0.1:${this.member(name).peerPort}`;
  }

  start(name: string, clusterNames: readonly string[], state: 'new' | 'existing' = 'new', extra: readonly string[] = []): void {
    const m = this.member(name);
    const args = [
      '--import', 'tsx', SERVER_ENTRY,
      '--name', name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', this.clientUrl(name),
      '--advertise-client-urls', this.clientUrl(name),
      '--listen-peer-urls', this.peerUrl(name),
      '--initial-advertise-peer-urls', this.peerUrl(name),
      '--initial-cluster', clusterNames.map((n) => `${n}=${this.peerUrl(n)}`).join(','),
      '--initial-cluster-state', state,
      '--initial-cluster-token', `tls-${process.pid}`,
      '--heartbeat-interval', '100',
      '--election-timeout', '1000',
      ...this.extraArgs,
      ...extra,
    ];
    const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    m.child = child;
    const keep = (chunk: Buffer): void => {
      m.logs.push(...chunk.toString('utf8').split('\n').filter((l) => l.length > 0));
      if (m.logs.length > 300) m.logs.splice(0, m.logs.length - 300);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  logs(lines = 20): string {
    return [...this.members.values()].map((m) => `--- ${m.name}\n${m.logs.slice(-lines).join('\n')}`).join('\n');
  }

  async destroy(): Promise<void> {
    await Promise.all(
      [...this.members.values()].map(async (m) => {
        const child = m.child;
        if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGKILL');
        await exited;
      }),
    );
    rmSync(this.root, { recursive: true, force: true });
  }
}
