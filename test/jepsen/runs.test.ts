/**
 * Short Jepsen-style runs on real processes: tsetcd and etcd under kill + pause, tsetcd under
 * partitions (when namespaces work). Each must give a valid, non-trivial history: enough ops
 * completed, at least one fault applied, the cluster serving again after healing, and nothing
 * (processes, namespaces) left behind.
 */
import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS, namespaceProblem, NS_PREFIX, runJepsen } from '../../ci/jepsen/index.js';
import type { JepsenOptions, RunResult } from '../../ci/jepsen/index.js';
import { decodeJsonl } from '../../histories/index.js';

const problem = await namespaceProblem();
if (problem !== undefined) console.log(`test/jepsen/runs: partition run skipped, network namespaces unavailable: ${problem}`);
const hasEtcd = existsSync('/usr/bin/etcd');
if (!hasEtcd) console.log('test/jepsen/runs: etcd run skipped, /usr/bin/etcd is not installed');

/** Ops that must complete in ~10 s of workload under faults; tsetcd under tsx on a 2-core machine at load 15-20 managed 29-60. */
const OK_OPS_MIN = 15;

function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith(NS_PREFIX)).map((l) => l.split(' ')[0] ?? '');
}

async function shortRun(overrides: Partial<JepsenOptions>): Promise<RunResult> {
  const out = mkdtempSync(join(tmpdir(), 'tsetcd-jepsen-test-'));
  const lines: string[] = [];
  const options: JepsenOptions = { ...DEFAULTS, timeS: 8, quietS: 2, faultS: 2, recoveryS: 2, recoveryMaxS: 30, clients: 4, out, ...overrides };
  try {
    const r = await runJepsen(options, (l) => lines.push(l));
    if (r.summary.verdict !== 'valid') console.log(`${lines.join('\n')}\n${r.checkText}\nhistory kept in ${out}`);
    expect(r.summary.verdict).toBe('valid');
    expect(r.exitCode).toBe(0);
    expect(r.summary.ops.ok).toBeGreaterThanOrEqual(OK_OPS_MIN);
    expect(r.summary.faultsApplied).toBeGreaterThanOrEqual(1);
    expect(r.summary.recoveryOk).toBeGreaterThan(0);
    expect(r.summary.recoveredAfterS).not.toBeNull();
    // The history on disk is what was checked, nemesis ops included.
    const history = decodeJsonl(readFileSync(join(out, 'history.jsonl'), 'utf8'));
    expect(history.filter((o) => o.process !== 'nemesis' && o.type === 'ok')).toHaveLength(r.summary.ops.ok);
    expect(history.some((o) => o.process === 'nemesis')).toBe(true);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('Fault timeline');
    // Only this run's namespaces: another test file may be running its own meanwhile.
    const left = namespaces();
    expect(r.summary.namespaces.filter((ns) => left.includes(ns))).toEqual([]);
    if (r.summary.net === 'netns') expect(r.summary.namespaces).toHaveLength(options.nodes);
    if (r.summary.verdict === 'valid') rmSync(out, { recursive: true, force: true });
    return r;
  } catch (error) {
    console.log(`jepsen test run failed; log:\n${lines.join('\n')}\nfiles kept in ${out}`);
    throw error;
  }
}

describe('jepsen on real processes', () => {
  it('tsetcd, register, kill + pause: valid', async () => {
    const r = await shortRun({ target: 'tsetcd', nemesis: ['kill', 'pause'] });
    const kinds = new Set(r.summary.faults.filter((f) => f.applied).map((f) => f.action.split(' ')[0]));
    expect(kinds.has('kill') || kinds.has('pause')).toBe(true);
  });

  it.skipIf(!hasEtcd)('etcd 3.4, register, kill + pause: valid', async () => {
    await shortRun({ target: 'etcd', nemesis: ['kill', 'pause'] });
  });

  it.skipIf(problem !== undefined)('tsetcd, list-append, partition: valid, and the partition cut peers', async () => {
    const r = await shortRun({ target: 'tsetcd', workload: 'list-append', nemesis: ['partition'], net: 'netns' });
    const cut = r.summary.faults.find((f) => f.action.startsWith('partition') && f.applied);
    expect(cut?.notes.join(' ') ?? '').toMatch(/cut [1-9]\d* link/);
  });
});
