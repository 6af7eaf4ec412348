import { describe, expect, it } from 'vitest';
import type { NemesisAction, TimedAction } from '../../nemesis/index.js';
import { runSimulation } from '../../sim/run.js';
import { SCHEDULE_FORMAT, failureClass, scheduleRunOptions } from '../../sim/schedule.js';
import type { ScheduleFile } from '../../sim/schedule.js';
import { renamed, shrinkSchedule } from '../../sim/schedule-shrink.js';
import type { ShrinkRun } from '../../sim/schedule-shrink.js';

const node = (id: string): { by: 'id'; id: string } => ({ by: 'id', id });
const at = (atMs: number, action: NemesisAction): TimedAction => ({ atMs, action });

/**
 * Twenty steps of faults that never overlap a kill with a partition, then one overlap near the
 * end: only the last partition and kill matter to the injected invariant.
 */
const LONG: TimedAction[] = [
  at(100, { f: 'pause', node: node('n1') }),
  at(150, { f: 'clock-jump', node: node('n2'), deltaMs: 300 }),
  at(200, { f: 'resume', node: node('n1') }),
  at(250, { f: 'partition', partition: { kind: 'one-way', from: ['n1'], to: ['n2'] }, id: 'p1' }),
  at(300, { f: 'slow-link', a: 'n2', b: 'n3', extraMs: 30, id: 's1' }),
  at(350, { f: 'heal', id: 'p1' }),
  at(400, { f: 'kill', node: node('n3') }),
  at(450, { f: 'restart', node: node('n3') }),
  at(500, { f: 'pause', node: node('n2') }),
  at(550, { f: 'resume', node: node('n2') }),
  at(600, { f: 'heal', id: 's1' }),
  at(650, { f: 'clock-skew', node: node('n1'), skewMs: -200 }),
  at(700, { f: 'kill', node: node('n1') }),
  at(750, { f: 'restart', node: node('n1') }),
  at(800, { f: 'partition', partition: { kind: 'halves', sides: [['n1', 'n2'], ['n3']] }, id: 'p2' }),
  at(850, { f: 'clock-skew', node: node('n1'), skewMs: 0 }),
  at(900, { f: 'heal', id: 'p2' }),
  at(1_000, { f: 'partition', partition: { kind: 'halves', sides: [['n1'], ['n2', 'n3']] }, id: 'p3' }),
  at(1_050, { f: 'pause', node: node('n3') }),
  at(1_100, { f: 'kill', node: node('n2') }),
  at(1_150, { f: 'resume', node: node('n3') }),
  at(1_200, { f: 'heal', id: 'p3' }),
  at(1_250, { f: 'restart', node: node('n2') }),
];

const LONG_FILE: ScheduleFile = {
  format: SCHEDULE_FORMAT,
  seed: 3,
  nodes: 5,
  workload: 'register',
  clients: 4,
  durationMs: 1_500,
  inject: 'kill-during-partition',
  steps: LONG,
};

describe('shrinking a failing schedule', () => {
  it('shrinks a 23-step schedule to the partition and kill that overlap, and the shrunk one still fails on replay', async () => {
    let runs = 0;
    const lines: string[] = [];
    const result = await shrinkSchedule(LONG_FILE, {
      maxRuns: 120,
      run: (f) => (runs++, runSimulation({ ...scheduleRunOptions(f), checkerTimeoutMs: 5_000 })),
      log: (l) => lines.push(l),
    });
    expect(result.failure).toBe('correctness: injected invariant kill-during-partition');
    expect(result.budgetSpent).toBe(false);
    expect(result.runs).toBe(runs);
    const shrunk = result.shrunk;
    expect(shrunk.steps.map((s) => s.action.f)).toEqual(['partition', 'kill']);
    expect(shrunk.steps.length).toBeLessThan(LONG.length);
    expect(shrunk.nodes).toBe(3);
    expect(shrunk.clients).toBe(1);
    expect(shrunk.opsMax).toBe(1);
    expect(shrunk.quiet).toEqual(['network', 'disk', 'clock']);
    expect(shrunk.durationMs).toBeLessThan(LONG_FILE.durationMs);
    expect(shrunk.expect).toBe(result.failure);
    expect(lines[0]).toMatch(/reproducing correctness/);
    const replay = await runSimulation(scheduleRunOptions(shrunk));
    expect(failureClass(replay)).toBe(result.failure);
  }, 180_000);

  it('stops at the run budget with the smallest failing schedule found so far', async () => {
    const result = await shrinkSchedule(LONG_FILE, { maxRuns: 3, run: (f) => runSimulation({ ...scheduleRunOptions(f), checkerTimeoutMs: 5_000 }) });
    expect(result.budgetSpent).toBe(true);
    expect(result.runs).toBe(3);
    expect(result.shrunk.steps.length).toBeLessThanOrEqual(LONG.length);
    expect(failureClass(await runSimulation(scheduleRunOptions(result.shrunk)))).toBe(result.failure);
  }, 60_000);

  it('a failure on n4 and n5 shrinks to 3 nodes by renaming them onto n1..n3', async () => {
    const file: ScheduleFile = {
      ...LONG_FILE,
      steps: [
        at(300, { f: 'pause', node: node('n1') }),
        at(400, { f: 'partition', partition: { kind: 'halves', sides: [['n4'], ['n1', 'n2', 'n3', 'n5']] }, id: 'p' }),
        at(500, { f: 'kill', node: node('n5') }),
      ],
    };
    const result = await shrinkSchedule(file, { maxRuns: 60, run: (f) => runSimulation({ ...scheduleRunOptions(f), checkerTimeoutMs: 5_000 }) });
    expect(result.shrunk.nodes).toBe(3);
    expect(result.shrunk.steps).toHaveLength(2);
    expect(JSON.stringify(result.shrunk.steps)).not.toMatch(/n4|n5/);
    expect(failureClass(await runSimulation(scheduleRunOptions(result.shrunk)))).toBe(result.failure);
  }, 120_000);

  it('renaming merges nodes without duplicating them on a side', () => {
    const map = new Map([
      ['n4', 'n3'],
      ['n5', 'n2'],
    ]);
    expect(renamed({ f: 'partition', partition: { kind: 'halves', sides: [['n4', 'n3'], ['n1', 'n2', 'n5']] } }, map)).toEqual({
      f: 'partition',
      partition: { kind: 'halves', sides: [['n3'], ['n1', 'n2']] },
    });
    expect(renamed({ f: 'kill', node: node('n5') }, map)).toEqual({ f: 'kill', node: node('n2') });
    expect(renamed({ f: 'kill', node: { by: 'leader' } }, map)).toEqual({ f: 'kill', node: { by: 'leader' } });
    expect(renamed({ f: 'slow-link', a: 'n4', b: 'n1', extraMs: 5 }, map)).toEqual({ f: 'slow-link', a: 'n3', b: 'n1', extraMs: 5 });
  });

  it('a schedule that passes is returned unshrunk after one run', async () => {
    let runs = 0;
    const passing: ShrinkRun = { status: 'pass', message: 'ok', virtualMs: 10, opsCompleted: 5 };
    const result = await shrinkSchedule(LONG_FILE, { maxRuns: 10, run: async () => (runs++, passing) });
    expect(result).toMatchObject({ failure: 'pass', runs: 1, budgetSpent: false });
    expect(result.shrunk).toBe(LONG_FILE);
    expect(runs).toBe(1);
  });

  it('ddmin finds a two-step cause among many with a synthetic predicate', async () => {
    // Fails iff steps 'a' and 'b' both remain (a model of an interaction bug), regardless of the rest.
    const steps = Array.from({ length: 40 }, (_, i): TimedAction => at(i * 10, { f: 'heal', id: i === 7 ? 'a' : i === 31 ? 'b' : `x${i}` }));
    const file: ScheduleFile = { ...LONG_FILE, steps };
    const run = async (f: ScheduleFile): Promise<ShrinkRun> => {
      const ids = new Set(f.steps.map((s) => (s.action.f === 'heal' ? s.action.id : undefined)));
      return ids.has('a') && ids.has('b') ? { status: 'crash', message: 'assertion failed: x', virtualMs: 1e9, opsCompleted: 3 } : { status: 'pass', message: 'ok', virtualMs: 1e9, opsCompleted: 3 };
    };
    const result = await shrinkSchedule(file, { maxRuns: 500, run });
    expect(result.shrunk.steps.map((s) => (s.action.f === 'heal' ? s.action.id : ''))).toEqual(['a', 'b']);
    expect(result.failure).toBe('crash: assertion failed: x');
    // The shrinking itself is a deterministic function of the input and the run budget.
    const again = await shrinkSchedule(file, { maxRuns: 500, run });
    expect(again).toEqual(result);
  });
});
