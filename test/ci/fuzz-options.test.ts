import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { campaignCommand, parseDurationMs, parseFuzzArgs, runOptionsFor, seedFromCommitHash, shardSeeds } from '../../ci/fuzz-options.js';
import { formatDuration, formatSummary, progressLine, ProgressReporter } from '../../ci/fuzz-progress.js';
import type { SeedOutcome } from '../../ci/fuzz-protocol.js';
import { reproduceCommand } from '../../sim/report.js';

const fixedFrom = (): { seed: number; source: string } => ({ seed: 777, source: 'test' });

describe('fuzz options', () => {
  it('parses a full command line', () => {
    const plan = parseFuzzArgs(
      ['--seeds', '1000', '--from', '42', '--shard', '2/3', '--workload', 'kv', '--time-budget', '10m', '--safety-ms', '2000', '--jobs', '2', '--inject-failure', '5,7'],
      fixedFrom,
    );
    expect(plan).toMatchObject({ seedCount: 1000, fromSeed: 42, fromSource: '--from', shardIndex: 2, shardCount: 3, workload: 'kv', timeBudgetMs: 600_000, safetyMs: 2000, jobs: 2 });
    expect([...plan.injectFailureSeeds]).toEqual([5, 7]);
  });

  it('parses the schedule options: mode, shrink budget (0 = off), the test-only injected invariant', () => {
    const plan = parseFuzzArgs(['--seeds', '9', '--mode', 'schedule', '--shrink-budget', '2m', '--inject', 'kill-during-partition'], fixedFrom);
    expect(plan).toMatchObject({ mode: 'schedule', shrinkBudgetMs: 120_000, inject: 'kill-during-partition' });
    expect(parseFuzzArgs(['--seeds', '9'], fixedFrom)).toMatchObject({ mode: 'seeds', shrinkBudgetMs: 60_000, inject: undefined });
    expect(parseFuzzArgs(['--seeds', '9', '--shrink-budget', '0'], fixedFrom).shrinkBudgetMs).toBe(0);
    expect(() => parseFuzzArgs(['--seeds', '9', '--mode', 'chaos'], fixedFrom)).toThrow(/--mode/);
    expect(() => parseFuzzArgs(['--seeds', '9', '--inject', 'bug'], fixedFrom)).toThrow(/--inject/);
    expect(campaignCommand(plan)).toContain('--mode schedule --inject kill-during-partition');
    expect(reproduceCommand(runOptionsFor(plan, 4))).toBe('npm run sim -- --seed 4 --time 3000 --inject kill-during-partition');
  });

  it('defaults the first seed to the commit-derived one, and the workload to mixed', () => {
    const plan = parseFuzzArgs(['--seeds', '3'], fixedFrom);
    expect(plan.fromSeed).toBe(777);
    expect(plan.fromSource).toBe('test');
    expect(plan.workload).toBe('mixed');
    expect(plan.timeBudgetMs).toBeUndefined();
  });

  it('rejects bad arguments', () => {
    for (const argv of [[], ['--seeds', '0'], ['--seeds', '5', '--shard', '0/2'], ['--seeds', '5', '--shard', '3/2'], ['--seeds', 'x'], ['--seeds', '5', '--workload', 'foo'], ['--seeds', '5', '--time-budget', '10 minutes'], ['--seeds', '5', '--bogus']]) {
      expect(() => parseFuzzArgs(argv, fixedFrom), argv.join(' ')).toThrow();
    }
  });

  it('derives the first seed from the commit hash: stable, below 2^31, different per commit', () => {
    const a = seedFromCommitHash('8e969a4d0c6f1e0a7b8c9d0e1f2a3b4c5d6e7f80');
    expect(a).toBe(seedFromCommitHash('8e969a4d0c6f1e0a7b8c9d0e1f2a3b4c5d6e7f80'));
    expect(a).toBe(0x8e969a4d % 2 ** 31);
    expect(seedFromCommitHash('b6d7991aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')).not.toBe(a);
    expect(() => seedFromCommitHash('not a hash')).toThrow();
  });

  it('parses durations', () => {
    expect(parseDurationMs('--t', '12m')).toBe(720_000);
    expect(parseDurationMs('--t', '90s')).toBe(90_000);
    expect(parseDurationMs('--t', '90')).toBe(90_000);
    expect(parseDurationMs('--t', '1.5h')).toBe(5_400_000);
    expect(parseDurationMs('--t', '250ms')).toBe(250);
    expect(() => parseDurationMs('--t', '0s')).toThrow();
  });

  it('shards partition the campaign: disjoint, complete, every n-th seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 1, max: 9 }), (seedCount, fromSeed, shardCount) => {
        const all = Array.from({ length: shardCount }, (_, i) => shardSeeds({ seedCount, fromSeed, shardIndex: i + 1, shardCount }));
        const flat = all.flat().sort((x, y) => x - y);
        expect(flat).toEqual(Array.from({ length: seedCount }, (_, i) => fromSeed + i));
        all.forEach((seeds, i) => seeds.forEach((s) => expect((s - fromSeed) % shardCount).toBe(i)));
      }),
      { numRuns: 50 },
    );
  });

  it('mixed alternates workloads by seed, and the replay command carries them', () => {
    const plan = { workload: 'mixed' as const, safetyMs: 2000 };
    expect(runOptionsFor(plan, 10).workload).toBe('register');
    expect(runOptionsFor(plan, 11).workload).toBe('kv');
    expect(reproduceCommand(runOptionsFor(plan, 11))).toBe('npm run sim -- --seed 11 --time 2000 --workload kv');
    expect(reproduceCommand(runOptionsFor(plan, 10))).toBe('npm run sim -- --seed 10 --time 2000');
    expect(reproduceCommand(runOptionsFor({ ...plan, membership: true }, 10))).toBe('npm run sim -- --seed 10 --time 2000 --membership');
  });

  it('the campaign command reproduces the plan', () => {
    const plan = parseFuzzArgs(['--seeds', '100', '--from', '9', '--shard', '1/4', '--safety-ms', '1500', '--workload', 'register', '--membership'], fixedFrom);
    const again = parseFuzzArgs(campaignCommand(plan).split(' ').slice(4), fixedFrom);
    expect(shardSeeds(again)).toEqual(shardSeeds(plan));
    expect(again).toMatchObject({ workload: 'register', safetyMs: 1500, shardIndex: 1, shardCount: 4, membership: true });
  });
});

describe('fuzz progress and summary', () => {
  it('progress line shows done/total, failures, rate and ETA', () => {
    expect(progressLine({ done: 50, total: 200, failed: 2, elapsedMs: 25_000 })).toBe(
      '[#####...............] 50/200 (25%) failed 2, 2.00 seeds/s, elapsed 25s, ETA 1m15s',
    );
    expect(progressLine({ done: 0, total: 10, failed: 0, elapsedMs: 0 })).toContain('ETA ?');
    expect(formatDuration(3_725_000)).toBe('1h02m');
  });

  it('plain mode prints sparingly; TTY mode redraws in place', () => {
    const plain: string[] = [];
    const r = new ProgressReporter((t) => plain.push(t), false, 0);
    for (let done = 1; done <= 100; done++) r.update({ done, total: 100, failed: 0, elapsedMs: done * 10 }, done * 10, done === 100);
    expect(plain.length).toBe(10);
    expect(plain.every((l) => l.startsWith('progress: ') && l.endsWith('\n'))).toBe(true);
    const tty: string[] = [];
    const t = new ProgressReporter((x) => tty.push(x), true);
    t.update({ done: 1, total: 2, failed: 0, elapsedMs: 10 }, 10);
    t.line('FAIL seed 1');
    expect(tty).toEqual([`\r\x1b[K${progressLine({ done: 1, total: 2, failed: 0, elapsedMs: 10 })}`, '\r\x1b[K', 'FAIL seed 1\n']);
  });

  it('summary counts failures by status, lists the slowest seeds and each failure with its replay', () => {
    const plan = parseFuzzArgs(['--seeds', '4', '--from', '0', '--jobs', '2', '--time-budget', '1m'], fixedFrom);
    const outcome = (seed: number, status: SeedOutcome['status'], wallMs: number): SeedOutcome => ({
      seed,
      status,
      message: status === 'pass' ? 'ok' : 'bad',
      wallMs,
      reproduce: `npm run sim -- --seed ${seed}`,
      ...(status === 'pass' ? {} : { savedDir: `histories/runs/${seed}` }),
    });
    const lines = formatSummary(plan, 'CAMPAIGN', {
      planned: 4,
      outcomes: [{ ...outcome(0, 'pass', 100), linearizability: 'unknown' }, outcome(1, 'liveness', 900), outcome(2, 'timeout', 5000)],
      wallMs: 6000,
      stoppedBy: 'budget',
      notRun: [3],
    });
    const text = lines.join('\n');
    expect(text).toContain('seeds run 3 of 4: passed 1, failed 2 (liveness 1, timeout 1)');
    expect(text).toContain('0.50 seeds/s with 2 job(s)');
    expect(text).toContain('time budget of 1m00s ran out: 1 seed(s) not run (seeds 3..3)');
    expect(text).toContain('slowest: 2 5.00s, 1 0.90s, 0 0.10s');
    expect(text).toContain('linearizability unknown (checker deadline) on 1 seed(s), counted as passed: 0');
    expect(text).toContain('FAILED seed 1: liveness — bad\n  saved to histories/runs/1/\n  reproduce: npm run sim -- --seed 1');
    expect(lines.at(-1)).toBe('result: FAIL (2 failing seed(s))');
  });
});
