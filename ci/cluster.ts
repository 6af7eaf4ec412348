/**
 * `npm run cluster`: a local 3-member tsetcd cluster, laid out like etcd's Procfile
 * (client ports 2379/22379/32379, peer ports 2380/22380/32380, members infra1..infra3).
 * Data lives in ./.cluster/<name>.tsetcd, so a second run restarts the same cluster; pass
 * --fresh to start over. Ctrl-C or SIGTERM stops every member (SIGTERM, then SIGKILL after 5 s).
 *
 *   npm run cluster [-- --fresh] [-- --data-root DIR] [-- --log-level debug]
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface MemberSpec {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
}

const MEMBERS: readonly MemberSpec[] = [
  { name: 'infra1', clientPort: 2379, peerPort: 2380 },
  { name: 'infra2', clientPort: 22379, peerPort: 22380 },
  { name: 'infra3', clientPort: 32379, peerPort: 32380 },
];
const HOST = '127.0.0.1';
const KILL_AFTER_MS = 5000;
const COLORS = ['\x1b[36m', '\x1b[33m', '\x1b[35m'];
const RESET = '\x1b[0m';

function option(args: readonly string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

function memberArgs(m: MemberSpec, dataRoot: string, logLevel: string): string[] {
  const initialCluster = MEMBERS.map((x) => `${x.name}=http://${HOST}:${x.peerPort}`).join(',');
  return [
    '--name', m.name,
    '--data-dir', join(dataRoot, `${m.name}.tsetcd`),
    '--listen-client-urls', `http://${HOST}:${m.clientPort}`,
    '--advertise-client-urls', `http://${HOST}:${m.clientPort}`,
    '--listen-peer-urls', `http://${HOST}:${m.peerPort}`,
    '--initial-advertise-peer-urls', `http://${HOST}:${m.peerPort}`,
    '--initial-cluster-token', 'etcd-cluster-1',
    '--initial-cluster', initialCluster,
    '--initial-cluster-state', 'new',
    '--log-level', logLevel,
  ];
}

/** Prefixes each output line with the member's name, as goreman does. */
function pipe(child: ChildProcess, name: string, color: string, onLine: (line: string) => void): void {
  for (const source of [child.stdout, child.stderr]) {
    let rest = '';
    source?.setEncoding('utf8');
    source?.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        process.stdout.write(`${color}${name.padEnd(7)}|${RESET} ${line}\n`);
        onLine(line);
      }
    });
  }
}

function main(): void {
  const args = process.argv.slice(2);
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const dataRoot = resolve(option(args, '--data-root') ?? join(repo, '.cluster'));
  const logLevel = option(args, '--log-level') ?? 'info';
  if (args.includes('--fresh')) rmSync(dataRoot, { recursive: true, force: true });
  mkdirSync(dataRoot, { recursive: true });
  const entry = join(repo, 'src', 'cli', 'tsetcd.ts');
  const children = new Map<string, ChildProcess>();
  const ready = new Set<string>();
  let stopping = false;

  const stopAll = (code: number): void => {
    if (stopping) return;
    stopping = true;
    console.log(`stopping ${children.size} member(s)...`);
    for (const child of children.values()) child.kill('SIGTERM');
    const killer = setTimeout(() => {
      for (const child of children.values()) child.kill('SIGKILL');
    }, KILL_AFTER_MS);
    const waitAll = setInterval(() => {
      if (children.size > 0) return;
      clearInterval(waitAll);
      clearTimeout(killer);
      console.log('all members stopped');
      process.exit(code);
    }, 50);
  };

  MEMBERS.forEach((m, i) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry, ...memberArgs(m, dataRoot, logLevel)], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.set(m.name, child);
    pipe(child, m.name, COLORS[i % COLORS.length] as string, (line) => {
      if (!line.includes('serving client requests') || ready.has(m.name)) return;
      ready.add(m.name);
      if (ready.size === MEMBERS.length) {
        const endpoints = MEMBERS.map((x) => `${HOST}:${x.clientPort}`).join(',');
        console.log(`\ncluster up: 3 members, data in ${dataRoot}\n  endpoints: ${endpoints}\n  try: ETCDCTL_API=3 etcdctl --endpoints=${endpoints} member list -w table\n  Ctrl-C stops all members\n`);
      }
    });
    child.on('exit', (code, signal) => {
      children.delete(m.name);
      if (!stopping) {
        console.log(`${m.name} exited (code ${String(code)}, signal ${String(signal)}); stopping the cluster`);
        stopAll(1);
      }
    });
  });
  process.on('SIGINT', () => stopAll(0));
  process.on('SIGTERM', () => stopAll(0));
}

main();
