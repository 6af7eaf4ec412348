import { describe, expect, it } from 'vitest';
import { HistoryRecorder, pairOps, type Value } from '../../histories/index.js';
import { checkLinearizability, etcdModel } from '../../checker/index.js';

type Step = [process: number, type: 'invoke' | 'ok' | 'fail' | 'info', f: string, value: Value];

function verdict(steps: Step[]): string {
  const h = new HistoryRecorder();
  steps.forEach(([p, type, f, value], t) => h.append(p, type, f, value, t));
  return checkLinearizability(etcdModel(), pairOps(h.history())).verdict;
}

const kv = (key: string, value: string, create: number, mod: number, version: number): Value => ({
  key,
  value,
  createRevision: create,
  modRevision: mod,
  version,
});

describe('etcd model', () => {
  it('accepts sequential puts and a range with the right revisions', () => {
    expect(
      verdict([
        [0, 'invoke', 'put', { key: 'a', value: '1' }],
        [0, 'ok', 'put', { revision: 2 }],
        [0, 'invoke', 'put', { key: 'a', value: '2', prevKv: true }],
        [0, 'ok', 'put', { revision: 3, prevKv: kv('a', '1', 2, 2, 1) }],
        [0, 'invoke', 'range', { key: 'a' }],
        [0, 'ok', 'range', { revision: 3, kvs: [kv('a', '2', 2, 3, 2)], count: 1 }],
      ]),
    ).toBe('valid');
  });

  it('rejects a wrong revision, mod revision, version or prev_kv', () => {
    const base: Step[] = [
      [0, 'invoke', 'put', { key: 'a', value: '1' }],
      [0, 'ok', 'put', { revision: 2 }],
    ];
    expect(verdict([[0, 'invoke', 'put', { key: 'a', value: '1' }], [0, 'ok', 'put', { revision: '3' }]])).toBe('invalid');
    expect(verdict([...base, [1, 'invoke', 'range', { key: 'a' }], [1, 'ok', 'range', { revision: 2, kvs: [kv('a', '1', 2, 3, 1)] }]])).toBe('invalid');
    expect(verdict([...base, [1, 'invoke', 'range', { key: 'a' }], [1, 'ok', 'range', { revision: 2, kvs: [kv('a', '1', 2, 2, 2)] }]])).toBe('invalid');
    expect(
      verdict([...base, [1, 'invoke', 'put', { key: 'a', value: '2', prevKv: true }], [1, 'ok', 'put', { revision: 3, prevKv: null }]]),
    ).toBe('invalid');
  });

  it('rejects a stale read after a completed put', () => {
    expect(
      verdict([
        [0, 'invoke', 'put', { key: 'a', value: '1' }],
        [0, 'ok', 'put', { revision: 2 }],
        [1, 'invoke', 'range', { key: 'a' }],
        [1, 'ok', 'range', { revision: 1, kvs: [] }],
      ]),
    ).toBe('invalid');
  });

  it('orders concurrent puts by their revisions', () => {
    const concurrent: Step[] = [
      [0, 'invoke', 'put', { key: 'a', value: '1' }],
      [1, 'invoke', 'put', { key: 'a', value: '2' }],
      [0, 'ok', 'put', { revision: 3 }],
      [1, 'ok', 'put', { revision: 2 }],
      [2, 'invoke', 'range', { key: 'a' }],
    ];
    expect(verdict([...concurrent, [2, 'ok', 'range', { revision: 3, kvs: [kv('a', '1', 2, 3, 2)] }]])).toBe('valid');
    expect(verdict([...concurrent, [2, 'ok', 'range', { revision: 3, kvs: [kv('a', '2', 2, 3, 2)] }]])).toBe('invalid');
  });

  it('checks txn compares, branches and results', () => {
    const setup: Step[] = [
      [0, 'invoke', 'put', { key: 'a', value: '1' }],
      [0, 'ok', 'put', { revision: 2 }],
      [0, 'invoke', 'txn', {
        compares: [{ key: 'a', target: 'value', result: '=', value: '1' }],
        success: [{ op: 'put', key: 'a', value: '2' }, { op: 'range', key: 'a' }],
        failure: [{ op: 'range', key: 'a' }],
      }],
    ];
    const ok = { revision: 3, succeeded: true, results: [{ op: 'put' }, { op: 'range', kvs: [kv('a', '2', 2, 3, 2)] }] };
    expect(verdict([...setup, [0, 'ok', 'txn', ok]])).toBe('valid');
    expect(verdict([...setup, [0, 'ok', 'txn', { revision: 2, succeeded: false, results: [{ op: 'range', kvs: [kv('a', '1', 2, 2, 1)] }] }]])).toBe(
      'invalid',
    );
    const absent: Step[] = [
      [0, 'invoke', 'txn', { compares: [{ key: 'b', target: 'version', result: '=', value: 0 }], success: [{ op: 'put', key: 'b', value: 'x' }], failure: [] }],
      [0, 'ok', 'txn', { revision: 2, succeeded: true, results: [{ op: 'put' }] }],
      [0, 'invoke', 'txn', { compares: [{ key: 'c', target: 'value', result: '!=', value: 'z' }], success: [], failure: [] }],
      [0, 'ok', 'txn', { revision: 2, succeeded: false, results: [] }],
    ];
    expect(verdict(absent)).toBe('valid');
  });

  it('treats failed and timed-out writes as possibly applied, or not', () => {
    const lost: Step[] = [
      [0, 'invoke', 'put', { key: 'a', value: '1' }],
      [0, 'fail', 'put', 'deadline exceeded'],
      [1, 'invoke', 'put', { key: 'b', value: '1' }],
      [1, 'info', 'put', null],
      [2, 'invoke', 'range', { key: 'a', rangeEnd: '\u0000' }],
    ];
    expect(verdict([...lost, [2, 'ok', 'range', { revision: 1, kvs: [] }]])).toBe('valid');
    expect(verdict([...lost, [2, 'ok', 'range', { revision: 3, kvs: [kv('a', '1', 3, 3, 1), kv('b', '1', 2, 2, 1)] }]])).toBe('valid');
    expect(verdict([...lost, [2, 'ok', 'range', { revision: 2, kvs: [kv('a', '1', 2, 2, 1), kv('b', '1', 2, 2, 1)] }]])).toBe('invalid');
  });

  it('counts deletes and only advances the revision when something was deleted', () => {
    expect(
      verdict([
        [0, 'invoke', 'delete', { key: 'x' }],
        [0, 'ok', 'delete', { revision: 1, deleted: 0 }],
        [0, 'invoke', 'put', { key: 'x', value: 'v' }],
        [0, 'ok', 'put', { revision: 2 }],
        [0, 'invoke', 'delete', { key: 'a', rangeEnd: 'z', prevKv: true }],
        [0, 'ok', 'delete', { revision: 3, deleted: 1, prevKvs: [kv('x', 'v', 2, 2, 1)] }],
      ]),
    ).toBe('valid');
    expect(verdict([[0, 'invoke', 'delete', { key: 'x' }], [0, 'ok', 'delete', { revision: 2, deleted: 0 }]])).toBe('invalid');
  });
});
