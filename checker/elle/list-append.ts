import { valueKey, type Operation, type Value } from '../../histories/index.js';
import { addOrderEdges, cycleAnomalies, DepGraph, describeTxn, keyText, mopsOf, RW, WR, WW, type Anomaly } from './graph.js';

export interface TxnReport {
  readonly kind: 'transactional';
  readonly workload: 'list-append' | 'rw-register';
  readonly verdict: 'valid' | 'invalid';
  readonly anomalies: readonly Anomaly[];
  /** Anomaly names found, sorted, for a one-line summary. */
  readonly anomalyTypes: readonly string[];
  readonly txnCount: number;
}

interface Writer {
  readonly op: Operation;
  /** Position among this txn's appends to the key; `last` marks its final append. */
  readonly last: boolean;
}

function txnsOf(ops: readonly Operation[]): Operation[] {
  return ops.filter((o) => o.f === 'txn');
}

/** Reads of committed txns, with the list they saw. */
interface Read {
  readonly op: Operation;
  readonly key: string;
  readonly list: readonly Value[];
}

function indexWriters(txns: readonly Operation[], anomalies: Anomaly[]): Map<string, Map<string, Writer>> {
  const writers = new Map<string, Map<string, Writer>>();
  for (const t of txns) {
    const mops = mopsOf(t.status === 'ok' ? t.output : t.input).filter(([f]) => f === 'append');
    mops.forEach(([, k, v], i) => {
      const key = keyText(k);
      let m = writers.get(key);
      if (m === undefined) writers.set(key, (m = new Map()));
      const vk = valueKey(v);
      const prev = m.get(vk);
      if (prev !== undefined && prev.op !== t) {
        anomalies.push({ name: 'duplicate-appends', ops: [prev.op, t], explanation: `key ${key}: value ${vk} appended by T${prev.op.id} and T${t.id}` });
      }
      const later = mops.slice(i + 1).some(([, k2]) => keyText(k2) === key);
      m.set(vk, { op: t, last: !later });
    });
  }
  return writers;
}

/** A txn's own reads must reflect its earlier reads and appends of the same key. */
function internalAnomalies(t: Operation): Anomaly[] {
  const known = new Map<string, { prefix: Value[] | null; appended: Value[] }>();
  const found: Anomaly[] = [];
  for (const [f, k, v] of mopsOf(t.output)) {
    const key = keyText(k);
    const s = known.get(key) ?? { prefix: null, appended: [] };
    if (f === 'append') {
      s.appended.push(v);
      known.set(key, s);
      continue;
    }
    if (f !== 'r') continue;
    const list = Array.isArray(v) ? v : [];
    const expected = s.prefix === null ? null : [...s.prefix, ...s.appended];
    const tail = list.slice(list.length - s.appended.length);
    const ok = expected !== null ? valueKey(expected) === valueKey(list) : s.appended.length === 0 || valueKey(tail) === valueKey(s.appended);
    if (!ok) {
      const want = expected !== null ? JSON.stringify(expected) : `a list ending in ${JSON.stringify(s.appended)}`;
      found.push({ name: 'internal', ops: [t], explanation: `T${t.id} read key ${key} as ${JSON.stringify(list)} but its own earlier ops imply ${want}` });
    }
    known.set(key, { prefix: list, appended: [] });
  }
  return found;
}

/** Version order per key: the longest committed read; every other read must be its prefix. */
function versionOrders(reads: readonly Read[], anomalies: Anomaly[]): Map<string, readonly Value[]> {
  const longest = new Map<string, Read>();
  for (const r of reads) {
    const cur = longest.get(r.key);
    if (cur === undefined || r.list.length > cur.list.length) longest.set(r.key, r);
  }
  for (const r of reads) {
    const top = longest.get(r.key) as Read;
    if (valueKey(top.list.slice(0, r.list.length)) !== valueKey([...r.list])) {
      anomalies.push({
        name: 'incompatible-order',
        ops: [r.op, top.op],
        explanation: `key ${r.key}: T${r.op.id} read ${JSON.stringify(r.list)}, not a prefix of T${top.op.id}'s ${JSON.stringify(top.list)}`,
      });
    }
  }
  return new Map([...longest].map(([k, r]) => [k, r.list]));
}

function externalReads(t: Operation): Read[] {
  // Only a txn's first access to a key observes other txns; later reads see its own effects too.
  const touched = new Set<string>();
  const reads: Read[] = [];
  for (const [f, k, v] of mopsOf(t.output)) {
    const key = keyText(k);
    if (f === 'r' && !touched.has(key)) reads.push({ op: t, key, list: Array.isArray(v) ? v : [] });
    touched.add(key);
  }
  return reads;
}

function readAnomalies(reads: readonly Read[], writers: Map<string, Map<string, Writer>>, anomalies: Anomaly[]): void {
  for (const r of reads) {
    const w = writers.get(r.key);
    for (const v of r.list) {
      const writer = w?.get(valueKey(v));
      if (writer === undefined) {
        anomalies.push({ name: 'garbage-read', ops: [r.op], explanation: `T${r.op.id} read key ${r.key} value ${JSON.stringify(v)} that nobody appended` });
      } else if (writer.op.status === 'fail') {
        anomalies.push({ name: 'G1a', ops: [r.op, writer.op], explanation: `T${r.op.id} read key ${r.key} value ${JSON.stringify(v)} appended by aborted T${writer.op.id}` });
      }
    }
    const lastV = r.list[r.list.length - 1];
    const last = lastV === undefined ? undefined : w?.get(valueKey(lastV));
    if (last !== undefined && !last.last && last.op !== r.op && last.op.status !== 'fail') {
      anomalies.push({
        name: 'G1b',
        ops: [r.op, last.op],
        explanation: `T${r.op.id} read key ${r.key} ending in ${JSON.stringify(lastV)}, an intermediate append of T${last.op.id}`,
      });
    }
  }
}

/** Txns that read the same version of a key and then both appended to it. */
function lostUpdates(txns: readonly Operation[]): Anomaly[] {
  const groups = new Map<string, Operation[]>();
  for (const t of txns) {
    const seen = new Map<string, Value[]>();
    // Only a txn's first append after its first read of a key counts; later appends to the key
    // are the same update (counting them grouped unrelated txns under a placeholder version).
    const counted = new Set<string>();
    for (const [f, k, v] of mopsOf(t.output)) {
      const key = keyText(k);
      if (f === 'r' && !seen.has(key)) seen.set(key, Array.isArray(v) ? v : []);
      else if (f === 'append' && seen.has(key) && !counted.has(key)) {
        const g = `${key}\u0000${valueKey(seen.get(key) as Value[])}`;
        groups.set(g, [...(groups.get(g) ?? []), t]);
        counted.add(key);
      }
    }
  }
  const found: Anomaly[] = [];
  for (const [g, ts] of groups) {
    const unique = [...new Set(ts)];
    if (unique.length < 2) continue;
    const [key, version] = g.split('\u0000');
    found.push({
      name: 'lost-update',
      ops: unique,
      explanation: `T${unique.map((t) => t.id).join(', T')} all read key ${key} as ${version} and appended to it`,
    });
  }
  return found;
}

function dependencyEdges(g: DepGraph, reads: readonly Read[], orders: Map<string, readonly Value[]>, writers: Map<string, Map<string, Writer>>): void {
  for (const [key, order] of orders) {
    const w = writers.get(key);
    for (let i = 0; i + 1 < order.length; i++) {
      const a = w?.get(valueKey(order[i] as Value));
      const b = w?.get(valueKey(order[i + 1] as Value));
      if (a !== undefined && b !== undefined) g.add(a.op, b.op, WW, `key ${key}: ${JSON.stringify(order[i])} then ${JSON.stringify(order[i + 1])}`);
    }
  }
  for (const r of reads) {
    const w = writers.get(r.key);
    const order = orders.get(r.key) ?? [];
    const lastV = r.list[r.list.length - 1];
    const from = lastV === undefined ? undefined : w?.get(valueKey(lastV));
    if (from !== undefined) g.add(from.op, r.op, WR, `key ${r.key}: read ${JSON.stringify(r.list)}`);
    const nextV = order[r.list.length];
    const to = nextV === undefined ? undefined : w?.get(valueKey(nextV));
    if (to !== undefined) g.add(r.op, to.op, RW, `key ${r.key}: read ${JSON.stringify(r.list)}, then ${JSON.stringify(nextV)} appended`);
  }
}

export interface TxnOptions {
  /** Add process-order and real-time edges (default true): strict serializability. */
  readonly realtime?: boolean;
}

/**
 * Elle-style list-append: txn values are lists of ["append", k, v] and ["r", k, list]; the
 * version order of each key comes from the longest read, which makes ww, wr and rw
 * dependencies exact; cycles are then found and named.
 */
export function checkListAppend(ops: readonly Operation[], options: TxnOptions = {}): TxnReport {
  const txns = txnsOf(ops);
  const anomalies: Anomaly[] = [];
  const writers = indexWriters(txns, anomalies);
  const committed = txns.filter((t) => t.status === 'ok');
  for (const t of committed) anomalies.push(...internalAnomalies(t));
  const reads = committed.flatMap(externalReads);
  readAnomalies(reads, writers, anomalies);
  const orders = versionOrders(reads, anomalies);
  anomalies.push(...lostUpdates(committed));
  const g = new DepGraph();
  dependencyEdges(g, reads, orders, writers);
  if (options.realtime !== false) addOrderEdges(g, txns.filter((t) => t.status !== 'fail'));
  anomalies.push(...cycleAnomalies(g, describeTxn));
  return finish('list-append', anomalies, txns.length);
}

export function finish(workload: TxnReport['workload'], anomalies: Anomaly[], txnCount: number): TxnReport {
  const anomalyTypes = [...new Set(anomalies.map((a) => a.name))].sort();
  return { kind: 'transactional', workload, verdict: anomalies.length === 0 ? 'valid' : 'invalid', anomalies, anomalyTypes, txnCount };
}
