/**
 * Shared by the tsetcdctl and gateway tests: an in-process single tsetcd member on free ports
 * with a temp data dir, tsetcdctl run in-process with captured output, and real etcdctl run as
 * a child process (asynchronously, since the member lives in this process).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseServerFlags } from '../../src/cli/flags.js';
import { startServer } from '../../src/cli/server-process.js';
import { runCtl } from '../../src/cli/ctl/main.js';
import type { CtlIo } from '../../src/cli/ctl/io.js';
import { createGrpcClient } from '../../src/grpc/index.js';

export const ETCDCTL = '/usr/bin/etcdctl';
export const hasEtcdctl = existsSync(ETCDCTL);

export interface Member {
  readonly endpoint: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Every member started here advertises the same peer and client URLs, so two of them get the
 * same member and cluster ids and their outputs can be compared byte for byte.
 */
export async function startMember(): Promise<Member> {
  const dir = mkdtempSync(join(tmpdir(), 'tsetcd-ctl-'));
  const flags = parseServerFlags(
    [
      '--data-dir', dir,
      '--listen-client-urls', 'http://127.0.0.1:0',
      '--advertise-client-urls', 'http://127.0.0.1:2379',
      '--listen-peer-urls', 'http://127.0.0.1:0',
      '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
      '--initial-cluster', 'default=http://127.0.0.1:2380',
      '--log-level', 'error',
    ],
    {},
  );
  const server = await startServer(flags, { onRemoved: () => undefined });
  const port = server.clientPorts[0] as number;
  const endpoint = `127.0.0.1:${port}`;
  // Ready once it has a leader and has published itself (the member list shows its name).
  const client = createGrpcClient(endpoint);
  try {
    for (let i = 0; i < 200; i++) {
      const status = await client.unary('status', {}).catch(() => undefined);
      const members = await client.unary('memberList', {}).catch(() => undefined);
      if (status !== undefined && status.leader !== 0n && members?.members[0]?.name === 'default') break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    client.close();
  }
  return {
    endpoint,
    port,
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Run {
  readonly out: string;
  readonly err: string;
  readonly code: number;
}

/** tsetcdctl in-process; interruptAfterMs plays Ctrl-C for watch and friends. */
export async function ours(endpoint: string, argv: readonly string[], stdin = '', interruptAfterMs?: number): Promise<Run> {
  let out = '';
  let err = '';
  const interrupt = new AbortController();
  const timer = interruptAfterMs === undefined ? undefined : setTimeout(() => interrupt.abort(), interruptAfterMs);
  const io: CtlIo = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    readStdin: () => Promise.resolve(stdin),
    interrupt: interrupt.signal,
    nowMs: () => performance.now(),
    writeFile: () => Promise.reject(new Error('no files in tests')),
  };
  const code = await runCtl([`--endpoints=${endpoint}`, ...argv], io);
  clearTimeout(timer);
  return { out, err, code };
}

/** Real etcdctl; its client-side JSON log lines on stderr are dropped. */
export function theirs(endpoint: string, argv: readonly string[], stdin = '', interruptAfterMs?: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(ETCDCTL, [`--endpoints=${endpoint}`, ...argv], { env: { ...process.env, ETCDCTL_API: '3' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('error', reject);
    const timer = interruptAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGINT'), interruptAfterMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const cleanErr = err.split('\n').filter((l) => !l.startsWith('{"level"')).join('\n');
      resolve({ out, err: cleanErr, code: code ?? -1 });
    });
    // etcdctl may exit before reading stdin (argument errors): a broken pipe is expected then.
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}
