import { describe, expect, it } from 'vitest';
import { HistoryRecorder, pairOps, type Value } from '../../histories/index.js';
import { casRegisterModel, checkLinearizability, formatText, kvModel } from '../../checker/index.js';

type Step = [process: number, type: 'invoke' | 'ok' | 'fail' | 'info', f: string, value: Value];

function ops(steps: Step[]) {
  const h = new HistoryRecorder();
  steps.forEach(([p, type, f, value], t) => h.append(p, type, f, value, t));
  return pairOps(h.history());
}

describe('cas-register model', () => {
  it('a nil read matches only the absent register', () => {
    const h: Step[] = [[0, 'invoke', 'read', null], [0, 'ok', 'read', null], [0, 'invoke', 'write', 1], [0, 'ok', 'write', 1]];
    expect(checkLinearizability(casRegisterModel(), ops(h)).verdict).toBe('valid');
    const bad: Step[] = [[0, 'invoke', 'write', 1], [0, 'ok', 'write', 1], [1, 'invoke', 'read', null], [1, 'ok', 'read', null]];
    expect(checkLinearizability(casRegisterModel(), ops(bad)).verdict).toBe('invalid');
  });

  it('a failed cas asserts the register did not hold `from`', () => {
    const base: Step[] = [[0, 'invoke', 'write', 3], [0, 'ok', 'write', 3], [0, 'invoke', 'cas', [3, 4]]];
    expect(checkLinearizability(casRegisterModel(), ops([...base, [0, 'fail', 'cas', [3, 4]]])).verdict).toBe('invalid');
    expect(checkLinearizability(casRegisterModel(), ops([...base, [0, 'ok', 'cas', [3, 4]]])).verdict).toBe('valid');
  });

  it('an info write may take effect later, or never', () => {
    const base: Step[] = [[0, 'invoke', 'write', 1], [0, 'info', 'write', 1], [1, 'invoke', 'read', null]];
    expect(checkLinearizability(casRegisterModel(), ops([...base, [1, 'ok', 'read', 1]])).verdict).toBe('valid');
    expect(checkLinearizability(casRegisterModel(), ops([...base, [1, 'ok', 'read', null]])).verdict).toBe('valid');
    const before: Step[] = [[1, 'invoke', 'read', null], [1, 'ok', 'read', 1], [0, 'invoke', 'write', 1], [0, 'info', 'write', 1]];
    expect(checkLinearizability(casRegisterModel(), ops(before)).verdict).toBe('invalid');
  });

  it('checks every key and reports each failing one with its stuck op', () => {
    const h: Step[] = [];
    for (const key of ['a', 'b', 'c']) {
      h.push([0, 'invoke', 'write', { key, value: 1 }], [0, 'ok', 'write', { key, value: 1 }]);
      h.push([1, 'invoke', 'read', { key, value: null }], [1, 'ok', 'read', { key, value: key === 'b' ? 1 : 2 }]);
    }
    const r = checkLinearizability(casRegisterModel(), ops(h));
    expect(r.verdict).toBe('invalid');
    expect(r.partitions.filter((p) => p.verdict === 'fail').map((p) => p.key)).toEqual(['a', 'c']);
    const a = r.partitions[0];
    expect(a?.stuck?.f).toBe('read');
    expect(a?.longest.map((o) => o.f)).toEqual(['write']);
  });

  it('shrinks a failure to results that cannot all hold', () => {
    const h: Step[] = [
      [0, 'invoke', 'write', 1], [0, 'ok', 'write', 1],
      [1, 'invoke', 'write', 2], [1, 'ok', 'write', 2],
      [0, 'invoke', 'read', null], [0, 'ok', 'read', 2],
      [1, 'invoke', 'read', null], [1, 'ok', 'read', 1],
      [0, 'invoke', 'read', null], [0, 'ok', 'read', 3],
    ];
    const r = checkLinearizability(casRegisterModel(), ops(h), { shrinkMs: 10_000 });
    const minimal = r.partitions[0]?.minimal ?? [];
    // Write 2 completed after write 1, so a read of 1 after both cannot hold; the read of 2 is
    // not needed and the read of 3 lies past the failure point.
    expect(minimal.map((o) => o.invoke.index).sort((a, b) => a - b)).toEqual([0, 2, 6]);
    expect(formatText(r, casRegisterModel().describeOp)).toMatch(/these 3 results cannot all hold/);
  });

  it('answers unknown past its deadline', () => {
    // Many concurrent writes followed by an impossible read: the search must exhaust orders.
    const h: Step[] = [];
    for (let p = 0; p < 16; p++) h.push([p, 'invoke', 'write', p]);
    for (let p = 0; p < 16; p++) h.push([p, 'info', 'write', p]);
    for (let p = 0; p < 14; p++) h.push([100 + p, 'invoke', 'read', null]);
    for (let p = 0; p < 14; p++) h.push([100 + p, 'ok', 'read', (p * 7) % 16]);
    h.push([200, 'invoke', 'read', null], [200, 'ok', 'read', 99]);
    const r = checkLinearizability(casRegisterModel(), ops(h), { timeoutMs: 1 });
    expect(r.verdict).toBe('unknown');
    expect(r.partitions[0]?.reason).toBe('deadline passed');
  });
});

describe('kv model', () => {
  it('append concatenates; get must see a consistent prefix order', () => {
    const h: Step[] = [
      [0, 'invoke', 'append', { key: 'k', value: 'x' }],
      [1, 'invoke', 'append', { key: 'k', value: 'y' }],
      [0, 'ok', 'append', { key: 'k', value: 'x' }],
      [1, 'ok', 'append', { key: 'k', value: 'y' }],
      [2, 'invoke', 'get', { key: 'k', value: null }],
    ];
    expect(checkLinearizability(kvModel(), ops([...h, [2, 'ok', 'get', { key: 'k', value: 'yx' }]])).verdict).toBe('valid');
    expect(checkLinearizability(kvModel(), ops([...h, [2, 'ok', 'get', { key: 'k', value: 'y' }]])).verdict).toBe('invalid');
    expect(checkLinearizability(kvModel(), ops([[0, 'invoke', 'get', { key: 'k', value: null }], [0, 'ok', 'get', { key: 'k', value: '' }]])).verdict).toBe(
      'valid',
    );
  });
});
