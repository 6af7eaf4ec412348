import { describe, expect, it } from 'vitest';
import { importsOf, parse, resolveRelative, sourceFiles } from './source-files.js';

/**
 * DESIGN.md's dependency directions, enforced here rather than hoped for:
 * - src never imports sim, nemesis, checker, histories or test;
 * - inside src a lower layer never imports a higher one (nor a sibling at its own level);
 * - checker and nemesis import only histories;
 * - sim imports src modules through their index.ts, never src/env/node;
 * - no import cycles between files.
 * src/api/errors.ts is the one table of etcd errors; every layer may raise them, so it sits at
 * the bottom with util.
 */
const SRC_LEVELS: Readonly<Record<string, number>> = {
  util: 0,
  'api/errors': 0,
  env: 1,
  // Implements env's interfaces, so sits just above it; only grpc and cli may import it.
  'env/node': 1.5,
  raft: 2,
  mvcc: 2,
  wal: 3,
  lease: 3,
  watch: 3,
  auth: 3,
  apply: 4,
  server: 5,
  api: 6,
  grpc: 7,
  cli: 8,
};

/** The src module a repo-relative path belongs to: 'raft', 'env/node', 'api/errors', ... */
export function srcModuleOf(path: string): string | undefined {
  if (!path.startsWith('src/')) return undefined;
  const rest = path.slice(4).replace(/\.(js|ts)$/, '');
  if (rest === 'api/errors' || rest.startsWith('env/node/') || rest === 'env/node') {
    return rest.startsWith('env/node') ? 'env/node' : 'api/errors';
  }
  return rest.split('/')[0];
}

interface Edge {
  from: string;
  to: string;
}

function edges(files: string[]): Edge[] {
  return files.flatMap((from) =>
    importsOf(parse(from))
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => ({ from, to: resolveRelative(from, spec).replace(/\.js$/, '.ts') })),
  );
}

const all = sourceFiles('src', 'sim', 'nemesis', 'checker', 'histories', 'ci');
const allEdges = edges(all);
const top = (p: string): string => p.split('/')[0] ?? '';

describe('layer lint', () => {
  it('src imports nothing outside src', () => {
    const bad = allEdges.filter((e) => top(e.from) === 'src' && top(e.to) !== 'src');
    expect(bad).toEqual([]);
  });

  it('inside src, a layer imports only lower layers or itself', () => {
    const bad = allEdges.filter((e) => {
      const a = srcModuleOf(e.from);
      const b = srcModuleOf(e.to);
      if (a === undefined || b === undefined || a === b) return false;
      const la = SRC_LEVELS[a];
      const lb = SRC_LEVELS[b];
      if (la === undefined || lb === undefined) return true; // unknown modules must be placed in the table
      if (b === 'env/node') return !['grpc', 'cli'].includes(a);
      return lb >= la;
    });
    expect(bad).toEqual([]);
  });

  it('every src module has a level', () => {
    const unknown = [...new Set(all.map(srcModuleOf).filter((m): m is string => m !== undefined))].filter(
      (m) => SRC_LEVELS[m] === undefined && !m.endsWith('.ts'),
    );
    expect(unknown).toEqual([]);
  });

  it('checker and nemesis import only histories (and themselves)', () => {
    const bad = allEdges.filter((e) => ['checker', 'nemesis'].includes(top(e.from)) && ![top(e.from), 'histories'].includes(top(e.to)));
    expect(bad).toEqual([]);
  });

  it('sim imports src modules only through their index.ts, never env/node', () => {
    const bad = allEdges.filter((e) => top(e.from) === 'sim' && top(e.to) === 'src' && (!/^src\/[^/]+\/index\.ts$/.test(e.to) || e.to.startsWith('src/env/node')));
    expect(bad).toEqual([]);
  });

  it('has no import cycles', () => {
    const graph = new Map<string, string[]>();
    for (const e of allEdges) graph.set(e.from, [...(graph.get(e.from) ?? []), e.to]);
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (node: string, path: string[]): void => {
      if (state.get(node) === 'done') return;
      if (state.get(node) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(node)), node].join(' -> '));
        return;
      }
      state.set(node, 'visiting');
      for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
      state.set(node, 'done');
    };
    for (const f of all) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it('the module classifier places files correctly', () => {
    expect(srcModuleOf('src/raft/raft.ts')).toBe('raft');
    expect(srcModuleOf('src/env/node/disk.ts')).toBe('env/node');
    expect(srcModuleOf('src/env/clock.ts')).toBe('env');
    expect(srcModuleOf('src/api/errors.ts')).toBe('api/errors');
    expect(srcModuleOf('src/api/kv.ts')).toBe('api');
    expect(srcModuleOf('sim/loop.ts')).toBeUndefined();
  });
});
