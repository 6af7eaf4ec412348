import { describe, expect, it } from 'vitest';
import { HistoryRecorder, pairOps, type Value } from '../../histories/index.js';
import { checkListAppend, checkRwRegister } from '../../checker/index.js';

/** A txn: [process, micro-ops as completed, status]. Txns listed together run concurrently. */
type Txn = [process: number, mops: Value[], status?: 'ok' | 'fail' | 'info'];

/** Each group's txns are invoked together then completed together; groups run one after another. */
function history(groups: Txn[][]) {
  const h = new HistoryRecorder();
  let t = 0;
  for (const group of groups) {
    for (const [p, mops] of group) {
      const invoke = mops.map((m) => (Array.isArray(m) && m[0] === 'r' ? ['r', m[1] as Value, null] : m));
      h.invoke(p, 'txn', invoke, t++);
    }
    for (const [p, mops, status] of group) h.complete(p, status ?? 'ok', 'txn', mops, t++);
  }
  return pairOps(h.history());
}

const la = (groups: Txn[][], realtime = true) => checkListAppend(history(groups), { realtime });
const rw = (groups: Txn[][], realtime = true) => checkRwRegister(history(groups), { realtime });

describe('list-append', () => {
  it('finds nothing in a serial history', () => {
    const r = la([[[0, [['append', 'x', 1]]]], [[1, [['r', 'x', [1]], ['append', 'x', 2]]]], [[2, [['r', 'x', [1, 2]], ['r', 'y', []]]]]]);
    expect(r.verdict).toBe('valid');
    expect(r.anomalies).toEqual([]);
  });

  it('G0: write cycle', () => {
    const r = la([
      [[0, [['append', 'x', 1], ['append', 'y', 2]]], [1, [['append', 'x', 2], ['append', 'y', 1]]]],
      [[2, [['r', 'x', [1, 2]], ['r', 'y', [1, 2]]]]],
    ]);
    expect(r.anomalyTypes).toEqual(['G0']);
    expect(r.anomalies[0]?.cycle?.map((e) => e.kind)).toEqual(['ww', 'ww']);
    expect(new Set(r.anomalies[0]?.ops.map((o) => o.process))).toEqual(new Set([0, 1]));
  });

  it('G1a: aborted read', () => {
    const r = la([[[0, [['append', 'x', 1]], 'fail']], [[1, [['r', 'x', [1]]]]]]);
    expect(r.anomalyTypes).toContain('G1a');
  });

  it('G1b: intermediate read', () => {
    const r = la([[[0, [['append', 'x', 1], ['append', 'x', 2]]], [1, [['r', 'x', [1]]]]]]);
    expect(r.anomalyTypes).toEqual(['G1b']);
  });

  it('G1c: circular information flow', () => {
    const r = la([[[0, [['append', 'x', 1], ['r', 'y', [1]]]], [1, [['append', 'y', 1], ['r', 'x', [1]]]]]]);
    expect(r.anomalyTypes).toEqual(['G1c']);
    expect(r.anomalies[0]?.cycle?.map((e) => e.kind)).toEqual(['wr', 'wr']);
  });

  it('G-single: read skew', () => {
    const r = la([
      [[0, [['append', 'x', 1], ['append', 'z', 1]]], [1, [['r', 'x', []], ['r', 'z', [1]]]]],
      [[2, [['r', 'x', [1]]]]],
    ]);
    expect(r.anomalyTypes).toEqual(['G-single']);
    expect(r.anomalies[0]?.cycle?.filter((e) => e.kind === 'rw')).toHaveLength(1);
  });

  it('G2-item: write skew', () => {
    const r = la([
      [[0, [['r', 'x', []], ['append', 'y', 1]]], [1, [['r', 'y', []], ['append', 'x', 1]]]],
      [[2, [['r', 'x', [1]], ['r', 'y', [1]]]]],
    ]);
    expect(r.anomalyTypes).toEqual(['G2-item']);
  });

  it('lost update', () => {
    const r = la([
      [[0, [['r', 'x', []], ['append', 'x', 1]]], [1, [['r', 'x', []], ['append', 'x', 2]]]],
      [[2, [['r', 'x', [1, 2]]]]],
    ]);
    expect(r.anomalyTypes).toContain('lost-update');
    expect(r.anomalies.find((a) => a.name === 'lost-update')?.ops).toHaveLength(2);
  });

  it('internal inconsistency and incompatible orders', () => {
    expect(la([[[0, [['append', 'x', 1], ['r', 'x', []]]]]]).anomalyTypes).toEqual(['internal']);
    const r = la([[[0, [['append', 'x', 1]]], [1, [['append', 'x', 2]]]], [[2, [['r', 'x', [1, 2]]]], [3, [['r', 'x', [2]]]]]]);
    expect(r.anomalyTypes).toContain('incompatible-order');
  });

  it('stale read across real time is G-single-realtime, and fine without real-time order', () => {
    const groups: Txn[][] = [[[0, [['append', 'x', 1]]]], [[1, [['r', 'x', []]]]], [[2, [['r', 'x', [1]]]]]];
    expect(la(groups).anomalyTypes).toEqual(['G-single-realtime']);
    expect(la(groups, false).verdict).toBe('valid');
  });
});

describe('rw-register', () => {
  it('finds nothing in a serial history', () => {
    const r = rw([[[0, [['w', 'x', 1]]]], [[1, [['r', 'x', 1], ['w', 'x', 2]]]], [[2, [['r', 'x', 2], ['r', 'y', null]]]]]);
    expect(r.anomalies).toEqual([]);
    expect(r.verdict).toBe('valid');
  });

  it('G1a, G1b and internal', () => {
    expect(rw([[[0, [['w', 'x', 1]], 'fail']], [[1, [['r', 'x', 1]]]]]).anomalyTypes).toContain('G1a');
    expect(rw([[[0, [['w', 'x', 1], ['w', 'x', 2]]], [1, [['r', 'x', 1]]]]]).anomalyTypes).toContain('G1b');
    expect(rw([[[0, [['w', 'x', 1], ['r', 'x', 2]]]]]).anomalyTypes).toContain('internal');
  });

  it('G1c, G-single, G2-item and lost update', () => {
    expect(rw([[[0, [['w', 'x', 1], ['r', 'y', 1]]], [1, [['w', 'y', 1], ['r', 'x', 1]]]]]).anomalyTypes).toEqual(['G1c']);
    expect(rw([[[0, [['w', 'x', 1], ['w', 'z', 1]]], [1, [['r', 'x', null], ['r', 'z', 1]]]]]).anomalyTypes).toEqual(['G-single']);
    expect(rw([[[0, [['r', 'x', null], ['w', 'y', 1]]], [1, [['r', 'y', null], ['w', 'x', 1]]]]]).anomalyTypes).toEqual(['G2-item']);
    expect(rw([[[0, [['r', 'x', null], ['w', 'x', 1]]], [1, [['r', 'x', null], ['w', 'x', 2]]]]]).anomalyTypes).toContain('lost-update');
  });

  it('G0 from writes that follow reads', () => {
    // T1 read x=1 (T0's) then wrote x=2; T0 read y=2 (T1's) then wrote y=1: ww both ways.
    const r = rw([[[0, [['r', 'y', 2], ['w', 'x', 1], ['w', 'y', 1]]], [1, [['r', 'x', 1], ['w', 'x', 2], ['w', 'y', 2]]]]]);
    expect(r.anomalyTypes).toEqual(['G0']);
    expect(r.anomalies[0]?.explanation).toMatch(/-ww->/);
  });
});
