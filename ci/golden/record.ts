/**
 * Records golden behaviour from a real etcd (the Debian etcd-server 3.4 package). For every
 * sequence in ci/golden/sequences.json and ci/golden/heldout.json it starts a throwaway
 * single-member etcd on 127.0.0.1 (non-default ports, temp data dir), runs each step and saves
 * the command with its output to ci/golden/recorded/<name>.json. Steps are either
 *   {"ctl": [argv...], "stdin"?: "..."}   run as `etcdctl -w json <argv>`
 *   {"gw": "range"|"put"|"deleterange"|"txn"|"compaction"|"hashkv", "body": {...}}
 *                                        POSTed to the grpc-gateway at /v3/kv/<gw> (JSON, as
 *                                        etcd's own HTTP API), which reaches options etcdctl 3.4
 *                                        has no flag for (count_only, min/max revisions, nested txn).
 * In gateway bodies, fields named key, range_end, value may be plain text: they are base64-encoded
 * here, and the recorded file keeps the exact body sent.
 *
 * Usage: npm run golden:record [-- <sequence-name>...]
 *        npm run golden:record -- --tsetcd <out-dir> [<sequence-name>...]
 * The second form runs the same sequences against tsetcd (src/cli/tsetcd.ts) instead of etcd,
 * gateway steps skipped, into <out-dir>; ci/golden/compare.ts then diffs it with the goldens.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { playScript } from './streams.js';
import type { StreamScript } from './streams.js';

const CLIENT_PORT = 23791;
const PEER_PORT = 23801;
const ENDPOINT = `127.0.0.1:${CLIENT_PORT}`;
const HERE = new URL('.', import.meta.url).pathname;

export interface Step {
  ctl?: string[];
  /** `$LEASE<n>` (hex) / `$LEASEDEC<n>` (decimal) stand for the n-th lease granted in the sequence. */
  stdin?: string;
  gw?: string;
  body?: Record<string, unknown>;
}
export interface Sequence {
  name: string;
  note?: string;
  steps: Step[];
}

const BYTE_FIELDS = new Set(['key', 'range_end', 'value']);

/**
 * Shorthand for big txns: `"$puts": {"branch": "success", "count": 129, "prefix": "k"}` in a
 * txn body expands to that many request_put ops on distinct keys (the recorded body is expanded).
 */
function expandPuts(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(expandPuts);
  if (v === null || typeof v !== 'object') return v;
  const body: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) body[k] = expandPuts(x);
  const spec = body['$puts'] as { branch: string; count: number; prefix: string } | undefined;
  if (spec === undefined) return body;
  delete body['$puts'];
  const ops = Array.from({ length: spec.count }, (_, i) => ({ request_put: { key: `${spec.prefix}${i}`, value: 'v' } }));
  return { ...body, [spec.branch]: [...((body[spec.branch] as unknown[] | undefined) ?? []), ...ops] };
}

function encodeBody(v: unknown, field = ''): unknown {
  if (typeof v === 'string' && BYTE_FIELDS.has(field)) return Buffer.from(v, 'utf8').toString('base64');
  if (Array.isArray(v)) return v.map((x) => encodeBody(x));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = encodeBody(x, k);
    return out;
  }
  return v;
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Target {
  name: 'etcd' | 'tsetcd';
  outDir: string;
}
let target: Target = { name: 'etcd', outDir: join(HERE, 'recorded') };

function serverCommand(): [string, string[]] {
  if (target.name === 'etcd') return ['etcd', ['--log-level', 'error', '--logger', 'zap']];
  return [join(HERE, '../../node_modules/.bin/tsx'), [join(HERE, '../../src/cli/tsetcd.ts')]];
}

async function waitReady(child: ChildProcess): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) throw new Error(`${target.name} exited with ${child.exitCode}`);
    const probe = runCtl({ ctl: ['get', 'golden-probe'] });
    if (probe['exitCode'] === 0) return;
    await sleepMs(100);
  }
  throw new Error(`${target.name} did not become ready`);
}

async function startEtcd(dataDir: string): Promise<ChildProcess> {
  const [cmd, pre] = serverCommand();
  const child = spawn(
    cmd,
    [
      ...pre,
      '--name', 'golden',
      '--data-dir', dataDir,
      '--listen-client-urls', `http://${ENDPOINT}`,
      '--advertise-client-urls', `http://${ENDPOINT}`,
      '--listen-peer-urls', `http://127.0.0.1:${PEER_PORT}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${PEER_PORT}`,
      '--initial-cluster', `golden=http://127.0.0.1:${PEER_PORT}`,
    ],
    // Own process group: tsx runs the server in a child process, and both must die together.
    { stdio: ['ignore', 'ignore', 'ignore'], detached: true },
  );
  try {
    await waitReady(child);
  } catch (e) {
    killServer(child);
    throw e;
  }
  return child;
}

function killServer(child: ChildProcess): void {
  if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
}

function runCtl(step: Step): Record<string, unknown> {
  const argv = ['--endpoints', ENDPOINT, '-w', 'json', ...(step.ctl ?? [])];
  try {
    const stdout = execFileSync('etcdctl', argv, {
      input: step.stdin ?? '',
      env: { ...process.env, ETCDCTL_API: '3' },
      stdio: ['pipe', 'pipe', 'pipe'],
    }).toString();
    return { exitCode: 0, stdout, stderr: '' };
  } catch (e) {
    const err = e as { status?: number; stdout?: Buffer; stderr?: Buffer };
    return { exitCode: err.status ?? -1, stdout: err.stdout?.toString() ?? '', stderr: err.stderr?.toString() ?? '' };
  }
}

async function runGateway(step: Step): Promise<Record<string, unknown>> {
  const path = step.gw === 'hashkv' ? '/v3/maintenance/hash' : `/v3/kv/${step.gw}`;
  const body = JSON.stringify(step.body ?? {});
  const r = await fetch(`http://${ENDPOINT}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  return { httpStatus: r.status, response: await r.json() };
}

/** `$LEASE<n>` in argv or stdin stands for the hex id of the n-th lease granted in the sequence. */
function substituteLeases(text: string, leases: string[]): string {
  return text
    .replace(/\$LEASEDEC(\d+)/g, (_, n: string) => BigInt('0x' + (leases[Number(n)] ?? '0')).toString())
    .replace(/\$LEASE(\d+)/g, (_, n: string) => leases[Number(n)] ?? `missing-lease-${n}`);
}

function grantedLeaseHex(stdout: string): string | undefined {
  const m = /"ID":(\d+)/.exec(stdout);
  return m === null ? undefined : BigInt(m[1] as string).toString(16);
}

async function recordSequence(seq: Sequence, etcdVersion: string): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'golden-etcd-'));
  const etcd = await startEtcd(dataDir);
  const steps: Record<string, unknown>[] = [];
  const leases: string[] = [];
  try {
    for (const raw of seq.steps) {
      if (raw.ctl !== undefined) {
        const step: Step = { ctl: raw.ctl.map((a) => substituteLeases(a, leases)) };
        if (raw.stdin !== undefined) step.stdin = substituteLeases(raw.stdin, leases);
        const out = runCtl(step);
        if (step.ctl?.[0] === 'lease' && step.ctl[1] === 'grant') leases.push(grantedLeaseHex(String(out['stdout'])) ?? 'none');
        steps.push({ ctl: step.ctl, ...(step.stdin !== undefined ? { stdin: step.stdin } : {}), ...out });
      } else if (target.name !== 'etcd') {
        steps.push({ gw: raw.gw, skipped: 'gateway steps run against etcd only' });
      } else {
        const withLeases = JSON.parse(substituteLeases(JSON.stringify(raw.body ?? {}), leases)) as unknown;
        const body = encodeBody(expandPuts(withLeases)) as Record<string, unknown>;
        steps.push({ gw: raw.gw, body, ...(await runGateway({ ...raw, body })) });
      }
    }
  } finally {
    const exited = new Promise((resolve) => etcd.once('exit', resolve));
    killServer(etcd);
    await exited;
    await sleepMs(200); // let the group's other members release the ports
    rmSync(dataDir, { recursive: true, force: true });
  }
  const out = { name: seq.name, ...(seq.note !== undefined ? { note: seq.note } : {}), etcdVersion, steps };
  writeFileSync(join(target.outDir, `${seq.name}.json`), JSON.stringify(out, null, 2) + '\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const t = args.indexOf('--tsetcd');
  if (t >= 0) {
    target = { name: 'tsetcd', outDir: args[t + 1] ?? '/tmp/golden-tsetcd' };
    args.splice(t, 2);
  }
  const only = new Set(args);
  const etcdVersion = target.name === 'etcd' ? (execFileSync('etcd', ['--version']).toString().split('\n')[0] ?? 'unknown') : 'tsetcd';
  mkdirSync(target.outDir, { recursive: true });
  for (const file of ['sequences.json', 'heldout.json']) {
    const seqs = (JSON.parse(readFileSync(join(HERE, file), 'utf8')) as { sequences: Sequence[] }).sequences;
    for (const seq of seqs) {
      if (only.size > 0 && !only.has(seq.name)) continue;
      await recordSequence(seq, etcdVersion);
      console.log(`recorded ${seq.name} (${seq.steps.length} steps)`);
    }
  }
  await recordStreamScripts(only, etcdVersion);
}

/** Watch and lease scripts (ci/golden/streams.json) into recorded-streams/<name>.json. */
async function recordStreamScripts(only: ReadonlySet<string>, etcdVersion: string): Promise<void> {
  const outDir = join(target.outDir, '..', target.name === 'etcd' ? 'recorded-streams' : 'recorded-streams-tsetcd');
  mkdirSync(outDir, { recursive: true });
  const scripts = (JSON.parse(readFileSync(join(HERE, 'streams.json'), 'utf8')) as { scripts: StreamScript[] }).scripts;
  for (const script of scripts) {
    if (only.size > 0 && !only.has(script.name)) continue;
    const dataDir = mkdtempSync(join(tmpdir(), 'golden-streams-'));
    const server = await startEtcd(dataDir);
    try {
      const transcript = await playScript(ENDPOINT, script, etcdVersion);
      writeFileSync(join(outDir, `${script.name}.json`), JSON.stringify({ ...transcript, ...(script.note !== undefined ? { note: script.note } : {}) }, null, 2) + '\n');
      console.log(`recorded ${script.name} (${script.steps.length} steps, watch/lease)`);
    } finally {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      killServer(server);
      await exited;
      await sleepMs(200);
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
}

await main();
