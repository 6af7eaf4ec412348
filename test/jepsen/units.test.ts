import { describe, it, expect } from 'vitest';
import { cutsOf, parseArgs, periodicSchedule, DEFAULTS } from '../../ci/jepsen/index.js';
import { createRand } from '../../src/util/index.js';
import { errorOutcome, neverSent } from '../../ci/jepsen/clients.js';
import { KeyPool } from '../../ci/jepsen/keys.js';
import { checkListAppend } from '../../checker/index.js';
import { decodeJsonl, pairOps } from '../../histories/index.js';
import { checkAndWrite } from '../../ci/jepsen/report.js';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Op, Value } from '../../histories/index.js';

const nodes = ['n1', 'n2', 'n3'];
const pairs = (cuts: { from: string; to: string }[]): string[] => cuts.map((c) => `${c.from}>${c.to}`).sort();

describe('cutsOf', () => {
  it('halves cut every link across the sides, both ways', () => {
    expect(pairs(cutsOf({ kind: 'halves', sides: [['n1'], ['n2', 'n3']] }, nodes, undefined))).toEqual(['n1>n2', 'n1>n3', 'n2>n1', 'n3>n1']);
  });

  it('isolate-leader cuts the leader off, and nothing without a leader', () => {
    expect(pairs(cutsOf({ kind: 'isolate-leader' }, nodes, 'n2'))).toEqual(['n1>n2', 'n2>n1', 'n2>n3', 'n3>n2']);
    expect(cutsOf({ kind: 'isolate-leader' }, nodes, undefined)).toEqual([]);
  });

  it('bridge keeps the bridge node linked to both sides', () => {
    expect(pairs(cutsOf({ kind: 'bridge', left: ['n1'], bridge: 'n2', right: ['n3'] }, nodes, undefined))).toEqual(['n1>n3', 'n3>n1']);
  });

  it('ring keeps only neighbours (a 3-ring cuts nothing, a 5-ring cuts non-neighbours)', () => {
    expect(cutsOf({ kind: 'ring', order: nodes }, nodes, undefined)).toEqual([]);
    const five = ['a', 'b', 'c', 'd', 'e'];
    const cuts = cutsOf({ kind: 'ring', order: five }, five, undefined);
    expect(cuts).toHaveLength(10);
    expect(pairs(cuts)).toContain('a>c');
    expect(pairs(cuts)).not.toContain('a>b');
    expect(pairs(cuts)).not.toContain('a>e');
  });

  it('one-way drops only what `from` sends', () => {
    expect(pairs(cutsOf({ kind: 'one-way', from: ['n1'], to: ['n2', 'n3'] }, nodes, undefined))).toEqual(['n1>n2', 'n1>n3']);
  });
});

describe('periodicSchedule', () => {
  it('alternates quiet and fault periods, runs every enabled kind and ends every fault', () => {
    const s = periodicSchedule(createRand(7), { nodes, kinds: ['kill', 'pause', 'partition'], durationMs: 30_000, quietMs: 3_000, faultMs: 4_000 });
    const starts = s.steps.filter((x) => ['kill', 'pause', 'partition'].includes(x.action.f));
    expect(starts.map((x) => x.atMs)).toEqual([3_000, 10_000, 17_000, 24_000]);
    expect(new Set(starts.map((x) => x.action.f))).toEqual(new Set(['kill', 'pause', 'partition']));
    expect(starts[0]?.atMs).toBe(3_000);
    for (const start of starts) {
      const endF = start.action.f === 'kill' ? 'restart' : start.action.f === 'pause' ? 'resume' : 'heal';
      const ends = s.steps.filter((x) => x.action.f === endF && x.atMs === Math.min(30_000, start.atMs + 4_000));
      expect(ends.length).toBeGreaterThan(0);
    }
    expect(s.steps.every((x, i) => i === 0 || (s.steps[i - 1]?.atMs ?? 0) <= x.atMs)).toBe(true);
    expect(s.steps.every((x) => x.atMs <= 30_000)).toBe(true);
  });

  it('is a function of the seed', () => {
    const config = { nodes, kinds: ['kill', 'partition'] as const, durationMs: 20_000, quietMs: 1_000, faultMs: 2_000 };
    expect(periodicSchedule(createRand(3), config)).toEqual(periodicSchedule(createRand(3), config));
    expect(periodicSchedule(createRand(3), config)).not.toEqual(periodicSchedule(createRand(4), config));
  });

  it('is empty with no fault kinds', () => {
    expect(periodicSchedule(createRand(1), { nodes, kinds: [], durationMs: 10_000, quietMs: 1_000, faultMs: 1_000 }).steps).toEqual([]);
  });
});

describe('parseArgs', () => {
  it('reads the documented flags', () => {
    const c = parseArgs(['--nodes', '5', '--time', '60', '--workload', 'list-append', '--nemesis', 'kill,partition', '--target', 'etcd', '--seed', '42', '--out', '/tmp/x', '--compare']);
    expect(c).toEqual({ kind: 'run', options: { ...DEFAULTS, nodes: 5, timeS: 60, workload: 'list-append', nemesis: ['kill', 'partition'], target: 'etcd', seed: 42, out: '/tmp/x', compare: true } });
    expect(parseArgs(['--nemesis', 'none'])).toEqual({ kind: 'run', options: { ...DEFAULTS, nemesis: [] } });
    expect(parseArgs(['--cleanup'])).toEqual({ kind: 'cleanup' });
  });

  it('refuses unknown flags and bad values', () => {
    expect(() => parseArgs(['--nemesis', 'kill,clock'])).toThrow(/--nemesis/);
    expect(() => parseArgs(['--nodes', '0'])).toThrow(/--nodes/);
    expect(() => parseArgs(['--target', 'zookeeper'])).toThrow(/--target/);
    expect(() => parseArgs(['--frobnicate'])).toThrow(/unknown option/);
  });
});

describe('error classification', () => {
  const unavailable = (message: string) => ({ grpcCode: 14, message });
  const op = { f: 'write', value: { key: 'k', value: 1 } };

  it('only a call grpc-js never sent is a definite failure for writes', () => {
    expect(neverSent(unavailable('No connection established. Last error: connect ECONNREFUSED'))).toBe(true);
    expect(errorOutcome(unavailable('No connection established'), op, 'write').type).toBe('fail');
    expect(errorOutcome(unavailable('Connection dropped'), op, 'write').type).toBe('info');
    expect(errorOutcome({ grpcCode: 4, message: 'Deadline exceeded' }, op, 'write').type).toBe('info');
  });

  it('failed reads are fail, failed cas always info', () => {
    expect(errorOutcome({ grpcCode: 4, message: 'Deadline exceeded' }, op, 'read').type).toBe('fail');
    expect(errorOutcome(unavailable('No connection established'), op, 'cas').type).toBe('info');
  });

  it('a non-gRPC error is a bug and is rethrown', () => {
    expect(() => errorOutcome(new TypeError('boom'), op, 'write')).toThrow('boom');
  });
});

describe('KeyPool', () => {
  it('retires a key after its uses and never hands it out again', () => {
    const pool = new KeyPool('k', 2, 3, createRand(1));
    const uses = new Map<string, number>();
    for (let i = 0; i < 60; i++) {
      const k = pool.take();
      uses.set(k, (uses.get(k) ?? 0) + 1);
    }
    expect([...uses.values()].every((n) => n <= 3)).toBe(true);
    expect(uses.size).toBeGreaterThanOrEqual(20);
    expect(new Set(pool.takeDistinct(2)).size).toBe(2);
  });
});

describe('list-append lost-update check (histories this runner records)', () => {
  const txn = (process: number, mops: unknown[], out: unknown[], at: number): Op[] => [
    { index: at, process, type: 'invoke', f: 'txn', value: mops as Value, time: at },
    { index: at + 1, process, type: 'ok', f: 'txn', value: out as Value, time: at + 1 },
  ];

  it('two appends after one read are one update, not a lost update', () => {
    const history = [
      ...txn(0, [['r', 'k', null], ['append', 'k', 1], ['append', 'k', 2]], [['r', 'k', []], ['append', 'k', 1], ['append', 'k', 2]], 0),
      ...txn(1, [['r', 'k', null], ['append', 'k', 3], ['append', 'k', 4]], [['r', 'k', [1, 2]], ['append', 'k', 3], ['append', 'k', 4]], 2),
      ...txn(2, [['r', 'k', null]], [['r', 'k', [1, 2, 3, 4]]], 4),
    ];
    expect(checkListAppend(pairOps(history)).verdict).toBe('valid');
  });

  it('still flags two txns that read the same version and both append', () => {
    const history = [
      ...txn(0, [['r', 'k', null], ['append', 'k', 1]], [['r', 'k', []], ['append', 'k', 1]], 0),
      ...txn(1, [['r', 'k', null], ['append', 'k', 2]], [['r', 'k', []], ['append', 'k', 2]], 2),
      ...txn(2, [['r', 'k', null]], [['r', 'k', [1, 2]]], 4),
    ];
    const r = checkListAppend(pairOps(history));
    expect(r.verdict).toBe('invalid');
    expect(r.anomalyTypes).toContain('lost-update');
  });
});

describe('checkAndWrite', () => {
  it('judges an invalid register history invalid and writes every report file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jepsen-report-'));
    try {
      // A stale read: 1 was overwritten by 2 before the read began, yet the read returns 1.
      const history: Op[] = [
        { index: 0, process: 0, type: 'invoke', f: 'write', value: { key: 'r0', value: 1 }, time: 0 },
        { index: 1, process: 0, type: 'ok', f: 'write', value: { key: 'r0', value: 1 }, time: 1 },
        { index: 2, process: 0, type: 'invoke', f: 'write', value: { key: 'r0', value: 2 }, time: 2 },
        { index: 3, process: 0, type: 'ok', f: 'write', value: { key: 'r0', value: 2 }, time: 3 },
        { index: 4, process: 'nemesis', type: 'invoke', f: 'kill', value: { node: { by: 'id', id: 'n1' } }, time: 4 },
        { index: 5, process: 'nemesis', type: 'info', f: 'kill', value: { node: { by: 'id', id: 'n1' }, result: 'killed n1' }, time: 5 },
        { index: 6, process: 1, type: 'invoke', f: 'read', value: { key: 'r0', value: null }, time: 6 },
        { index: 7, process: 1, type: 'ok', f: 'read', value: { key: 'r0', value: 1 }, time: 7 },
      ];
      const stats = { invoked: 3, ok: 3, fail: 0, info: 0, errors: 0, byF: {} };
      const { summary, text } = checkAndWrite(dir, history, 'cas-register', 10_000, (c) => ({
        target: 'tsetcd', workload: 'register', model: c.model, nodes: 3, nemesis: ['kill'], net: 'loopback', namespaces: [], seed: 1,
        verdict: c.verdict, workloadS: 1, ops: stats, okPerS: 3, faultsApplied: 1,
        faults: [{ atMs: 0, action: 'kill n1', applied: true, notes: ['killed n1'] }], recoveryOk: 0, recoveredAfterS: null, checkMs: c.checkMs, outDir: dir, notes: [],
      }));
      expect(summary.verdict).toBe('invalid');
      expect(text).toContain('verdict: invalid');
      for (const f of ['history.jsonl', 'report.html', 'check.txt', 'summary.json', 'summary.txt']) expect(existsSync(join(dir, f))).toBe(true);
      expect(readFileSync(join(dir, 'summary.txt'), 'utf8')).toContain('verdict: invalid');
      expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('kill n1');
      expect(decodeJsonl(readFileSync(join(dir, 'history.jsonl'), 'utf8'))).toEqual(history);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
