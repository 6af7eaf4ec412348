import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HistoryRecorder, pairOps, type Operation, type Value } from '../../histories/index.js';
import { REJECT, checkLinearizability, etcdModel } from '../../checker/index.js';

/** Exhaustive reference over the etcd model; fail and info ops may apply later or never. */
function bruteForce(ops: readonly Operation[]): boolean {
  const model = etcdModel();
  const items = ops.map((op) => ({ op, p: model.prepare(op), ret: op.status === 'ok' ? op.returnIndex : Infinity }));
  const done = new Array<boolean>(items.length).fill(false);
  const go = (state: number): boolean => {
    if (items.every((it, i) => done[i] || it.ret === Infinity)) return true;
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (it === undefined || it.p === null || done[i]) continue;
      if (items.some((o, j) => !done[j] && o.ret < it.op.callIndex)) continue;
      const next = model.step(state, it.p);
      if (next === REJECT) continue;
      done[i] = true;
      const ok = go(next);
      done[i] = false;
      if (ok) return true;
    }
    return false;
  };
  return go(model.init());
}

interface Kv {
  value: string;
  create: number;
  mod: number;
  version: number;
}

/** A minimal etcd store: the responses a correct server gives. */
class Store {
  rev = 1;
  kvs = new Map<string, Kv>();
  kvOut(key: string, kv: Kv): Value {
    return { key, value: kv.value, createRevision: kv.create, modRevision: kv.mod, version: kv.version };
  }
  apply(f: string, req: { key: string; value: string }): Value {
    const cur = this.kvs.get(req.key);
    if (f === 'range') return { revision: this.rev, kvs: cur === undefined ? [] : [this.kvOut(req.key, cur)] };
    if (f === 'put') {
      this.rev++;
      this.kvs.set(req.key, { value: req.value, create: cur?.create ?? this.rev, mod: this.rev, version: (cur?.version ?? 0) + 1 });
      return { revision: this.rev, prevKv: cur === undefined ? null : this.kvOut(req.key, cur) };
    }
    if (f === 'delete') {
      if (cur !== undefined) {
        this.rev++;
        this.kvs.delete(req.key);
      }
      return { revision: this.rev, deleted: cur === undefined ? 0 : 1 };
    }
    const succeeded = cur?.value === req.value;
    if (succeeded) {
      this.rev++;
      this.kvs.set(req.key, { value: req.value + '+', create: (cur as Kv).create, mod: this.rev, version: (cur as Kv).version + 1 });
      return { revision: this.rev, succeeded, results: [{ op: 'put' }] };
    }
    return { revision: this.rev, succeeded, results: [{ op: 'range', kvs: cur === undefined ? [] : [this.kvOut(req.key, cur)] }] };
  }
}

function request(f: string, key: string, value: string): Value {
  if (f === 'range' || f === 'delete') return { key };
  if (f === 'put') return { key, value, prevKv: true };
  return {
    compares: [{ key, target: 'value', result: '=', value }],
    success: [{ op: 'put', key, value: value + '+' }],
    failure: [{ op: 'range', key }],
  };
}

type Spec = { f: string; key: string; value: string; end: 'ok' | 'fail' | 'info'; apply: boolean; corrupt: boolean };

/** Runs ops on the store at random points inside their call windows; may corrupt a response. */
function execute(specs: Spec[], order: number[]): Operation[] {
  const h = new HistoryRecorder();
  const store = new Store();
  const phase = new Map<number, { spec: Spec; response: Value | null }>();
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
      h.invoke(p, spec.f, request(spec.f, spec.key, spec.value), t++);
      phase.set(p, { spec, response: null });
    } else if (cur.response === null && (cur.spec.apply || cur.spec.end === 'ok')) {
      cur.response = store.apply(cur.spec.f, { key: cur.spec.key, value: cur.spec.value });
    } else {
      let out: Value = cur.spec.end === 'ok' ? cur.response : 'timeout';
      if (cur.spec.corrupt && typeof out === 'object' && out !== null && !Array.isArray(out)) out = { ...out, revision: Number(out['revision']) + 1 };
      h.complete(p, cur.spec.end, cur.spec.f, out, t++);
      phase.delete(p);
      if (cur.spec.end === 'info') dead.add(p);
    }
  }
  return pairOps(h.history());
}

const spec = fc.record({
  f: fc.constantFrom('put', 'put', 'range', 'range', 'delete', 'txn'),
  key: fc.constantFrom('a', 'b'),
  value: fc.constantFrom('1', '2'),
  end: fc.constantFrom<'ok' | 'fail' | 'info'>('ok', 'ok', 'ok', 'ok', 'fail', 'info'),
  apply: fc.boolean(),
  corrupt: fc.boolean(),
});

describe('etcd model: the search agrees with exhaustive search on executions of a real store', () => {
  it('correct executions are valid and corrupted ones are judged like the reference', () => {
    const seen = [0, 0];
    fc.assert(
      fc.property(fc.array(spec, { minLength: 1, maxLength: 7 }), fc.array(fc.nat(), { minLength: 40, maxLength: 40 }), fc.boolean(), (specs, order, corrupt) => {
        const ops = execute(corrupt ? specs : specs.map((s) => ({ ...s, corrupt: false })), order);
        const expected = bruteForce(ops);
        if (!corrupt) expect(expected).toBe(true);
        seen[expected ? 0 : 1] = (seen[expected ? 0 : 1] ?? 0) + 1;
        expect(checkLinearizability(etcdModel(), ops).verdict).toBe(expected ? 'valid' : 'invalid');
      }),
      { numRuns: 300, seed: 11 },
    );
    expect(Math.min(...seen)).toBeGreaterThan(40);
  });
});
