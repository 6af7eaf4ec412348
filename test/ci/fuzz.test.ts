import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runFuzz } from '../../ci/fuzz-driver.js';
import { parseFuzzArgs } from '../../ci/fuzz-options.js';
import type { SeedOutcome } from '../../ci/fuzz-protocol.js';
import { parseScheduleFile } from '../../sim/schedule.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'fuzz-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs `npm run fuzz` as CI does (node + tsx, stdout not a TTY). */
function fuzzCli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'ci/fuzz.ts', ...args], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('npm run fuzz (end to end, real simulator)', () => {
  it('runs 6 seeds on 2 workers, prints the range and a summary, and exits 0', () => {
    const outDir = join(scratch, 'pass');
    const { code, stdout, stderr } = fuzzCli(['--seeds', '6', '--from', '300', '--jobs', '2', '--safety-ms', '500', '--workload', 'register', '--out-dir', outDir]);
    expect(stderr).not.toMatch(/error/i);
    expect(stdout).toContain('seeds 300..305');
    expect(stdout).toContain('2 job(s)');
    expect(stdout).toContain('seeds run 6 of 6: passed 6, failed 0');
    expect(stdout).toMatch(/\d+\.\d\d seeds\/s/);
    expect(stdout).toMatch(/slowest: (30[0-5] \d+\.\d\ds, ){4}30[0-5] \d+\.\d\ds/);
    expect(stdout).toContain('campaign: npm run fuzz -- --seeds 6 --from 300 --workload register --safety-ms 500');
    expect(stdout.trimEnd().endsWith('result: PASS')).toBe(true);
    expect(code).toBe(0);
    expect(existsSync(outDir)).toBe(false);
  });

  it('an injected failing seed is saved under the runs directory with its replay command, and the exit code is non-zero', () => {
    const outDir = join(scratch, 'fail');
    const { code, stdout } = fuzzCli(['--seeds', '3', '--from', '401', '--jobs', '2', '--safety-ms', '500', '--workload', 'register', '--out-dir', outDir, '--inject-failure', '402']);
    expect(code).toBe(1);
    expect(stdout).toContain('seeds run 3 of 3: passed 2, failed 1 (correctness 1)');
    expect(stdout).toContain(`FAILED seed 402: correctness`);
    expect(stdout).toContain('reproduce: npm run sim -- --seed 402 --time 500');
    expect(readdirSync(outDir)).toEqual(['402']);
    expect(readdirSync(join(outDir, '402')).sort()).toEqual(['config.json', 'history.jsonl', 'report.txt', 'schedule.json', 'trace.txt']);
    const report = readFileSync(join(outDir, '402', 'report.txt'), 'utf8');
    expect(report).toContain('status: correctness (exit 129)');
    expect(report).toContain('reproduce: npm run sim -- --seed 402 --time 500');
    expect(report).toContain('fuzz campaign: npm run fuzz -- --seeds 3 --from 401');
    const history = readFileSync(join(outDir, '402', 'history.jsonl'), 'utf8').trim().split('\n');
    expect(history.length).toBeGreaterThan(0);
    expect(JSON.parse(history[0] ?? '{}')).toHaveProperty('type');
    expect(JSON.parse(readFileSync(join(outDir, '402', 'config.json'), 'utf8')).options).toEqual({ seed: 402, workload: 'register', safetyMs: 500 });
  });

  it('a failing seed (test-only injected invariant) is shrunk to a small schedule that still fails when replayed', () => {
    const outDir = join(scratch, 'shrink');
    // Seed 7's profile partitions and then kills within its first second.
    const { code, stdout } = fuzzCli(['--seeds', '1', '--from', '7', '--jobs', '1', '--safety-ms', '1500', '--workload', 'register', '--out-dir', outDir, '--inject', 'kill-during-partition', '--shrink-budget', '60s']);
    expect(code).toBe(1);
    expect(stdout).toContain('FAILED seed 7: correctness — injected invariant kill-during-partition');
    expect(readdirSync(join(outDir, '7')).sort()).toEqual(['config.json', 'history.jsonl', 'report.txt', 'schedule.json', 'shrunk.json', 'trace.txt']);
    const shrunkPath = join(outDir, '7', 'shrunk.json');
    expect(stdout).toContain(`npm run sim -- --schedule ${shrunkPath}`);
    const recorded = parseScheduleFile(readFileSync(join(outDir, '7', 'schedule.json'), 'utf8'));
    const shrunk = parseScheduleFile(readFileSync(shrunkPath, 'utf8'));
    expect(shrunk.steps.length).toBeLessThanOrEqual(recorded.steps.length);
    expect(shrunk.steps.map((s) => s.action.f).sort()).toEqual(['kill', 'partition']);
    expect(shrunk.expect).toBe('correctness: injected invariant kill-during-partition');
    expect(readFileSync(join(outDir, '7', 'report.txt'), 'utf8')).toContain(`shrunk to ${shrunk.steps.length} step(s)`);
    const replay = spawnSync(process.execPath, ['--import', 'tsx', 'sim/main.ts', '--schedule', shrunkPath], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
    expect(replay.stdout).toContain('expected correctness: injected invariant kill-during-partition: reproduced');
    expect(replay.status).toBe(129);
    // The replay's own files go one level down, leaving the saved failure as it was.
    expect(existsSync(join(outDir, '7', 'replay-shrunk', 'report.txt'))).toBe(true);
  }, 120_000);

  it('bad arguments exit 2 with the usage', () => {
    const { code, stderr } = fuzzCli(['--seeds', '5', '--shard', '4/3']);
    expect(code).toBe(2);
    expect(stderr).toContain('--shard must be i/n');
    expect(stderr).toContain('usage: npm run fuzz');
  });
});

describe('fuzz driver with a fake worker', () => {
  const fakeWorker = fileURLToPath(new URL('./fixtures/fake-fuzz-worker.ts', import.meta.url));

  it('a dead or hung worker fails its seed, is replaced, and the campaign goes on', async () => {
    const outDir = join(scratch, 'fake');
    const plan = parseFuzzArgs(['--seeds', '6', '--from', '0', '--jobs', '2', '--seed-timeout', '1s', '--out-dir', outDir], () => ({ seed: 0, source: 'test' }));
    const failures: SeedOutcome[] = [];
    const summary = await runFuzz(plan, { workerPath: fakeWorker, failure: (o) => failures.push(o), campaign: 'fake campaign' });
    const bySeed = new Map(summary.outcomes.map((o) => [o.seed, o.status]));
    expect([...bySeed].sort((a, b) => a[0] - b[0])).toEqual([
      [0, 'pass'],
      [1, 'correctness'],
      [2, 'worker-died'],
      [3, 'timeout'],
      [4, 'pass'],
      [5, 'correctness'],
    ]);
    expect(failures.map((f) => f.seed).sort()).toEqual([1, 2, 3, 5]);
    // The driver writes a report for every failure the worker could not save itself.
    expect(readdirSync(outDir).sort()).toEqual(['1', '2', '3', '5']);
    const hung = readFileSync(join(outDir, '3', 'report.txt'), 'utf8');
    expect(hung).toContain('status: timeout');
    expect(hung).toContain('reproduce: npm run sim -- --seed 3 --time 3000 --workload kv');
    expect(hung).toContain('fuzz campaign: fake campaign');
    expect(summary.stoppedBy).toBeUndefined();
  });

  it('a time budget stops starting seeds and says which were left', async () => {
    const plan = parseFuzzArgs(['--seeds', '40', '--from', '0', '--jobs', '1', '--time-budget', '1ms', '--out-dir', join(scratch, 'budget')], () => ({ seed: 0, source: 'test' }));
    const summary = await runFuzz(plan, { workerPath: fakeWorker });
    expect(summary.stoppedBy).toBe('budget');
    expect(summary.outcomes.length + summary.notRun.length).toBe(40);
    expect(summary.notRun.at(-1)).toBe(39);
    expect(summary.notRun[0]).toBe(summary.outcomes.length);
  });

  it('an interrupt kills the workers and reports the seeds in flight and not started as not run', async () => {
    // Shard 4/4 of 0..39 is 3, 7, ..., 39: seeds the fake worker hangs on.
    const plan = parseFuzzArgs(['--seeds', '40', '--from', '0', '--shard', '4/4', '--jobs', '2', '--out-dir', join(scratch, 'interrupt')], () => ({ seed: 0, source: 'test' }));
    const abort = new AbortController();
    const pending = runFuzz(plan, { workerPath: fakeWorker, signal: abort.signal });
    setTimeout(() => abort.abort(), 1_500);
    const summary = await pending;
    expect(summary.stoppedBy).toBe('interrupt');
    expect(summary.outcomes).toEqual([]);
    expect(summary.notRun).toEqual([3, 7, 11, 15, 19, 23, 27, 31, 35, 39]);
  });
});
