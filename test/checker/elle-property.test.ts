import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HistoryRecorder, pairOps, type Operation, type Value } from '../../histories/index.js';
import { checkListAppend, checkRwRegister } from '../../checker/index.js';

type MopSpec = { write: boolean; key: string };
type TxnSpec = { mops: MopSpec[]; end: 'ok' | 'info' | 'fail'; apply: boolean };

/**
 * Runs transactions atomically at a random point inside their call windows against a real
 * store, so the history is strictly serializable by construction: the checkers must find
 * nothing. Info txns may or may not apply; fail txns never do.
 */
function execute(specs: TxnSpec[], order: number[], workload: 'list-append' | 'rw-register'): Operation[] {
  const h = new HistoryRecorder();
  const lists = new Map<string, number[]>();
  const regs = new Map<string, number>();
  let counter = 0;
  const phase = new Map<number, { spec: TxnSpec; done: Value[] | null; invoked: Value[] }>();
  const dead = new Set<number>();
  let next = 0;
  let t = 0;
  for (const pick of order) {
    const p = pick % 3;
    if (dead.has(p)) continue;
    const cur = phase.get(p);
    if (cur === undefined) {
      const spec = specs[next++];
      if (spec === undefined) continue;
      const invoked = spec.mops.map((m): Value => (m.write ? [workload === 'list-append' ? 'append' : 'w', m.key, ++counter] : ['r', m.key, null]));
      h.invoke(p, 'txn', invoked, t++);
      phase.set(p, { spec, done: null, invoked });
    } else if (cur.done === null && cur.spec.end !== 'fail' && (cur.spec.apply || cur.spec.end === 'ok')) {
      cur.done = cur.invoked.map((m) => {
        const [f, k, v] = m as [string, string, number | null];
        if (workload === 'list-append') {
          const list = lists.get(k) ?? [];
          if (f === 'append') lists.set(k, [...list, v as number]);
          return f === 'r' ? ['r', k, [...list]] : m;
        }
        if (f === 'w') regs.set(k, v as number);
        return f === 'r' ? ['r', k, regs.get(k) ?? null] : m;
      });
    } else {
      h.complete(p, cur.spec.end, 'txn', cur.spec.end === 'ok' ? (cur.done as Value[]) : cur.invoked, t++);
      phase.delete(p);
      if (cur.spec.end === 'info') dead.add(p);
    }
  }
  return pairOps(h.history());
}

const txn = fc.record({
  mops: fc.array(fc.record({ write: fc.boolean(), key: fc.constantFrom('x', 'y', 'z') }), { minLength: 1, maxLength: 3 }),
  end: fc.constantFrom<'ok' | 'info' | 'fail'>('ok', 'ok', 'ok', 'ok', 'info', 'fail'),
  apply: fc.boolean(),
});

describe('Elle checkers find nothing in strictly serializable executions', () => {
  for (const workload of ['list-append', 'rw-register'] as const) {
    it(workload, () => {
      fc.assert(
        fc.property(fc.array(txn, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { minLength: 60, maxLength: 60 }), (specs, order) => {
          const ops = execute(specs, order, workload);
          const report = workload === 'list-append' ? checkListAppend(ops) : checkRwRegister(ops);
          expect(report.anomalies.map((a) => a.explanation)).toEqual([]);
        }),
        { numRuns: 300, seed: 5 },
      );
    });
  }
});
