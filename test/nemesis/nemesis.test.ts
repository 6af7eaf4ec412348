import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  actionToOp,
  applyAction,
  describeAction,
  DISK_FAULT_KINDS,
  FAULT_FAMILIES,
  formatSchedule,
  generateSchedule,
  NEMESIS_FS,
  PARTITION_KINDS,
  scheduleArbitrary,
} from '../../nemesis/index.js';
import type { DiskFault, FaultTarget, NemesisAction, Partition, Schedule, ScheduleConfig } from '../../nemesis/index.js';

const FIVE = ['n1', 'n2', 'n3', 'n4', 'n5'];
const CONFIG: ScheduleConfig = { nodes: FIVE, durationMs: 10_000 };

/** Every node name an action names (learners included). */
function namedNodes(a: NemesisAction): string[] {
  const sel = (s: { by: 'id'; id: string } | { by: 'leader' }): string[] => (s.by === 'id' ? [s.id] : []);
  switch (a.f) {
    case 'partition': {
      const p = a.partition;
      if (p.kind === 'halves') return [...p.sides[0], ...p.sides[1]];
      if (p.kind === 'bridge') return [...p.left, p.bridge, ...p.right];
      if (p.kind === 'ring') return [...p.order];
      if (p.kind === 'one-way') return [...p.from, ...p.to];
      return [];
    }
    case 'heal':
      return [];
    case 'slow-link':
      return [a.a, a.b];
    case 'add-learner':
    case 'promote':
      return [a.id];
    case 'transfer-leader':
      return sel(a.to);
    default:
      return sel(a.node);
  }
}

function wellFormed(s: Schedule): void {
  const learners = new Set(s.steps.flatMap((t) => (t.action.f === 'add-learner' ? [t.action.id] : [])));
  for (const [i, step] of s.steps.entries()) {
    expect(step.atMs).toBeGreaterThanOrEqual(0);
    expect(step.atMs).toBeLessThanOrEqual(s.durationMs);
    if (i > 0) expect(step.atMs).toBeGreaterThanOrEqual(s.steps[i - 1]?.atMs ?? 0);
    expect(NEMESIS_FS).toContain(step.action.f);
    for (const n of namedNodes(step.action)) expect(s.nodes.includes(n) || learners.has(n), `${n} in ${describeAction(step.action)}`).toBe(true);
  }
  // Learners get fresh names, and each is promoted only after it was added.
  expect(learners.size).toBe(s.steps.filter((t) => t.action.f === 'add-learner').length);
  for (const l of learners) expect(s.nodes).not.toContain(l);
  for (const [i, step] of s.steps.entries()) {
    if (step.action.f === 'promote') {
      const id = step.action.id;
      expect(s.steps.slice(0, i).some((t) => t.action.f === 'add-learner' && t.action.id === id)).toBe(true);
    }
  }
}

describe('nemesis schedules', () => {
  it('generated schedules are well formed for 3 and 5 nodes and every family', () => {
    fc.assert(
      fc.property(scheduleArbitrary(CONFIG), wellFormed),
      { numRuns: 200, seed: 7 },
    );
    fc.assert(fc.property(scheduleArbitrary({ nodes: ['n1', 'n2', 'n3'], durationMs: 500, maxEpisodes: 20 }), wellFormed), { numRuns: 200, seed: 8 });
  });

  it('a faulted node is brought back: every kill or pause is followed by a restart or resume of that node', () => {
    fc.assert(
      fc.property(scheduleArbitrary({ ...CONFIG, families: ['crash', 'pause', 'disk'] }), (s) => {
        s.steps.forEach((step, i) => {
          const a = step.action;
          const undo = a.f === 'kill' || (a.f === 'disk' && (a.fault.kind === 'lose-unsynced' || a.fault.kind === 'torn-write')) ? 'restart' : a.f === 'pause' ? 'resume' : undefined;
          if (undo === undefined || !('node' in a)) return;
          const target = a.node.by === 'id' ? a.node.id : undefined;
          const later = s.steps.slice(i + 1).filter((t) => t.action.f === undo && 'node' in t.action && t.action.node.by === 'id');
          const ids = later.map((t) => ('node' in t.action && t.action.node.by === 'id' ? t.action.node.id : ''));
          if (target !== undefined) expect(ids).toContain(target);
          else expect(new Set(ids)).toEqual(new Set(s.nodes)); // the leader then: every node
        });
      }),
      { numRuns: 200, seed: 9 },
    );
  });

  it('the same seed gives the same schedule; different seeds differ', () => {
    const a = generateSchedule(42, CONFIG);
    expect(generateSchedule(42, CONFIG)).toEqual(a);
    const distinct = new Set([1, 2, 3, 4, 5, 6, 7, 8].map((seed) => JSON.stringify(generateSchedule(seed, CONFIG))));
    expect(distinct.size).toBeGreaterThan(4);
  });

  it('covers the whole vocabulary: every action, partition kind and disk fault appears', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 300; seed++) {
      for (const { action } of generateSchedule(seed, { ...CONFIG, maxEpisodes: 12 }).steps) {
        seen.add(action.f);
        if (action.f === 'partition') seen.add(`partition:${action.partition.kind}`);
        if (action.f === 'disk') seen.add(`disk:${action.fault.kind}`);
      }
    }
    for (const f of NEMESIS_FS) expect(seen).toContain(f);
    for (const k of PARTITION_KINDS) expect(seen).toContain(`partition:${k}`);
    for (const k of DISK_FAULT_KINDS) expect(seen).toContain(`disk:${k}`);
  });

  it('families and partition kinds can be switched off', () => {
    fc.assert(
      fc.property(scheduleArbitrary({ ...CONFIG, families: ['partition'], partitionKinds: ['ring'] }), (s) => {
        for (const { action } of s.steps) {
          expect(['partition', 'heal']).toContain(action.f);
          if (action.f === 'partition') expect(action.partition.kind).toBe('ring');
        }
      }),
      { numRuns: 100, seed: 10 },
    );
    expect(fc.sample(scheduleArbitrary({ ...CONFIG, families: [] }), { seed: 1, numRuns: 5 }).every((s) => s.steps.length === 0)).toBe(true);
    expect(FAULT_FAMILIES.length).toBe(6);
  });

  it('a failing schedule shrinks to the one fault that matters, early and short', () => {
    // Pretend the system fails whenever n3 is killed while some partition is in force.
    const fails = (s: Schedule): boolean => {
      let partitioned = false;
      for (const { action } of s.steps) {
        if (action.f === 'partition') partitioned = true;
        if (action.f === 'heal') partitioned = false;
        if (action.f === 'kill' && action.node.by === 'id' && action.node.id === 'n3' && partitioned) return true;
      }
      return false;
    };
    const result = fc.check(fc.property(scheduleArbitrary({ ...CONFIG, maxEpisodes: 12 }), (s) => !fails(s)), { seed: 3, numRuns: 2000 });
    expect(result.failed).toBe(true);
    const minimal = result.counterexample?.[0];
    expect(minimal).toBeDefined();
    if (minimal === undefined) return;
    expect(fails(minimal)).toBe(true);
    const fs = minimal.steps.map((t) => t.action.f);
    expect(fs.filter((f) => f === 'partition')).toHaveLength(1);
    expect(fs.filter((f) => f === 'kill')).toHaveLength(1);
    expect(minimal.steps.length).toBeLessThanOrEqual(4);
    expect(minimal.steps[0]?.atMs).toBe(0);
  });

  it('formats a schedule one action per line', () => {
    const text = formatSchedule({
      nodes: ['n1', 'n2', 'n3'],
      durationMs: 1000,
      steps: [
        { atMs: 0, action: { f: 'partition', partition: { kind: 'bridge', left: ['n1'], bridge: 'n2', right: ['n3'] } } },
        { atMs: 10, action: { f: 'disk', node: { by: 'id', id: 'n1' }, fault: { kind: 'slow-fsync', extraMs: 50, durationMs: 200 } } },
        { atMs: 20, action: { f: 'clock-jump', node: { by: 'leader' }, deltaMs: -300 } },
        { atMs: 900, action: { f: 'heal' } },
      ],
    });
    expect(text.split('\n')).toEqual([
      'schedule over 1000ms on n1,n2,n3: 4 action(s)',
      '       0ms partition bridge n1 <n2> n3',
      '      10ms disk slow-fsync n1 +50ms for 200ms',
      '      20ms clock-jump leader -300ms',
      '     900ms heal',
    ]);
  });
});

describe('nemesis actions against a target', () => {
  class RecordingTarget implements FaultTarget {
    readonly calls: string[] = [];
    constructor(private readonly leaderId: string | undefined) {}
    nodes(): readonly string[] {
      return FIVE;
    }
    leader(): string | undefined {
      return this.leaderId;
    }
    partition(p: Partition, id?: string): void {
      this.calls.push(`partition ${p.kind}${id === undefined ? '' : ` #${id}`}`);
    }
    heal(id?: string): void {
      this.calls.push(id === undefined ? 'heal' : `heal #${id}`);
    }
    kill(id: string): void {
      this.calls.push(`kill ${id}`);
    }
    restart(id: string): void {
      this.calls.push(`restart ${id}`);
    }
    pause(id: string): void {
      this.calls.push(`pause ${id}`);
    }
    resume(id: string): void {
      this.calls.push(`resume ${id}`);
    }
    clockSkew(id: string, skewMs: number): void {
      this.calls.push(`skew ${id} ${skewMs}`);
    }
    clockJump(id: string, deltaMs: number): void {
      this.calls.push(`jump ${id} ${deltaMs}`);
    }
    disk(id: string, fault: DiskFault): void {
      this.calls.push(`disk ${id} ${fault.kind}`);
    }
    addLearner(id: string): void {
      this.calls.push(`add-learner ${id}`);
    }
    promote(id: string): void {
      this.calls.push(`promote ${id}`);
    }
    removeMember(id: string): void {
      this.calls.push(`remove ${id}`);
    }
    transferLeader(to: string): void {
      this.calls.push(`transfer ${to}`);
    }
  }

  it('resolves leader selectors when the action runs, and skips them with no leader', () => {
    const withLeader = new RecordingTarget('n4');
    const actions: NemesisAction[] = [
      { f: 'kill', node: { by: 'leader' } },
      { f: 'restart', node: { by: 'id', id: 'n4' } },
      { f: 'partition', partition: { kind: 'isolate-leader' } },
      { f: 'heal' },
      { f: 'clock-skew', node: { by: 'id', id: 'n2' }, skewMs: -40 },
      { f: 'disk', node: { by: 'leader' }, fault: { kind: 'torn-write' } },
      { f: 'add-learner', id: 'n6' },
      { f: 'promote', id: 'n6' },
      { f: 'transfer-leader', to: { by: 'id', id: 'n1' } },
      { f: 'remove-member', node: { by: 'leader' } },
    ];
    expect(actions.map((a) => applyAction(withLeader, a)).every(Boolean)).toBe(true);
    expect(withLeader.calls).toEqual([
      'kill n4',
      'restart n4',
      'partition isolate-leader',
      'heal',
      'skew n2 -40',
      'disk n4 torn-write',
      'add-learner n6',
      'promote n6',
      'transfer n1',
      'remove n4',
    ]);
    const leaderless = new RecordingTarget(undefined);
    expect(applyAction(leaderless, { f: 'pause', node: { by: 'leader' } })).toBe(false);
    expect(applyAction(leaderless, { f: 'partition', partition: { kind: 'isolate-leader' } })).toBe(false);
    expect(applyAction(leaderless, { f: 'pause', node: { by: 'id', id: 'n2' } })).toBe(true);
    expect(leaderless.calls).toEqual(['pause n2']);
  });

  it('named partitions heal one at a time; slow-link is skipped by a target that cannot do it', () => {
    const target = new RecordingTarget('n1');
    const actions: NemesisAction[] = [
      { f: 'partition', partition: { kind: 'halves', sides: [['n1'], ['n2']] }, id: 'a' },
      { f: 'partition', partition: { kind: 'one-way', from: ['n3'], to: ['n4'] }, id: 'b' },
      { f: 'heal', id: 'a' },
      { f: 'heal' },
    ];
    expect(actions.map((a) => applyAction(target, a))).toEqual([true, true, true, true]);
    expect(target.calls).toEqual(['partition halves #a', 'partition one-way #b', 'heal #a', 'heal']);
    expect(applyAction(target, { f: 'slow-link', a: 'n1', b: 'n2', extraMs: 30 })).toBe(false);
    const slow = Object.assign(new RecordingTarget('n1'), {
      slowLink(this: RecordingTarget, a: string, b: string, extraMs: number, id?: string): void {
        this.calls.push(`slow ${a} ${b} ${extraMs} ${id ?? '-'}`);
      },
    });
    expect(applyAction(slow, { f: 'slow-link', a: 'n1', b: 'n2', extraMs: 30, id: 's' })).toBe(true);
    expect(slow.calls).toEqual(['slow n1 n2 30 s']);
    expect(describeAction({ f: 'slow-link', a: 'n1', b: 'n2', extraMs: 30, id: 's' })).toBe('slow-link n1<->n2 +30ms #s');
    expect(describeAction({ f: 'heal', id: 's' })).toBe('heal #s');
  });

  it('actions become nemesis history ops with JSON values', () => {
    expect(actionToOp({ f: 'partition', partition: { kind: 'halves', sides: [['n1'], ['n2', 'n3']] } })).toEqual({
      f: 'partition',
      value: { partition: { kind: 'halves', sides: [['n1'], ['n2', 'n3']] } },
    });
    expect(actionToOp({ f: 'heal' })).toEqual({ f: 'heal', value: {} });
  });
});
