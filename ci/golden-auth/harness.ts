/**
 * The differential auth harness: one script of etcdctl command lines (script.txt, and a held-out
 * variant heldout.txt) is played against a fresh server, and every command's stdout, stderr and
 * exit code become a transcript. Transcripts from real etcd 3.4 are recorded in recorded/ (see
 * record.ts); test/cli/auth-diff.test.ts plays the same scripts against tsetcd with real
 * etcdctl and with tsetcdctl, and against real etcd with tsetcdctl, and compares line by line.
 *
 * Script lines:  `etcdctl <args...>` with optional `<<< "<stdin as a JSON string>"` at the end
 * (bash's here-string: a newline is appended). `#` starts a comment line; blank lines are
 * skipped. Arguments split on spaces; single or double quotes keep spaces.
 *
 * The only normalisation: cluster and member ids (they derive from the member's URLs and start
 * time, which differ by design) become ID, lease ids (drawn by the server) LEASE<n>, and the
 * endpoint (a free port) ENDPOINT.
 * Everything else, revisions and raft terms included, must be the same.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../free-port.js';

export const ETCD_BIN = '/usr/bin/etcd';
export const ETCDCTL_BIN = '/usr/bin/etcdctl';
export const hasRealEtcd = existsSync(ETCD_BIN) && existsSync(ETCDCTL_BIN);
export const GOLDEN_DIR = new URL('.', import.meta.url).pathname;
export const SCRIPT_NAMES = ['script', 'heldout'] as const;

export interface ScriptStep {
  /** The line as written, shown in the transcript. */
  readonly line: string;
  readonly argv: readonly string[];
  readonly stdin: string;
}

export interface CtlRun {
  readonly out: string;
  readonly err: string;
  readonly code: number;
}

/** Runs one etcdctl command line (without --endpoints) against the server under test. */
export type CtlRunner = (argv: readonly string[], stdin: string) => Promise<CtlRun>;

/** Splits on spaces; '...' and "..." group words (no escapes inside, none needed by the scripts). */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: string | undefined;
  for (const ch of text) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === ' ' || ch === '\t') {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (quote !== undefined) throw new Error(`unterminated quote in: ${text}`);
  if (inWord) words.push(current);
  return words;
}

export function parseScript(text: string): ScriptStep[] {
  const steps: ScriptStep[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const here = line.indexOf(' <<< ');
    const command = here >= 0 ? line.slice(0, here) : line;
    const stdin = here >= 0 ? (JSON.parse(line.slice(here + 5)) as string) + '\n' : '';
    const words = splitWords(command);
    if (words[0] !== 'etcdctl') throw new Error(`line ${i + 1}: a step starts with etcdctl: ${line}`);
    steps.push({ line, argv: words.slice(1), stdin });
  }
  return steps;
}

/** One command's block: `$ <line>`, stdout as is, stderr lines prefixed `! `, then `[exit N]`. */
export function formatRun(step: ScriptStep, run: CtlRun): string {
  const lines = [`$ ${step.line}`];
  const body = (text: string, prefix: string): void => {
    if (text === '') return;
    const parts = text.split('\n');
    if (parts[parts.length - 1] === '') parts.pop();
    else parts.push('(no newline at end)');
    for (const p of parts) lines.push(prefix + p);
  };
  body(run.out, '');
  body(run.err, '! ');
  lines.push(`[exit ${run.code}]`);
  return lines.join('\n') + '\n';
}

/** Cluster and member ids and the endpoint's port differ between any two clusters; nothing else is rewritten. */
export function normalise(transcript: string): string {
  return transcript
    .replace(/127\.0\.0\.1:\d+/g, 'ENDPOINT')
    .replace(/"(cluster_id|member_id)":\d+/g, '"$1":ID')
    .replace(/"(ClusterID|MemberID)" : \d+/g, '"$1" : ID');
}

/**
 * Lease ids are drawn by each server: `$LEASE<n>` in a script stands for the n-th id that a
 * `lease grant` printed, and the transcript shows LEASE<n> in place of each id (hex or decimal).
 */
export async function runScript(steps: readonly ScriptStep[], runner: CtlRunner): Promise<string> {
  let transcript = '';
  const leases: string[] = [];
  for (const step of steps) {
    const argv = step.argv.map((a) => a.replace(/\$LEASE(\d+)/g, (_, n: string) => leases[Number(n) - 1] ?? `no-lease-${n}`));
    // Generous timeouts: a loaded test machine must not turn a slow answer into a difference.
    argv.unshift('--dial-timeout=15s', '--command-timeout=60s');
    const run = await runner(argv, step.stdin);
    for (const m of run.out.matchAll(/^lease ([0-9a-f]{16}) granted/gm)) leases.push(m[1] as string);
    let block = formatRun(step, run);
    leases.forEach((id, i) => (block = block.replaceAll(id, `LEASE${i + 1}`).replaceAll(BigInt(`0x${id}`).toString(), `LEASE${i + 1}`)));
    transcript += block;
  }
  return normalise(transcript);
}

/** Line-by-line differences, at most `limit` of them, each with its command for context. */
export function diffTranscripts(want: string, got: string, limit = 20): string[] {
  const a = want.split('\n');
  const b = got.split('\n');
  const out: string[] = [];
  let command = '';
  for (let i = 0; i < Math.max(a.length, b.length) && out.length < limit; i++) {
    const w = a[i];
    if (w?.startsWith('$ ') === true) command = w;
    if (w !== b[i]) out.push(`line ${i + 1} after ${command}\n  want: ${w ?? '(end)'}\n  got:  ${b[i] ?? '(end)'}`);
  }
  return out;
}

/** Per-block differences: which commands' outputs differ (blocks align when both ran the same script). */
export function differingCommands(want: string, got: string): string[] {
  const blocks = (t: string): string[] => t.split(/(?=^\$ )/m);
  const a = blocks(want);
  const b = blocks(got);
  const out: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) out.push(`--- etcd 3.4\n${a[i] ?? '(missing)\n'}+++ got\n${b[i] ?? '(missing)\n'}`);
  }
  return out;
}

/** Real etcdctl as a child process; its JSON log lines on stderr (clientv3 retry warnings) dropped. */
export function etcdctlRunner(endpoint: string): CtlRunner {
  return (argv, stdin) =>
    new Promise((resolve, reject) => {
      const child = spawn(ETCDCTL_BIN, [`--endpoints=${endpoint}`, ...argv], { env: { ...process.env, ETCDCTL_API: '3' } });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => {
        const cleanErr = err.split('\n').filter((l) => !l.startsWith('{"level"')).join('\n');
        resolve({ out, err: cleanErr, code: code ?? -1 });
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdin);
    });
}


export interface RealEtcd {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** A throwaway single-member etcd 3.4 on free ports and a temp data dir. */
export async function startRealEtcd(): Promise<RealEtcd> {
  const dir = mkdtempSync(join(tmpdir(), 'auth-golden-etcd-'));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const endpoint = `127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    ETCD_BIN,
    [
      '--name', 'default', '--data-dir', dir, '--log-level', 'error', '--logger', 'zap', '--bcrypt-cost', '4',
      '--listen-client-urls', `http://${endpoint}`, '--advertise-client-urls', `http://${endpoint}`,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `default=${peer}`,
    ],
    { stdio: ['ignore', 'ignore', 'ignore'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async (): Promise<void> => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const probe = etcdctlRunner(endpoint);
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    if ((await probe(['endpoint', 'health'], '')).code === 0) return { endpoint, close };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await close();
  throw new Error('etcd did not become ready');
}
