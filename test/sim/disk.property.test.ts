import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SimDiskDevice, parentOf } from '../../sim/index.js';
import { createRand } from '../../src/util/index.js';
import { DiskError } from '../../src/env/index.js';

/**
 * SimDisk against a deliberately naive model of the same fault model (no tearing, no corruption):
 * files are objects holding whole copies of their current and durable content, and two plain
 * maps hold the volatile and durable names. Any sequence of operations and crashes must leave
 * both agreeing on every read, listing and error code.
 */
interface ModelFile {
  current: number[];
  durable: number[];
  /** Only appends since the last sync: a crash may keep a prefix of the unsynced bytes. */
  appendOnly: boolean;
}

class Model {
  names = new Map<string, ModelFile>();
  durableNames = new Map<string, ModelFile>();
  dirs = new Set<string>(['']);

  file(path: string): ModelFile {
    const f = this.names.get(path);
    if (f !== undefined) return f;
    throw new DiskError(this.dirs.has(path) ? 'EISDIR' : 'ENOENT', path);
  }

  create(path: string): ModelFile {
    const existing = this.names.get(path);
    if (existing !== undefined) return existing;
    if (this.dirs.has(path)) throw new DiskError('EISDIR', path);
    if (!this.dirs.has(parentOf(path))) throw new DiskError('ENOENT', path);
    const f = { current: [], durable: [], appendOnly: true };
    this.names.set(path, f);
    return f;
  }

  /** `actual` reads a surviving file's content from the real disk, for torn tails. */
  crash(actual: (path: string) => number[]): void {
    for (const [path, f] of [...this.durableNames].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const got = actual(path);
      const isPrefix = (p: number[], of: number[]): boolean => p.length <= of.length && p.every((x, i) => of[i] === x);
      const allowed = f.appendOnly ? isPrefix(f.durable, got) && isPrefix(got, f.current) : got.length === f.durable.length && isPrefix(got, f.durable);
      if (!allowed) throw new Error(`${path}: crash left ${JSON.stringify(got)}, durable ${JSON.stringify(f.durable)}, current ${JSON.stringify(f.current)}`);
      f.current = [...got];
      f.durable = [...got];
      f.appendOnly = true;
    }
    this.names = new Map(this.durableNames);
  }
}

type Op =
  | { op: 'mkdirp'; path: string }
  | { op: 'append' | 'writeFile'; path: string; data: number[] }
  | { op: 'truncate'; path: string; size: number }
  | { op: 'rename'; from: string; to: string }
  | { op: 'remove' | 'sync' | 'read'; path: string }
  | { op: 'syncDir'; path: string }
  | { op: 'crash' };

const DIRS = ['', 'a', 'a/b'];
const FILES = ['f', 'g', 'a/f', 'a/g', 'a/b/f'];
const file = fc.constantFrom(...FILES);
const dir = fc.constantFrom(...DIRS);
const bytes = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 6 });

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 1, arbitrary: dir.map((path) => ({ op: 'mkdirp' as const, path })) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('append' as const), path: file, data: bytes }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('writeFile' as const), path: file, data: bytes }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), path: file, size: fc.integer({ min: 0, max: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('rename' as const), from: file, to: file }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('remove' as const, 'sync' as const, 'read' as const), path: file }) },
  { weight: 1, arbitrary: dir.map((path) => ({ op: 'syncDir' as const, path })) },
  { weight: 1, arbitrary: fc.constant({ op: 'crash' as const }) },
);

function outcome(fn: () => unknown): unknown {
  try {
    return { ok: fn() ?? null };
  } catch (e) {
    if (e instanceof DiskError) return { error: e.code };
    throw e;
  }
}

function applyModel(m: Model, op: Op): unknown {
  switch (op.op) {
    case 'mkdirp':
      return outcome(() => {
        const parts = op.path === '' ? [] : op.path.split('/');
        for (let i = 1; i <= parts.length; i++) m.dirs.add(parts.slice(0, i).join('/'));
      });
    case 'append':
      return outcome(() => void m.create(op.path).current.push(...op.data));
    case 'writeFile':
      return outcome(() => {
        const f = m.create(op.path);
        f.current = [...op.data];
        f.appendOnly = false;
      });
    case 'truncate':
      return outcome(() => {
        const f = m.file(op.path);
        f.current = Array.from({ length: op.size }, (_, i) => f.current[i] ?? 0);
        f.appendOnly = false;
      });
    case 'rename':
      return outcome(() => {
        const f = m.file(op.from);
        if (!m.dirs.has(parentOf(op.to))) throw new DiskError('ENOENT', op.to);
        m.names.delete(op.from);
        m.names.set(op.to, f);
      });
    case 'remove':
      return outcome(() => {
        if (!m.names.delete(op.path)) throw new DiskError('ENOENT', op.path);
      });
    case 'sync':
      return outcome(() => {
        const f = m.file(op.path);
        f.durable = [...f.current];
        f.appendOnly = true;
      });
    case 'read':
      return outcome(() => [...m.file(op.path).current]);
    case 'syncDir':
      return outcome(() => {
        if (!m.dirs.has(op.path)) throw new DiskError('ENOENT', op.path);
        for (const p of [...m.durableNames.keys()]) if (parentOf(p) === op.path && !m.names.has(p)) m.durableNames.delete(p);
        for (const [p, f] of m.names) if (parentOf(p) === op.path) m.durableNames.set(p, f);
      });
    case 'crash':
      return { ok: null }; // the caller crashes both, the model after the disk
  }
}

/** A cheap deep-equality check: vitest's expect per operation would dominate the run time. */
function same(got: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(got);
  const b = JSON.stringify(expected);
  if (a !== b) throw new Error(`${what}: got ${a}, model says ${b}`);
}

/** Returns how many files a crash left torn (kept part of their unsynced appends). */
function run(ops: readonly Op[], tornWriteProb: number, seed: number): number {
  let torn = 0;
  const dev = new SimDiskDevice(createRand(seed).fork('disk'), { tornWriteProb });
  let disk = dev.open();
  const model = new Model();
  for (const op of ops) {
    const expected = applyModel(model, op);
    let got: unknown;
    switch (op.op) {
      case 'crash':
        torn += dev.crash().torn.length;
        disk = dev.open();
        model.crash((path) => [...disk.read(path)]);
        got = { ok: null };
        break;
      case 'read':
        got = outcome(() => [...disk.read(op.path)]);
        break;
      case 'append':
      case 'writeFile':
        got = outcome(() => disk[op.op](op.path, Uint8Array.from(op.data)));
        break;
      case 'truncate':
        got = outcome(() => disk.truncate(op.path, op.size));
        break;
      case 'rename':
        got = outcome(() => disk.rename(op.from, op.to));
        break;
      default:
        got = outcome(() => disk[op.op](op.path));
    }
    same(got, expected, JSON.stringify(op));
    for (const d of DIRS) {
      const names = [...model.names.keys(), ...model.dirs].filter((p) => p !== '' && parentOf(p) === d).map((p) => p.slice(p.lastIndexOf('/') + 1));
      same(disk.list(d), model.dirs.has(d) ? [...new Set(names)].sort() : [], `list ${d} after ${JSON.stringify(op)}`);
    }
  }
  for (const p of FILES) expect(dev.durableContent(p) === undefined ? undefined : [...dev.durableContent(p)!]).toEqual(model.durableNames.get(p)?.durable);
  return torn;
}

describe('SimDisk against a naive model', () => {
  it('agrees on every result through random operations and crashes', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60, size: 'max' }), (ops) => void run(ops, 0, 1)),
      { numRuns: 120, seed: 4242 },
    );
  });

  it('with torn tails, a crash keeps durable content plus at most a prefix of unsynced appends', () => {
    let torn = 0;
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60, size: 'max' }), fc.integer({ min: 0, max: 1000 }), (ops, seed) => {
        torn += run(ops, 0.7, seed);
      }),
      { numRuns: 120, seed: 4243 },
    );
    expect(torn).toBeGreaterThan(20);
  });
});
