import { describe, expect, it } from 'vitest';
import { HistoryRecorder, pairOps, type Value } from '../../histories/index.js';
import { casRegisterModel, checkLinearizability, checkListAppend, describeTxn, formatText, renderHtml } from '../../checker/index.js';

function txns(list: Array<[number, Value[]]>) {
  const h = new HistoryRecorder();
  for (const [p, mops] of list) h.invoke(p, 'txn', mops.map((m) => (Array.isArray(m) && m[0] === 'r' ? ['r', m[1] as Value, null] : m)), 0);
  for (const [p, mops] of list) h.complete(p, 'ok', 'txn', mops, 1);
  return pairOps(h.history());
}

describe('reports', () => {
  it('text and HTML for an Elle cycle name the anomaly and highlight its transactions', () => {
    const ops = txns([
      [0, [['append', 'x', 1], ['r', 'y', [1]]]],
      [1, [['append', 'y', 1], ['r', 'x', [1]]]],
      [2, [['r', 'z', []]]],
    ]);
    const report = checkListAppend(ops);
    const text = formatText(report, describeTxn);
    expect(text).toMatch(/^verdict: invalid/);
    expect(text).toMatch(/G1c: G1c cycle of 2 transactions/);
    const html = renderHtml(report, ops, describeTxn, 'g1c');
    expect(html).toContain('class="op ok stuck" data-op="0"');
    expect(html).toContain('class="op ok stuck" data-op="1"');
    expect(html).toContain('class="op ok" data-op="2"');
    expect(html).not.toMatch(/<script/);
  });

  it('linearizability text gives the failing key, stuck op and window; valid parts are summarised', () => {
    const h = new HistoryRecorder();
    h.invoke(0, 'write', { key: 'a', value: 1 }, 0);
    h.complete(0, 'ok', 'write', { key: 'a', value: 1 }, 1);
    h.invoke(1, 'read', { key: 'a', value: null }, 2);
    h.complete(1, 'ok', 'read', { key: 'a', value: 2 }, 3);
    h.invoke(0, 'read', { key: 'b', value: null }, 4);
    h.complete(0, 'ok', 'read', { key: 'b', value: null }, 5);
    const model = casRegisterModel();
    const ops = pairOps(h.history());
    const report = checkLinearizability(model, ops);
    const text = formatText(report, model.describeOp);
    expect(text).toMatch(/2 part\(s\) checked with model cas-register: 1 linearizable, 1 not, 0 unknown/);
    expect(text).toMatch(/key "a" is not linearizable/);
    expect(text).toMatch(/cannot linearize op 2 \(process 1, completed at index 3\): read -> 2/);
    const html = renderHtml(report, ops, model.describeOp);
    expect(html.indexOf('key &#34;a&#34;')).toBeLessThan(html.indexOf('key &#34;b&#34;'));
    expect(html).toContain('#1 write 1');
  });
});
