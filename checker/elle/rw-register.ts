import { valueKey, type Operation, type Value } from '../../histories/index.js';
import { addOrderEdges, cycleAnomalies, DepGraph, describeTxn, keyText, mopsOf, RW, WR, WW, type Anomaly } from './graph.js';
import { finish, type TxnOptions, type TxnReport } from './list-append.js';

interface Writer {
  readonly op: Operation;
  readonly last: boolean;
}

interface Read {
  readonly op: Operation;
  readonly key: string;
  /** null: the initial (absent) version. */
  readonly value: Value;
}

function indexWriters(txns: readonly Operation[], anomalies: Anomaly[]): Map<string, Map<string, Writer>> {
  const writers = new Map<string, Map<string, Writer>>();
  for (const t of txns) {
    const ws = mopsOf(t.status === 'ok' ? t.output : t.input).filter(([f]) => f === 'w');
    ws.forEach(([, k, v], i) => {
      const key = keyText(k);
      let m = writers.get(key);
      if (m === undefined) writers.set(key, (m = new Map()));
      const prev = m.get(valueKey(v));
      if (prev !== undefined && prev.op !== t) {
        anomalies.push({ name: 'duplicate-writes', ops: [prev.op, t], explanation: `key ${key}: value ${valueKey(v)} written by T${prev.op.id} and T${t.id}` });
      }
      m.set(valueKey(v), { op: t, last: !ws.slice(i + 1).some(([, k2]) => keyText(k2) === key) });
    });
  }
  return writers;
}

/** Within a txn: a read after its own write sees that write; two reads agree. */
function internal(t: Operation): Anomaly[] {
  const known = new Map<string, Value>();
  const found: Anomaly[] = [];
  for (const [f, k, v] of mopsOf(t.output)) {
    const key = keyText(k);
    if (f === 'w') known.set(key, v);
    else if (f === 'r') {
      if (known.has(key) && valueKey(known.get(key) as Value) !== valueKey(v)) {
        found.push({ name: 'internal', ops: [t], explanation: `T${t.id} read key ${key} as ${JSON.stringify(v)}, expected ${JSON.stringify(known.get(key))}` });
      }
      known.set(key, v);
    }
  }
  return found;
}

/** The first read of each key in a txn, before it wrote the key: it observed other txns. */
function externalReads(t: Operation): Read[] {
  const touched = new Set<string>();
  const out: Read[] = [];
  for (const [f, k, v] of mopsOf(t.output)) {
    const key = keyText(k);
    if (f === 'r' && !touched.has(key)) out.push({ op: t, key, value: v });
    touched.add(key);
  }
  return out;
}

/**
 * Version order facts that hold without assuming more than serializability: the initial
 * version precedes every write, and a txn that read v and then wrote v' put v' after v.
 */
function versionPairs(committed: readonly Operation[]): Array<{ key: string; before: Value; after: Value }> {
  const pairs: Array<{ key: string; before: Value; after: Value }> = [];
  for (const t of committed) {
    const readFirst = new Map<string, Value>();
    const touched = new Set<string>();
    for (const [f, k, v] of mopsOf(t.output)) {
      const key = keyText(k);
      if (f === 'r' && !touched.has(key)) readFirst.set(key, v);
      touched.add(key);
      if (f === 'w' && readFirst.has(key)) {
        pairs.push({ key, before: readFirst.get(key) as Value, after: v });
        readFirst.delete(key);
      }
    }
  }
  return pairs;
}

/**
 * Elle-style rw-register: txn values are lists of ["w", k, v] and ["r", k, v] (v unique per
 * key, nil the initial version). wr edges are exact; ww and rw come from the version order
 * that can be inferred (initial first, writes follow the reads of the same txn).
 */
export function checkRwRegister(ops: readonly Operation[], options: TxnOptions = {}): TxnReport {
  const txns = ops.filter((o) => o.f === 'txn');
  const anomalies: Anomaly[] = [];
  const writers = indexWriters(txns, anomalies);
  const committed = txns.filter((t) => t.status === 'ok');
  for (const t of committed) anomalies.push(...internal(t));
  const reads = committed.flatMap(externalReads);
  const readersOf = new Map<string, Operation[]>();
  const g = new DepGraph();
  for (const r of reads) {
    const vk = `${r.key}\u0000${valueKey(r.value)}`;
    readersOf.set(vk, [...(readersOf.get(vk) ?? []), r.op]);
    if (r.value === null) continue;
    const w = writers.get(r.key)?.get(valueKey(r.value));
    if (w === undefined) {
      anomalies.push({ name: 'garbage-read', ops: [r.op], explanation: `T${r.op.id} read key ${r.key} value ${JSON.stringify(r.value)} that nobody wrote` });
      continue;
    }
    if (w.op.status === 'fail') anomalies.push({ name: 'G1a', ops: [r.op, w.op], explanation: `T${r.op.id} read key ${r.key} = ${JSON.stringify(r.value)} written by aborted T${w.op.id}` });
    else if (!w.last && w.op !== r.op) anomalies.push({ name: 'G1b', ops: [r.op, w.op], explanation: `T${r.op.id} read key ${r.key} = ${JSON.stringify(r.value)}, an intermediate write of T${w.op.id}` });
    else g.add(w.op, r.op, WR, `key ${r.key}: read ${JSON.stringify(r.value)}`);
  }
  const live = (w: Writer | undefined): w is Writer => w !== undefined && w.op.status !== 'fail';
  for (const [key, ws] of writers) {
    // The initial version precedes every write: readers of nil anti-depend on all writers.
    for (const reader of readersOf.get(`${key}\u0000null`) ?? []) {
      for (const w of ws.values()) if (live(w)) g.add(reader, w.op, RW, `key ${key}: read nil, later written ${describeWrite(w.op, key)}`);
    }
  }
  for (const { key, before, after } of versionPairs(committed)) {
    const a = writers.get(key)?.get(valueKey(before));
    const b = writers.get(key)?.get(valueKey(after));
    if (!live(b)) continue;
    if (live(a)) g.add(a.op, b.op, WW, `key ${key}: ${JSON.stringify(before)} then ${JSON.stringify(after)}`);
    for (const reader of readersOf.get(`${key}\u0000${valueKey(before)}`) ?? []) {
      g.add(reader, b.op, RW, `key ${key}: read ${JSON.stringify(before)}, overwritten by ${JSON.stringify(after)}`);
    }
  }
  anomalies.push(...lostUpdates(committed));
  if (options.realtime !== false) addOrderEdges(g, txns.filter((t) => t.status !== 'fail'));
  anomalies.push(...cycleAnomalies(g, describeTxn));
  return finish('rw-register', anomalies, txns.length);
}

function describeWrite(op: Operation, key: string): string {
  const w = mopsOf(op.output ?? op.input).find(([f, k]) => f === 'w' && keyText(k) === key);
  return w === undefined ? `by T${op.id}` : `${JSON.stringify(w[2])} by T${op.id}`;
}

/** Txns that read the same version of a key and then both wrote it. */
function lostUpdates(committed: readonly Operation[]): Anomaly[] {
  const groups = new Map<string, Operation[]>();
  for (const t of committed) {
    const readFirst = new Map<string, Value>();
    const touched = new Set<string>();
    for (const [f, k, v] of mopsOf(t.output)) {
      const key = keyText(k);
      if (f === 'r' && !touched.has(key)) readFirst.set(key, v);
      touched.add(key);
      if (f === 'w' && readFirst.has(key)) {
        const gk = `${key}\u0000${valueKey(readFirst.get(key) as Value)}`;
        groups.set(gk, [...(groups.get(gk) ?? []), t]);
        readFirst.delete(key);
      }
    }
  }
  const found: Anomaly[] = [];
  for (const [gk, ts] of groups) {
    if (ts.length < 2) continue;
    const [key, version] = gk.split('\u0000');
    found.push({ name: 'lost-update', ops: ts, explanation: `T${ts.map((t) => t.id).join(', T')} all read key ${key} as ${version} and wrote it` });
  }
  return found;
}
