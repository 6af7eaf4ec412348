/**
 * The tsetcdctl executable itself (src/cli/tsetcdctl.ts under tsx): stdin, files, exit codes
 * and stderr wiring, which the in-process comparison tests do not go through.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMember } from './ctl-harness.js';
import type { Member, Run } from './ctl-harness.js';

function bin(argv: readonly string[], stdin = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/tsetcdctl.ts', ...argv], { cwd: join(import.meta.dirname, '../..') });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ out, err, code: code ?? -1 }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

describe('tsetcdctl executable', () => {
  let member: Member;
  let dir: string;
  beforeAll(async () => {
    member = await startMember();
    dir = mkdtempSync(join(tmpdir(), 'tsetcdctl-bin-'));
  }, 30_000);
  afterAll(async () => {
    await member?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a put value and a txn from stdin', async () => {
    const ep = `--endpoints=${member.endpoint}`;
    const [put, txn] = [await bin([ep, 'put', 'k', '--prev-kv'], 'from stdin'), await bin([ep, 'txn'], 'value("k") = "from stdin"\n\nget k\n\n\n')];
    expect(put).toEqual({ out: 'OK\n', err: '', code: 0 });
    expect(txn).toEqual({ out: 'SUCCESS\n\nk\nfrom stdin\n', err: '', code: 0 });
  }, 60_000);

  it('saves a snapshot to a file', async () => {
    const path = join(dir, 'snap.db');
    const r = await bin([`--endpoints=${member.endpoint}`, 'snapshot', 'save', path]);
    expect(r).toEqual({ out: `Snapshot saved at ${path}\n`, err: '', code: 0 });
    // etcd appends the SHA-256 of the data; a whole file is more than the digest.
    expect(statSync(path).size).toBeGreaterThan(32);
    expect(readFileSync(path).length).toBe(statSync(path).size);
  }, 60_000);

  it('exits 1 with etcdctl wording when the endpoint is down, and 128 on bad arguments', async () => {
    const down = await bin(['--endpoints=127.0.0.1:1', '--command-timeout=1s', 'get', 'k']);
    expect(down).toEqual({ out: '', err: 'Error: context deadline exceeded\n', code: 1 });
    const bad = await bin([`--endpoints=${member.endpoint}`, 'get']);
    expect(bad).toEqual({ out: '', err: 'Error: get command needs one argument as key and an optional argument as range_end\n', code: 128 });
  }, 60_000);
});
