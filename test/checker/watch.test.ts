import { describe, expect, it } from 'vitest';
import { HistoryRecorder, pairOps, type Value } from '../../histories/index.js';
import { checkWatches } from '../../checker/index.js';

const kv = (key: string, value: string, create: number, mod: number, version: number): Value => ({ key, value, createRevision: create, modRevision: mod, version });
const put = (key: string, value: string, rev: number, version: number, create: number, prev: Value | null): Value => ({
  type: 'put',
  kv: kv(key, value, create, rev, version),
  prevKv: prev,
});
const del = (key: string, rev: number, prev: Value): Value => ({ type: 'delete', kv: kv(key, '', 0, rev, 0), prevKv: prev });

/** put a=1 @2, put b=1 @3, put a=2 @4, delete a @5, txn put a=3 b=2 @6. */
function writes(h: HistoryRecorder): void {
  const w = (f: string, input: Value, output: Value): void => {
    h.invoke(0, f, input, 0);
    h.complete(0, 'ok', f, output, 0);
  };
  w('put', { key: 'a', value: '1' }, { revision: 2 });
  w('put', { key: 'b', value: '1' }, { revision: 3 });
  w('put', { key: 'a', value: '2' }, { revision: 4 });
  w('delete', { key: 'a' }, { revision: 5, deleted: 1 });
  w('txn', { compares: [], success: [{ op: 'put', key: 'a', value: '3' }, { op: 'put', key: 'b', value: '2' }], failure: [] }, { revision: 6, succeeded: true, results: [{ op: 'put' }, { op: 'put' }] });
}

const goodResponses = (): Value[] => [
  { events: [put('a', '1', 2, 1, 2, null)] },
  { events: [put('b', '1', 3, 1, 3, null)] },
  { events: [put('a', '2', 4, 2, 2, kv('a', '1', 2, 2, 1))] },
  { events: [del('a', 5, kv('a', '2', 2, 4, 2))] },
  { events: [put('a', '3', 6, 1, 6, null), put('b', '2', 6, 2, 3, kv('b', '1', 3, 3, 1))] },
];

function check(watchers: Array<{ request: Value; responses: Value[] }>) {
  const h = new HistoryRecorder();
  writes(h);
  watchers.forEach((w, i) => {
    h.invoke(10 + i, 'watch', w.request, 1);
    h.complete(10 + i, 'ok', 'watch', { responses: w.responses }, 2);
  });
  return checkWatches(pairOps(h.history()));
}

const range = { key: 'a', rangeEnd: 'c', startRevision: 2, prevKv: true };

describe('watch checker', () => {
  it('accepts complete, ordered watches with correct prev_kv', () => {
    const r = check([{ request: range, responses: goodResponses() }, { request: { key: 'b', startRevision: 3 }, responses: [{ events: [put('b', '1', 3, 1, 3, null)] }, { events: [put('b', '2', 6, 2, 3, null)] }] }]);
    expect(r.anomalies).toEqual([]);
    expect(r.verdict).toBe('valid');
    expect(r.eventsChecked).toBe(8);
  });

  it('reports a gap, naming the missed revision', () => {
    const responses = goodResponses();
    responses.splice(1, 1);
    const r = check([{ request: range, responses }]);
    expect(r.anomalyTypes).toEqual(['gap']);
    expect(r.anomalies[0]).toMatchObject({ revision: 3, key: 'b' });
  });

  it('reports duplicates, disorder and split revisions', () => {
    const g = goodResponses();
    expect(check([{ request: range, responses: [...g, g[4] as Value] }]).anomalyTypes).toContain('duplicate');
    expect(check([{ request: range, responses: [g[1] as Value, g[0] as Value, ...g.slice(2)] }]).anomalyTypes).toContain('order');
    const last = g[4] as { events: Value[] };
    const split = [...g.slice(0, 4), { events: [last.events[0] as Value] }, { events: [last.events[1] as Value] }];
    expect(check([{ request: range, responses: split }]).anomalyTypes).toEqual(['split-revision']);
  });

  it('reports a wrong prev_kv and a wrong version', () => {
    const g = goodResponses();
    g[2] = { events: [put('a', '2', 4, 2, 2, kv('a', 'x', 2, 2, 1))] };
    expect(check([{ request: range, responses: g }]).anomalyTypes).toEqual(['wrong-prev-kv']);
    const h = goodResponses();
    h[2] = { events: [put('a', '2', 4, 3, 2, kv('a', '1', 2, 2, 1))] };
    expect(check([{ request: range, responses: h }]).anomalyTypes).toEqual(['wrong-version']);
  });

  it('reports events that disagree with the writes or match none', () => {
    const g = goodResponses();
    g[1] = { events: [put('b', '9', 3, 1, 3, null)] };
    expect(check([{ request: range, responses: g }]).anomalyTypes).toContain('write-mismatch');
    const p = goodResponses();
    p.push({ events: [put('a', 'ghost', 9, 2, 6, kv('a', '3', 6, 6, 1))] });
    expect(check([{ request: range, responses: p }]).anomalyTypes).toContain('phantom-event');
  });

  it('allows no prev_kv only where a compaction removed the previous version', () => {
    // A watcher resuming at 5 after a compaction at 5 gets the delete of a without prev_kv.
    const resumed = { request: { key: 'a', startRevision: 5, prevKv: true }, responses: [{ events: [del('a', 5, null as unknown as Value)] }] };
    expect(check([resumed]).anomalyTypes).toEqual(['wrong-prev-kv']);
    const h = new HistoryRecorder();
    writes(h);
    h.invoke('compactor-1', 'compact', { revision: 5 }, 1);
    h.complete('compactor-1', 'ok', 'compact', { revision: 5 }, 1);
    h.invoke(10, 'watch', resumed.request, 1);
    h.complete(10, 'ok', 'watch', { responses: resumed.responses }, 2);
    expect(checkWatches(pairOps(h.history())).verdict).toBe('valid');
  });

  it('stops requiring events at a compaction notice, and flags events after it', () => {
    const notice = { events: [], compactRevision: 4, canceled: true };
    expect(check([{ request: { key: 'a', startRevision: 1 }, responses: [notice] }]).verdict).toBe('valid');
    const after = check([{ request: { key: 'a', startRevision: 1 }, responses: [notice, { events: [put('a', '1', 2, 1, 2, null)] }] }]);
    expect(after.anomalyTypes).toContain('after-cancel');
  });

  it('uses other watchers to find what one watcher missed', () => {
    const other = { request: { key: 'z', rangeEnd: '\u0000', startRevision: 2 }, responses: [] as Value[] };
    const r = check([other, { request: { key: 'a', rangeEnd: '\u0000', startRevision: 2 }, responses: goodResponses() }]);
    expect(r.verdict).toBe('valid');
    const missing = check([{ request: { key: 'b', startRevision: 2 }, responses: [{ events: [put('b', '2', 6, 2, 3, null)] }] }]);
    expect(missing.anomalyTypes).toEqual(['gap']);
  });
});
