import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HistoryRecorder, pairOps, type Operation, type Value } from '../../histories/index.js';
import { REJECT, casRegisterModel, checkLinearizability, kvModel, type Model } from '../../checker/index.js';

/** Exhaustive reference: try every order that respects real time; unknown-outcome ops may be dropped. */
function bruteForce<P>(model: Model<P>, ops: readonly Operation[]): boolean {
  const items = ops.flatMap((op) => {
    const p = model.prepare(op);
    return p === null ? [] : [{ op, p }];
  });
  const done = new Array<boolean>(items.length).fill(false);
  const go = (state: number, left: number): boolean => {
    if (items.every((it, i) => done[i] || it.op.returnIndex === Infinity)) return true;
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (it === undefined || done[i]) continue;
      const blocked = items.some((o, j) => !done[j] && j !== i && o.op.returnIndex < it.op.callIndex);
      if (blocked) continue;
      const next = model.step(state, it.p);
      if (next === REJECT) continue;
      done[i] = true;
      const ok = go(next, left - 1);
      done[i] = false;
      if (ok) return true;
    }
    return false;
  };
  return go(model.init(), items.length);
}

type Gen = { process: number; f: string; value: Value; result: Value; end: 'ok' | 'fail' | 'info' };

/** Random interleavings of up to 8 ops by 3 processes with arbitrary (often wrong) results. */
function history(steps: Gen[], order: number[]): Operation[] {
  const h = new HistoryRecorder();
  const open = new Map<number, Gen>();
  // Like Jepsen, a process whose op ended in info never invokes again.
  const dead = new Set<number>();
  const queue = [...steps];
  let t = 0;
  for (const pick of order) {
    const p = pick % 3;
    if (dead.has(p)) continue;
    const pending = open.get(p);
    if (pending !== undefined) {
      h.complete(p, pending.end, pending.f, pending.end === 'ok' ? pending.result : pending.value, t++);
      open.delete(p);
      if (pending.end === 'info') dead.add(p);
      continue;
    }
    const next = queue.findIndex((s) => s.process === p);
    if (next === -1) continue;
    const [s] = queue.splice(next, 1) as [Gen];
    h.invoke(p, s.f, s.value, t++);
    open.set(p, s);
  }
  return pairOps(h.history());
}

const registerStep = fc.record({
  process: fc.integer({ min: 0, max: 2 }),
  f: fc.constantFrom('read', 'write', 'cas'),
  value: fc.constantFrom<Value>(1, 2),
  result: fc.constantFrom<Value>(null, 1, 2),
  end: fc.constantFrom<'ok' | 'fail' | 'info'>('ok', 'ok', 'ok', 'fail', 'info'),
}).map((g): Gen => (g.f === 'read' ? { ...g, value: null, end: g.end === 'fail' ? 'ok' : g.end } : g.f === 'cas' ? { ...g, value: [g.value, g.result ?? 1] } : g));

const kvStep = fc.record({
  process: fc.integer({ min: 0, max: 2 }),
  f: fc.constantFrom('get', 'put', 'append', 'append'),
  piece: fc.constantFrom('a', 'b', 'c'),
  result: fc.constantFrom('', 'a', 'b', 'ab', 'ba', 'abc', 'ca', 'bc'),
  end: fc.constantFrom<'ok' | 'fail' | 'info'>('ok', 'ok', 'ok', 'info'),
}).map((g): Gen => ({
  process: g.process,
  f: g.f,
  value: { key: 'k', value: g.f === 'get' ? null : g.piece },
  result: { key: 'k', value: g.f === 'get' ? g.result : g.piece },
  end: g.f === 'get' && g.end === 'info' ? 'ok' : g.end,
}));

describe('the optimised search agrees with exhaustive search', () => {
  it('cas-register (read dominance, twins, failed cas)', () => {
    const seen = [0, 0];
    fc.assert(
      fc.property(fc.array(registerStep, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { minLength: 30, maxLength: 30 }), (steps, order) => {
        const ops = history(steps, order);
        const expected = bruteForce(casRegisterModel(), ops);
        seen[expected ? 0 : 1] = (seen[expected ? 0 : 1] ?? 0) + 1;
        const report = checkLinearizability(casRegisterModel(), ops, { shrinkMs: 5000 });
        expect(report.verdict).toBe(expected ? 'valid' : 'invalid');
        const minimal = report.partitions[0]?.minimal;
        if (!expected && minimal !== undefined) {
          // Keeping only the minimal results (all else unknown-outcome, except that a failed
          // write still did not happen) must still fail.
          const keep = new Set(minimal.map((o) => o.id));
          const weakened = ops.map((o) => (keep.has(o.id) || o.status === 'fail' ? o : { ...o, status: 'info' as const, output: undefined, returnIndex: Infinity }));
          expect(bruteForce(casRegisterModel(), weakened)).toBe(false);
          expect(minimal.length).toBeLessThanOrEqual(ops.length);
        }
      }),
      { numRuns: 400, seed: 42 },
    );
    // Both verdicts occur often, so agreement is not trivial.
    expect(Math.min(...seen)).toBeGreaterThan(60);
  });

  it('kv (trie states, prefix lookahead with puts)', () => {
    const seen = [0, 0];
    fc.assert(
      fc.property(fc.array(kvStep, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { minLength: 30, maxLength: 30 }), (steps, order) => {
        const ops = history(steps, order);
        const expected = bruteForce(kvModel(), ops);
        seen[expected ? 0 : 1] = (seen[expected ? 0 : 1] ?? 0) + 1;
        expect(checkLinearizability(kvModel(), ops).verdict).toBe(expected ? 'valid' : 'invalid');
      }),
      { numRuns: 400, seed: 7 },
    );
    expect(Math.min(...seen)).toBeGreaterThan(60);
  });
});
