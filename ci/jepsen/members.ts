/**
 * Member processes: start (tsetcd under tsx, compiled dist when present, or real etcd with the
 * same flags), kill -9, SIGSTOP / SIGCONT, restart from the same data dir. Output goes to one
 * log file per member (appended across restarts).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeName } from '../../nemesis/index.js';
import type { Network } from './net.js';
import type { Target } from './options.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ETCD_BIN = '/usr/bin/etcd';

export type MemberState = 'stopped' | 'running' | 'paused';

interface Member {
  readonly name: NodeName;
  readonly dataDir: string;
  readonly logPath: string;
  child: ChildProcess | undefined;
  paused: boolean;
  starts: number;
}

/** The server's command line before the etcd flags: tsx on the sources, or a compiled entry. */
export function serverArgv(target: Target, compiledEntry?: string): string[] {
  if (target === 'etcd') return [ETCD_BIN];
  if (compiledEntry !== undefined) return [process.execPath, compiledEntry];
  return [process.execPath, '--import', 'tsx', join(REPO, 'src', 'cli', 'tsetcd.ts')];
}

export class Members {
  private readonly members = new Map<NodeName, Member>();

  constructor(
    readonly names: readonly NodeName[],
    private readonly target: Target,
    private readonly net: Network,
    private readonly dir: string,
    private readonly token: string,
    private readonly compiledEntry?: string,
  ) {
    for (const name of names) {
      const dataDir = join(dir, 'data', `${name}.${target}`);
      this.members.set(name, { name, dataDir, logPath: join(dir, 'logs', `${name}.log`), child: undefined, paused: false, starts: 0 });
    }
    mkdirSync(join(dir, 'logs'), { recursive: true });
    mkdirSync(join(dir, 'data'), { recursive: true });
  }

  private member(name: NodeName): Member {
    const m = this.members.get(name);
    if (m === undefined) throw new Error(`no member ${name}`);
    return m;
  }

  clientUrl(name: NodeName): string {
    const e = this.net.endpoint(name);
    return `http://${e.host}:${e.clientPort}`;
  }

  private peerUrl(name: NodeName): string {
    const e = this.net.endpoint(name);
    return `http://${e.host}:${e.peerPort}`;
  }

  private flags(m: Member): string[] {
    const e = this.net.endpoint(m.name);
    return [
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', `http://${e.host}:${e.clientPort}`,
      '--advertise-client-urls', this.clientUrl(m.name),
      '--listen-peer-urls', this.peerUrl(m.name),
      '--initial-advertise-peer-urls', this.peerUrl(m.name),
      '--initial-cluster', this.names.map((n) => `${n}=${this.peerUrl(n)}`).join(','),
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', this.token,
      '--heartbeat-interval', '100',
      '--election-timeout', '1000',
    ];
  }

  state(name: NodeName): MemberState {
    const m = this.member(name);
    if (m.child === undefined) return 'stopped';
    return m.paused ? 'paused' : 'running';
  }

  logPath(name: NodeName): string {
    return this.member(name).logPath;
  }

  /** Starts a stopped member; a running or paused one is left alone (restart is idempotent). */
  start(name: NodeName): boolean {
    const m = this.member(name);
    if (m.child !== undefined) return false;
    const argv = this.net.command(name, [...serverArgv(this.target, this.compiledEntry), ...this.flags(m)]);
    const fd = openSync(m.logPath, 'a');
    // ETCD_* variables of the caller would override our flags in both servers.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD')));
    const child = spawn(argv[0] as string, argv.slice(1), { cwd: REPO, stdio: ['ignore', fd, fd], env });
    closeSync(fd);
    m.child = child;
    m.paused = false;
    m.starts++;
    child.on('exit', () => {
      if (m.child === child) {
        m.child = undefined;
        m.paused = false;
      }
    });
    return true;
  }

  /** kill -9; resolves once the process is gone. */
  async kill(name: NodeName): Promise<boolean> {
    const m = this.member(name);
    const child = m.child;
    if (child === undefined) return false;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await exited;
    return true;
  }

  pause(name: NodeName): boolean {
    const m = this.member(name);
    if (m.child === undefined || m.paused) return false;
    m.child.kill('SIGSTOP');
    m.paused = true;
    return true;
  }

  resume(name: NodeName): boolean {
    const m = this.member(name);
    if (m.child === undefined || !m.paused) return false;
    m.child.kill('SIGCONT');
    m.paused = false;
    return true;
  }

  /** Every member gone (SIGCONT first, so a paused member can die); used at the end and on errors. */
  async stopAll(): Promise<void> {
    await Promise.all(this.names.map(async (n) => {
      const m = this.member(n);
      if (m.paused) m.child?.kill('SIGCONT');
      await this.kill(n);
    }));
  }

  /** Synchronous last resort for process exit handlers. */
  killAllNow(): void {
    for (const m of this.members.values()) {
      m.child?.kill('SIGKILL');
    }
  }

  running(): NodeName[] {
    return this.names.filter((n) => this.member(n).child !== undefined);
  }
}
