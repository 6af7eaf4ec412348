/**
 * Real tsetcd processes on 127.0.0.1 with free ports and temp data dirs, driven by the real
 * etcdctl (Debian's etcd-client 3.4). Every wait is bounded; a failing test prints the
 * members' recent log lines.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../ci/free-port.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENTRY = join(REPO, 'src', 'cli', 'tsetcd.ts');

export interface CtlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface MemberProcess {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  child: ChildProcess | undefined;
  exitCode: number | null | undefined;
  readonly logs: string[];
}

/** Re-exported for the callers of this module (see ci/free-port.ts for why ports come from there). */
export { freePort };

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `probe` until it returns a value (not undefined), or throws after `timeoutMs`. */
export async function eventually<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const start = Date.now();
  let last: unknown;
  while (Date.now() - start < timeoutMs) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(150);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export class LocalCluster {
  readonly root = mkdtempSync(join(tmpdir(), 'tsetcd-cluster-'));
  readonly members = new Map<string, MemberProcess>();
  private readonly token = `test-${process.pid}`;

  /** `extraArgs` go to every member (e.g. a small --snapshot-count to exercise snapshots). */
  constructor(private readonly extraArgs: readonly string[] = []) {}

  async define(name: string): Promise<MemberProcess> {
    const member: MemberProcess = {
      name,
      clientPort: await freePort(),
      peerPort: await freePort(),
      dataDir: join(this.root, `${name}.tsetcd`),
      child: undefined,
      exitCode: undefined,
      logs: [],
    };
    this.members.set(name, member);
    return member;
  }

  member(name: string): MemberProcess {
    const m = this.members.get(name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  peerUrl(name: string): string {
    return `http://127.0.0.1:${this.member(name).peerPort}`;
  }

  endpoint(name: string): string {
    return `127.0.0.1:${this.member(name).clientPort}`;
  }

  /** Starts (or restarts, from its data dir) a member with --initial-cluster of `clusterNames`. */
  start(name: string, clusterNames: readonly string[], state: 'new' | 'existing' = 'new'): void {
    const m = this.member(name);
    const initialCluster = clusterNames.map((n) => `${n}=${this.peerUrl(n)}`).join(',');
    const args = [
      '--import', 'tsx', ENTRY,
      '--name', name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', `http://127.0.0.1:${m.clientPort}`,
      '--advertise-client-urls', `http://127.0.0.1:${m.clientPort}`,
      '--listen-peer-urls', this.peerUrl(name),
      '--initial-advertise-peer-urls', this.peerUrl(name),
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', state,
      '--initial-cluster-token', this.token,
      '--heartbeat-interval', '100',
      '--election-timeout', '1000',
      ...this.extraArgs,
    ];
    const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
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

  /** kill -9: no shutdown path runs. */
  async kill9(name: string): Promise<void> {
    const m = this.member(name);
    const child = m.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await exited;
  }

  /** Waits for a member's process to exit on its own (e.g. after its removal). */
  async waitExit(name: string, timeoutMs: number): Promise<number | null> {
    return eventually(`${name} to exit`, timeoutMs, () => {
      const code = this.member(name).exitCode;
      return Promise.resolve(code === undefined ? undefined : code);
    });
  }

  ctl(args: readonly string[], endpoints: readonly string[] = [...this.members.keys()].map((n) => this.endpoint(n))): Promise<CtlResult> {
    return new Promise((resolveCtl) => {
      execFile(
        'etcdctl',
        [`--endpoints=${endpoints.join(',')}`, '--dial-timeout=2s', '--command-timeout=8s', ...args],
        { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 20_000 },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
          resolveCtl({ code, stdout, stderr });
        },
      );
    });
  }

  /** etcdctl that must succeed; returns stdout. */
  async ok(args: readonly string[], endpoints?: readonly string[]): Promise<string> {
    const r = await this.ctl(args, endpoints);
    if (r.code !== 0) throw new Error(`etcdctl ${args.join(' ')} failed (${r.code}): ${r.stderr.split('\n').filter((l) => l.startsWith('Error')).join(' ') || r.stderr}`);
    return r.stdout;
  }

  /** Name of the member that says it is the leader, if exactly one of `names` does. */
  async leader(names: readonly string[]): Promise<string | undefined> {
    const leaders: string[] = [];
    for (const name of names) {
      const r = await this.ctl(['endpoint', 'status', '-w', 'simple'], [this.endpoint(name)]);
      // endpoint, id, version, db size, is leader, is learner, term, index, applied index, errors
      const fields = r.stdout.split(',').map((f) => f.trim());
      if (r.code === 0 && fields[4] === 'true') leaders.push(name);
    }
    return leaders.length === 1 ? leaders[0] : undefined;
  }

  /** `member list` as {id, status, name, peerUrls, clientUrls, isLearner}. */
  async memberList(endpoints?: readonly string[]): Promise<Array<{ id: string; status: string; name: string; peerUrls: string; clientUrls: string; isLearner: boolean }>> {
    const out = await this.ok(['member', 'list', '-w', 'simple'], endpoints);
    return out
      .split('\n')
      .filter((l) => l.trim().length > 0)
      .map((line) => {
        const [id, status, name, peerUrls, clientUrls, isLearner] = line.split(',').map((f) => f.trim());
        return { id: id ?? '', status: status ?? '', name: name ?? '', peerUrls: peerUrls ?? '', clientUrls: clientUrls ?? '', isLearner: isLearner === 'true' };
      });
  }

  recentLogs(lines = 30): string {
    return [...this.members.values()].map((m) => `--- ${m.name} (exit ${String(m.exitCode)})\n${m.logs.slice(-lines).join('\n')}`).join('\n');
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.members.keys()].map((n) => this.kill9(n)));
    rmSync(this.root, { recursive: true, force: true });
  }
}
