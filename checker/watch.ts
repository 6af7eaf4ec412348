import { toNum, type Operation, type Value } from '../histories/index.js';
import { asObject, bytesText, inKeyRange } from './values.js';

export interface WatchAnomaly {
  /** order, duplicate, split-revision, gap, out-of-range, before-start, after-cancel,
   *  wrong-prev-kv, wrong-version, disagreement, phantom-event, write-mismatch */
  readonly name: string;
  readonly watcher: Operation | undefined;
  readonly revision?: number;
  readonly key?: string;
  readonly explanation: string;
}

export interface WatchReport {
  readonly kind: 'watch';
  readonly verdict: 'valid' | 'invalid';
  readonly anomalies: readonly WatchAnomaly[];
  readonly anomalyTypes: readonly string[];
  readonly watchers: number;
  readonly eventsChecked: number;
}

/** What happened to one key at one revision. */
interface Change {
  readonly type: 'put' | 'delete';
  /** Put value; undefined when unknown (a delete, or a write whose value was not recorded). */
  readonly value: string | undefined;
  readonly source: string;
}

interface Ev {
  readonly type: 'put' | 'delete';
  readonly key: string;
  readonly value: string;
  readonly mod: number;
  readonly create: number;
  readonly version: number;
  readonly prev: { value: string; mod: number; create: number; version: number } | null | undefined;
  readonly response: number;
}

type Timeline = Map<number, Map<string, Change>>;

function note(t: Timeline, rev: number, key: string, c: Change): Change | undefined {
  let m = t.get(rev);
  if (m === undefined) t.set(rev, (m = new Map()));
  const prior = m.get(key);
  if (prior === undefined) m.set(key, c);
  return prior;
}

/** The key-level effects of one etcd request op in a committed branch. */
function writesOf(req: { [k: string]: Value }, f: string, result: { [k: string]: Value } | undefined): Array<[string, Change]> {
  const key = bytesText(req['key']);
  if (f === 'put') return [[key, { type: 'put', value: bytesText(req['value']), source: 'put' }]];
  if (f !== 'delete') return [];
  const prevKvs = result?.['prevKvs'];
  if (Array.isArray(prevKvs)) return prevKvs.map((kv) => [bytesText(asObject(kv)?.['key']), { type: 'delete', value: undefined, source: 'delete' }]);
  const single = req['rangeEnd'] === undefined || req['rangeEnd'] === null;
  if (single && toNum(result?.['deleted']) === 1) return [[key, { type: 'delete', value: undefined, source: 'delete' }]];
  return [];
}

/** Effects of completed writes, by revision, from the etcd-model ops of the history. */
function committedWrites(ops: readonly Operation[]): { timeline: Timeline; revisions: Set<number> } {
  const timeline: Timeline = new Map();
  const revisions = new Set<number>();
  for (const op of ops) {
    if (op.status !== 'ok' || !['put', 'delete', 'txn'].includes(op.f)) continue;
    const out = asObject(op.output);
    const input = asObject(op.input);
    const rev = toNum(out?.['revision']);
    if (out === undefined || input === undefined || !Number.isFinite(rev)) continue;
    let effects: Array<[string, Change]> = [];
    if (op.f === 'txn') {
      const branch = (out['succeeded'] === true ? input['success'] : input['failure']) ?? [];
      const results = Array.isArray(out['results']) ? out['results'] : [];
      (branch as Value[]).forEach((r, i) => {
        const req = asObject(r);
        if (req !== undefined) effects.push(...writesOf(req, String(req['op']), asObject(results[i])));
      });
    } else effects = writesOf(input, op.f, out);
    if (effects.length === 0) continue;
    revisions.add(rev);
    for (const [key, c] of effects) note(timeline, rev, key, { ...c, source: `op ${op.invoke.index} (${op.f})` });
  }
  return { timeline, revisions };
}

/** Keys and values that writes with unknown outcome might have produced. */
function possibleWrites(ops: readonly Operation[]): Set<string> {
  const out = new Set<string>();
  const add = (req: { [k: string]: Value }, f: string): void => {
    if (f === 'put') out.add(`put\u0000${bytesText(req['key'])}\u0000${bytesText(req['value'])}`);
    if (f === 'delete') out.add(`delete\u0000*`);
  };
  for (const op of ops) {
    if (op.status === 'ok') continue;
    const input = asObject(op.input);
    if (input === undefined) continue;
    if (op.f === 'put' || op.f === 'delete') add(input, op.f);
    if (op.f === 'txn') {
      for (const r of [...((input['success'] ?? []) as Value[]), ...((input['failure'] ?? []) as Value[])]) {
        const req = asObject(r);
        if (req !== undefined) add(req, String(req['op']));
      }
    }
  }
  return out;
}

function parseKv(v: Value | undefined): { key: string; value: string; mod: number; create: number; version: number } | undefined {
  const o = asObject(v);
  if (o === undefined) return undefined;
  return { key: bytesText(o['key']), value: bytesText(o['value']), mod: toNum(o['modRevision']), create: toNum(o['createRevision']), version: toNum(o['version']) };
}

function eventsOf(watch: Operation): { events: Ev[]; stopAfter: number | undefined } {
  const responses = asObject(watch.output)?.['responses'];
  const events: Ev[] = [];
  let stopAfter: number | undefined;
  (Array.isArray(responses) ? responses : []).forEach((resp, ri) => {
    const r = asObject(resp) ?? {};
    for (const e of Array.isArray(r['events']) ? r['events'] : []) {
      const eo = asObject(e) ?? {};
      const kv = parseKv(eo['kv']);
      if (kv === undefined) continue;
      const prevRaw = eo['prevKv'];
      const prev = prevRaw === undefined ? undefined : prevRaw === null ? null : (parseKv(prevRaw) ?? null);
      events.push({ type: eo['type'] === 'delete' ? 'delete' : 'put', ...kv, prev, response: ri });
    }
    if (stopAfter === undefined && (r['canceled'] === true || toNum(r['compactRevision']) > 0)) stopAfter = ri;
  });
  return { events, stopAfter };
}

/**
 * Checks each watcher's received events against the committed writes (etcd-model ops with
 * their revisions) and against what the other watchers saw: revision order, no duplicates, one
 * revision per response, no gaps from the start revision until a cancel or compaction notice,
 * prev_kv and versions, and agreement with the writes.
 */
export function checkWatches(ops: readonly Operation[]): WatchReport {
  const anomalies: WatchAnomaly[] = [];
  const { timeline, revisions } = committedWrites(ops);
  const possible = possibleWrites(ops);
  const watchers = ops.filter((o) => o.f === 'watch' && o.output !== undefined);
  const perWatcher = watchers.map((w) => ({ w, ...eventsOf(w) }));
  let eventsChecked = 0;
  // Everything any watcher saw joins the timeline: one watcher's events reveal another's gaps.
  for (const { w, events } of perWatcher) {
    for (const e of events) {
      eventsChecked++;
      const c: Change = { type: e.type, value: e.type === 'put' ? e.value : undefined, source: `watcher op ${w.invoke.index}` };
      const prior = note(timeline, e.mod, e.key, c);
      if (prior !== undefined && (prior.type !== c.type || (prior.value !== undefined && c.value !== undefined && prior.value !== c.value))) {
        const name = prior.source.startsWith('watcher') ? 'disagreement' : 'write-mismatch';
        anomalies.push({ name, watcher: w, revision: e.mod, key: e.key, explanation: `revision ${e.mod} key ${e.key}: watcher saw ${c.type} ${JSON.stringify(c.value)}, ${prior.source} says ${prior.type} ${JSON.stringify(prior.value)}` });
      }
      const explained = revisions.has(e.mod) ? (timeline.get(e.mod)?.get(e.key)?.source.startsWith('op') ?? false) : possible.has(`put\u0000${e.key}\u0000${e.value}`) || (e.type === 'delete' && possible.has('delete\u0000*'));
      if (!explained) {
        anomalies.push({ name: 'phantom-event', watcher: w, revision: e.mod, key: e.key, explanation: `revision ${e.mod} key ${e.key}: ${e.type} ${JSON.stringify(e.value)} matches no write in the history` });
      }
    }
  }
  const compactions = compactionRevisions(ops);
  for (const { w, events, stopAfter } of perWatcher) anomalies.push(...checkWatcher(w, events, stopAfter, timeline, compactions));
  const anomalyTypes = [...new Set(anomalies.map((a) => a.name))].sort();
  return { kind: 'watch', verdict: anomalies.length === 0 ? 'valid' : 'invalid', anomalies, anomalyTypes, watchers: watchers.length, eventsChecked };
}

/** Revisions of every compaction the history requested (any of them may have taken effect). */
function compactionRevisions(ops: readonly Operation[]): number[] {
  const revisions: number[] = [];
  for (const op of ops) if (op.f === 'compact') revisions.push(toNum(asObject(op.input)?.['revision'] ?? 0));
  return revisions;
}

function checkWatcher(w: Operation, events: readonly Ev[], stopAfter: number | undefined, timeline: Timeline, compactions: readonly number[]): WatchAnomaly[] {
  const found: WatchAnomaly[] = [];
  const req = asObject(w.input) ?? {};
  const key = bytesText(req['key']);
  const end = req['rangeEnd'] === undefined || req['rangeEnd'] === null ? undefined : bytesText(req['rangeEnd']);
  const start = toNum(req['startRevision'] ?? 0);
  const wantPrev = req['prevKv'] === true;
  const add: AddAnomaly = (name, e, explanation, rev, k) => {
    const at = { revision: rev ?? e?.mod, key: k ?? e?.key };
    found.push({ name, watcher: w, ...(at.revision === undefined ? {} : { revision: at.revision }), ...(at.key === undefined ? {} : { key: at.key }), explanation: `watcher op ${w.invoke.index}: ${explanation}` });
  };
  const seen = new Set<string>();
  const responseOfRev = new Map<number, number>();
  let last: Ev | undefined;
  for (const e of events) {
    if (stopAfter !== undefined && e.response > stopAfter) add('after-cancel', e, `event at revision ${e.mod} after the watch was cancelled`);
    if (!inKeyRange(e.key, key, end)) add('out-of-range', e, `event for key ${e.key} outside the watched range`);
    if (start > 0 && e.mod < start) add('before-start', e, `event at revision ${e.mod} before start revision ${start}`);
    if (last !== undefined && e.mod < last.mod) add('order', e, `revision ${e.mod} after revision ${last.mod}`);
    const id = `${e.mod}\u0000${e.key}`;
    if (seen.has(id)) add('duplicate', e, `key ${e.key} at revision ${e.mod} delivered twice`);
    seen.add(id);
    const r = responseOfRev.get(e.mod);
    if (r !== undefined && r !== e.response) add('split-revision', e, `events of revision ${e.mod} arrived in responses ${r} and ${e.response}`);
    responseOfRev.set(e.mod, e.response);
    last = e;
  }
  if (events.length > 0) gaps(events, start, key, end, timeline, add);
  const byKey = revisionsByKey(timeline);
  for (const e of events) checkPrev(e, wantPrev, timeline, byKey, compactions, add);
  return found;
}

type AddAnomaly = (name: string, e: Ev | undefined, explanation: string, rev?: number, k?: string) => void;

function gaps(events: readonly Ev[], start: number, key: string, end: string | undefined, timeline: Timeline, add: AddAnomaly): void {
  const lo = start > 0 ? start : (events[0] as Ev).mod;
  const hi = Math.max(...events.map((e) => e.mod));
  const got = new Set(events.map((e) => `${e.mod}\u0000${e.key}`));
  for (const [rev, changes] of timeline) {
    if (rev < lo || rev > hi) continue;
    for (const [k, c] of changes) {
      if (inKeyRange(k, key, end) && !got.has(`${rev}\u0000${k}`)) {
        add('gap', undefined, `missed ${c.type} of key ${k} at revision ${rev} (known from ${c.source}) between revisions ${lo} and ${hi}`, rev, k);
      }
    }
  }
}

function revisionsByKey(timeline: Timeline): Map<string, number[]> {
  const byKey = new Map<string, number[]>();
  for (const [rev, changes] of timeline) {
    for (const k of changes.keys()) {
      const list = byKey.get(k);
      if (list === undefined) byKey.set(k, [rev]);
      else list.push(rev);
    }
  }
  for (const list of byKey.values()) list.sort((a, b) => a - b);
  return byKey;
}

/** Latest known change to `key` strictly before `rev`. */
function previousChange(timeline: Timeline, byKey: Map<string, number[]>, key: string, rev: number): [number, Change] | undefined {
  const revs = byKey.get(key) ?? [];
  let lo = 0;
  let hi = revs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((revs[mid] as number) < rev) lo = mid + 1;
    else hi = mid;
  }
  const r = revs[lo - 1];
  return r === undefined ? undefined : [r, timeline.get(r)?.get(key) as Change];
}

function checkPrev(e: Ev, wantPrev: boolean, timeline: Timeline, byKey: Map<string, number[]>, compactions: readonly number[], add: AddAnomaly): void {
  const before = previousChange(timeline, byKey, e.key, e.mod);
  if (wantPrev && e.prev !== undefined) {
    if (e.prev === null) {
      // An event replayed after a compaction past the previous version has no prev_kv (as etcd).
      const prevCompacted = before !== undefined && compactions.some((c) => c > before[0] && c <= e.mod);
      if (before !== undefined && before[1].type === 'put' && !prevCompacted) add('wrong-prev-kv', e, `no prev_kv, but key ${e.key} was put at revision ${before[0]}`);
    } else if (before === undefined || before[0] !== e.prev.mod || before[1].type !== 'put' || (before[1].value !== undefined && before[1].value !== e.prev.value)) {
      const what = before === undefined ? 'no earlier change is known' : `the last change was ${before[1].type} ${JSON.stringify(before[1].value)} at revision ${before[0]}`;
      add('wrong-prev-kv', e, `prev_kv ${JSON.stringify(e.prev.value)}@${e.prev.mod}, but ${what}`);
    }
  }
  // Without prev_kv requested, a null prev_kv carries no information.
  if (e.type !== 'put' || !wantPrev) return;
  if (e.prev !== undefined && e.prev !== null) {
    if (e.version !== e.prev.version + 1 || e.create !== e.prev.create) add('wrong-version', e, `version ${e.version} create ${e.create} after prev_kv version ${e.prev.version} create ${e.prev.create}`);
  } else if (e.prev === null && (e.version !== 1 || e.create !== e.mod)) {
    add('wrong-version', e, `first put of the key has version ${e.version} create ${e.create}`);
  }
}
