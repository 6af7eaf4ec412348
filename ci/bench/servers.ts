/**
 * Starts and stops the benchmarked servers: tsetcd (under node + tsx, so the measured process is
 * the server itself, not an npx wrapper) or real etcd with its defaults, 1 or 3 members, on free
 * 127.0.0.1 ports with temporary data dirs. Logs go to files in the data root so a full pipe
 * never stalls a server.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, openSync, closeSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGrpcClient } from '../../src/grpc/index.js';
import type { TargetName } from './args.js';
import { freePort } from '../free-port.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ETCD_BIN = process.env['ETCD_BIN'] ?? '/usr/bin/etcd';
const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 60_000;
const KILL_AFTER_MS = 10_000;

export interface Member {
  readonly name: string;
  readonly clientUrl: string;
  readonly process: ChildProcess;
  readonly pid: number;
  readonly logPath: string;
}

export interface RunningCluster {
  readonly target: TargetName;
  readonly members: readonly Member[];
  readonly dataRoot: string;
  /** Wall time from spawn to every member answering a linearizable read. */
  readonly startupMs: number;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly nodes: 1 | 3;
  /** tsetcd only: node --cpu-prof into this directory (written when the member exits on SIGTERM). */
  readonly cpuProfDir?: string | undefined;
  /** tsetcd only: the source tree to run src/cli/tsetcd.ts from (default: this repository). */
  readonly tsetcdRoot?: string | undefined;
}


/** The caller's environment minus ETCD_* variables, which both servers would read as flags. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCD_') && !k.startsWith('ETCDCTL_')) env[k] = v;
  return env;
}

interface MemberPorts {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
}

function memberFlags(m: MemberPorts, all: readonly MemberPorts[], dataDir: string): string[] {
  return [
    '--name', m.name,
    '--data-dir', dataDir,
    '--listen-client-urls', `http://${HOST}:${m.clientPort}`,
    '--advertise-client-urls', `http://${HOST}:${m.clientPort}`,
    '--listen-peer-urls', `http://${HOST}:${m.peerPort}`,
    '--initial-advertise-peer-urls', `http://${HOST}:${m.peerPort}`,
    '--initial-cluster', all.map((x) => `${x.name}=http://${HOST}:${x.peerPort}`).join(','),
    '--initial-cluster-token', 'bench-cluster',
    '--initial-cluster-state', 'new',
  ];
}

function spawnMember(target: TargetName, m: MemberPorts, all: readonly MemberPorts[], root: string, options: StartOptions): Member {
  const dataDir = join(root, `${m.name}.${target}`);
  const logPath = join(root, `${m.name}.log`);
  const logFd = openSync(logPath, 'a');
  const flags = memberFlags(m, all, dataDir);
  const child =
    target === 'etcd'
      ? spawn(ETCD_BIN, flags, { cwd: root, env: cleanEnv(), stdio: ['ignore', logFd, logFd] })
      : spawn(
          process.execPath,
          [
            '--import', 'tsx',
            ...(options.cpuProfDir !== undefined ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir] : []),
            join(options.tsetcdRoot ?? REPO_ROOT, 'src', 'cli', 'tsetcd.ts'),
            ...flags,
          ],
          { cwd: options.tsetcdRoot ?? REPO_ROOT, env: cleanEnv(), stdio: ['ignore', logFd, logFd] },
        );
  closeSync(logFd);
  if (child.pid === undefined) throw new Error(`could not start ${target} member ${m.name}`);
  return { name: m.name, clientUrl: `${HOST}:${m.clientPort}`, process: child, pid: child.pid, logPath };
}

/** Polls a linearizable Range until it succeeds: the member is up and the cluster has a leader. */
async function waitReady(member: Member, deadlineAtMs: number): Promise<void> {
  const client = createGrpcClient(member.clientUrl, { ownConnection: true });
  try {
    for (;;) {
      if (member.process.exitCode !== null || member.process.signalCode !== null)
        throw new Error(`member ${member.name} exited during startup; see ${member.logPath}`);
      try {
        await client.unary('range', { key: new TextEncoder().encode('bench-ready') }, { deadlineMs: 1000 });
        return;
      } catch (e) {
        if (Date.now() > deadlineAtMs) throw new Error(`member ${member.name} not ready: ${JSON.stringify(e)}; see ${member.logPath}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    client.close();
  }
}

async function stopMember(m: Member): Promise<void> {
  if (m.process.exitCode !== null || m.process.signalCode !== null) return;
  const exited = new Promise<void>((r) => m.process.once('exit', () => r()));
  m.process.kill('SIGTERM');
  const timer = setTimeout(() => m.process.kill('SIGKILL'), KILL_AFTER_MS);
  await exited;
  clearTimeout(timer);
}

export async function startCluster(target: TargetName, options: StartOptions): Promise<RunningCluster> {
  const root = mkdtempSync(join(tmpdir(), `bench-${target}-`));
  const ports: MemberPorts[] = [];
  for (let i = 0; i < options.nodes; i++) ports.push({ name: `bench${i}`, clientPort: await freePort(), peerPort: await freePort() });
  const startedAtMs = Date.now();
  const members = ports.map((m) => spawnMember(target, m, ports, root, options));
  const stop = async (): Promise<void> => {
    await Promise.all(members.map(stopMember));
    keepLogs(members, target);
    rmSync(root, { recursive: true, force: true });
  };
  try {
    await Promise.all(members.map((m) => waitReady(m, startedAtMs + READY_TIMEOUT_MS)));
  } catch (e) {
    const tails = members.map((m) => `--- ${m.name} log tail:\n${logTail(m.logPath)}`).join('\n');
    await stop();
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${tails}`);
  }
  return { target, members, dataRoot: root, startupMs: Date.now() - startedAtMs, stop };
}

/** BENCH_KEEP_LOGS=DIR keeps every member's log (elections, warnings) after the data root goes. */
function keepLogs(members: readonly Member[], target: TargetName): void {
  const dir = process.env['BENCH_KEEP_LOGS'];
  if (dir === undefined || dir === '') return;
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  for (const m of members) copyFileSync(m.logPath, join(dir, `${stamp}-${target}-${m.name}.log`));
}

function logTail(path: string, bytes = 2000): string {
  try {
    const text = readFileSync(path, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '(no log)';
  }
}

/** The .cpuprofile files node wrote into dir. */
export function listProfiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
}
