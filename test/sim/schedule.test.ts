import { describe, expect, it } from 'vitest';
import type { TimedAction } from '../../nemesis/index.js';
import { runSimulation } from '../../sim/run.js';
import {
  SCHEDULE_FORMAT,
  ScheduleFormatError,
  describeScheduleFile,
  failureClass,
  formatScheduleFile,
  parseScheduleFile,
  scheduleOfRun,
  scheduleRunOptions,
} from '../../sim/schedule.js';
import type { ScheduleFile } from '../../sim/schedule.js';

const STEPS: TimedAction[] = [
  { atMs: 300, action: { f: 'partition', partition: { kind: 'halves', sides: [['n1'], ['n2', 'n3']] }, id: 'a' } },
  { atMs: 350, action: { f: 'slow-link', a: 'n2', b: 'n3', extraMs: 40, id: 's' } },
  { atMs: 500, action: { f: 'pause', node: { by: 'id', id: 'n2' } } },
  { atMs: 700, action: { f: 'resume', node: { by: 'id', id: 'n2' } } },
  { atMs: 800, action: { f: 'heal', id: 'a' } },
  { atMs: 900, action: { f: 'clock-jump', node: { by: 'id', id: 'n3' }, deltaMs: 250 } },
  { atMs: 1000, action: { f: 'kill', node: { by: 'leader' } } },
  { atMs: 1100, action: { f: 'kill', node: { by: 'id', id: 'n9' } } },
  { atMs: 1200, action: { f: 'heal' } },
  { atMs: 1300, action: { f: 'restart', node: { by: 'id', id: 'n1' } } },
  { atMs: 1300, action: { f: 'restart', node: { by: 'id', id: 'n2' } } },
  { atMs: 1300, action: { f: 'restart', node: { by: 'id', id: 'n3' } } },
];

const FILE: ScheduleFile = { format: SCHEDULE_FORMAT, seed: 5, nodes: 3, workload: 'register', clients: 3, durationMs: 1_500, quiet: ['disk'], steps: STEPS };

describe('schedule files', () => {
  it('round-trip through JSON, one step per line', () => {
    const text = formatScheduleFile(FILE);
    expect(parseScheduleFile(text)).toEqual(FILE);
    const stepLines = text.split('\n').filter((l) => l.trim().startsWith('{"atMs"'));
    expect(stepLines).toHaveLength(STEPS.length);
    expect(describeScheduleFile(FILE).split('\n')[0]).toBe('schedule: seed 5, 3 nodes, workload register, 3 clients, 1500ms; quiet disk: 12 step(s)');
    expect(parseScheduleFile(formatScheduleFile({ ...FILE, steps: [] })).steps).toEqual([]);
  });

  it('failure classes keep what a replay reproduces and drop what it may not (numbers, node names, keys)', () => {
    expect(failureClass({ status: 'pass', message: 'ok' })).toBe('pass');
    expect(failureClass({ status: 'correctness', message: 'leader completeness: n4, leader of term 3, lacks entry 44\nmore' })).toBe('correctness: leader completeness');
    expect(failureClass({ status: 'crash', message: 'assertion failed: commit 178 beyond last index 159\n  at x' })).toBe('crash: assertion failed: commit N beyond last index N');
    expect(failureClass({ status: 'correctness', message: 'history is not linearizable (keys k1, k2)' })).toBe('correctness: history is not linearizable');
    expect(failureClass({ status: 'liveness', message: 'no convergence within 20000ms after healing: no leader' })).toBe('liveness: no convergence within Nms after healing');
  });

  it('reject malformed files naming the problem', () => {
    const bad = (patch: Record<string, unknown>): string => JSON.stringify({ ...FILE, ...patch });
    expect(() => parseScheduleFile('{')).toThrow(ScheduleFormatError);
    expect(() => parseScheduleFile(bad({ format: 'x' }))).toThrow(/format must be/);
    expect(() => parseScheduleFile(bad({ nodes: 4 }))).toThrow(/nodes must be 3 or 5/);
    expect(() => parseScheduleFile(bad({ workload: 'bank' }))).toThrow(/workload/);
    expect(() => parseScheduleFile(bad({ durationMs: -1 }))).toThrow(/durationMs/);
    expect(() => parseScheduleFile(bad({ quiet: ['cpu'] }))).toThrow(/quiet/);
    expect(() => parseScheduleFile(bad({ steps: [{ atMs: 1, action: { f: 'explode' } }] }))).toThrow(/steps\[0\]\.action\.f/);
    expect(() => parseScheduleFile(bad({ steps: [{ atMs: 1, action: { f: 'kill', node: { by: 'name' } } }] }))).toThrow(/steps\[0\]\.action\.node/);
    expect(() => parseScheduleFile(bad({ steps: [{ atMs: 1, action: { f: 'partition' } }] }))).toThrow(/malformed/);
  });

  it('the interpreter runs each step at its time and records it; unknown nodes are skipped, not fatal', async () => {
    const r = await runSimulation(scheduleRunOptions(FILE));
    expect(r.status).toBe('pass');
    expect(r.skippedSteps).toEqual(['1100ms kill n9 (unknown node n9)']);
    // Leader selectors are resolved when the step runs: the recorded step names the node.
    const ran = r.steps.map((s) => `${s.atMs} ${s.action.f}`);
    expect(ran).toEqual(STEPS.filter((s) => !(s.action.f === 'kill' && 'node' in s.action && s.action.node.by === 'id' && s.action.node.id === 'n9')).map((s) => `${s.atMs} ${s.action.f}`));
    const killed = r.steps.find((s) => s.action.f === 'kill')?.action;
    expect(killed?.f === 'kill' && killed.node.by === 'id').toBe(true);
    const nemesisOps = r.history.filter((op) => op.process === 'nemesis' && op.type === 'invoke').map((op) => `${op.time / 1e6} ${op.f}`);
    expect(nemesisOps.slice(0, 3)).toEqual(['300 partition', '350 slow-link', '500 pause']);
    expect(nemesisOps).toContain('900 clock-jump');
    expect(r.opsCompleted).toBeGreaterThan(10);
  }, 60_000);

  it('a schedule replays deterministically, and differs from the seed run without it', async () => {
    const a = await runSimulation(scheduleRunOptions(FILE));
    const b = await runSimulation(scheduleRunOptions(FILE));
    expect(b.traceHash).toBe(a.traceHash);
    expect(JSON.stringify(b.history)).toBe(JSON.stringify(a.history));
    const c = await runSimulation({ ...scheduleRunOptions(FILE), schedule: STEPS.slice(0, 2) });
    expect(c.traceHash).not.toBe(a.traceHash);
  }, 60_000);

  it('a failing random-profile run records a schedule that fails the same way when replayed', async () => {
    // Seed 7's profile partitions and kills early; the test-only invariant fails when they overlap.
    const run = { seed: 7, safetyMs: 5_000, inject: 'kill-during-partition' as const };
    const original = await runSimulation(run);
    expect(original.status).toBe('correctness');
    expect(original.steps.length).toBeGreaterThan(1);
    const recorded = parseScheduleFile(formatScheduleFile(scheduleOfRun(run, original)));
    expect(recorded.expect).toBe('correctness: injected invariant kill-during-partition');
    expect(recorded.steps).toEqual(original.steps);
    const replay = await runSimulation(scheduleRunOptions(recorded));
    expect(failureClass(replay)).toBe(recorded.expect);
    expect(replay.skippedSteps).toEqual([]);
    expect(replay.steps).toEqual(recorded.steps);
  }, 60_000);
});
