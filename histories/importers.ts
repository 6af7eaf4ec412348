import { EdnChar, EdnList, EdnMap, EdnReader, EdnSet, EdnSymbol, EdnTagged, Keyword, readAllEdn, type EdnValue } from './edn.js';
import { decodeJsonl } from './jsonl.js';
import { check, HistoryError, NEMESIS, type Op, type OpType, type Process, type Value } from './op.js';

export type HistoryFormat = 'porcupine-etcd' | 'porcupine-kv' | 'jepsen-edn' | 'jsonl';
export const HISTORY_FORMATS: readonly HistoryFormat[] = ['porcupine-etcd', 'porcupine-kv', 'jepsen-edn', 'jsonl'];

/** EDN data to the JSON-shaped Value of the op format. */
export function ednToValue(v: EdnValue): Value {
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Keyword) return v.name;
  if (v instanceof EdnSymbol) return v.name;
  if (v instanceof EdnChar) return v.char;
  if (Array.isArray(v)) return v.map(ednToValue);
  if (v instanceof EdnList || v instanceof EdnSet) return v.items.map(ednToValue);
  if (v instanceof EdnMap) {
    const o: { [k: string]: Value } = {};
    for (const [k, val] of v.entries) {
      const key = ednToValue(k);
      o[typeof key === 'string' ? key : JSON.stringify(key)] = ednToValue(val);
    }
    return o;
  }
  // jepsen.independent/tuple [k v] is the per-key form of a value.
  if (v instanceof EdnTagged && v.tag.endsWith('independent/tuple')) {
    const inner = ednToValue(v.value);
    if (Array.isArray(inner) && inner.length === 2) return { key: inner[0] as Value, value: inner[1] as Value };
  }
  if (v instanceof EdnTagged) return ednToValue(v.value);
  throw new HistoryError('EDN: value of unknown kind');
}

/** Assigns completions to open ops; a nemesis completion with nothing open starts an op. */
class Sequencer {
  readonly ops: Op[] = [];
  private readonly open = new Set<Process>();
  private lastIndex = -1;

  push(process: Process, type: OpType, f: string, value: Value, time: number | undefined, index: number | undefined, where: string): void {
    let t = type;
    if (t !== 'invoke' && !this.open.has(process)) {
      check(process === NEMESIS, `${where}: process ${String(process)} completes ${f} without an invoke`);
      t = 'invoke';
    }
    if (t === 'invoke') {
      check(!this.open.has(process) || process === NEMESIS, `${where}: process ${String(process)} invokes with an op open`);
      this.open.add(process);
    } else this.open.delete(process);
    const idx = index ?? this.lastIndex + 1;
    check(idx > this.lastIndex, `${where}: index ${idx} does not increase`);
    this.lastIndex = idx;
    this.ops.push({ index: idx, process, type: t, f, value, time: time ?? idx });
  }
}

const ETCD_LOG_LINE = /^\s*INFO\s+jepsen\.util\s+-\s+(\S+)\s+:(\S+)\s+:(\S+)\s*(.*?)\s*$/;

/**
 * Porcupine's Jepsen etcd logs (`INFO jepsen.util - <process> <type> <f> <value>`): one CAS
 * register. `:info` lines become info completions; `:fail :read :timed-out` a failed read.
 */
export function importPorcupineEtcd(text: string): Op[] {
  const seq = new Sequencer();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    const m = ETCD_LOG_LINE.exec(line);
    if (m === null) throw new HistoryError(`line ${i + 1}: not a jepsen.util log line`);
    const [, proc, type, f, rawValue] = m as unknown as [string, string, string, string, string];
    check(/^\d+$/.test(proc), `line ${i + 1}: process must be an integer`);
    check(['invoke', 'ok', 'fail', 'info'].includes(type), `line ${i + 1}: bad type :${type}`);
    const value = rawValue === '' ? null : ednToValue(new EdnReader(rawValue).read());
    seq.push(Number(proc), type as OpType, f, value, undefined, undefined, `line ${i + 1}`);
  }
  check(seq.ops.length > 0, 'history is empty');
  return seq.ops;
}

function opFromEdnMap(m: EdnMap, seq: Sequencer, where: string): void {
  const rawProcess = m.get('process');
  const process: Process =
    typeof rawProcess === 'number' ? rawProcess : rawProcess instanceof Keyword ? rawProcess.name : typeof rawProcess === 'string' ? rawProcess : NaN;
  check(typeof process === 'string' || Number.isInteger(process), `${where}: :process missing or not an integer/keyword`);
  const type = m.get('type');
  check(type instanceof Keyword && ['invoke', 'ok', 'fail', 'info'].includes(type.name), `${where}: bad :type`);
  const fRaw = m.get('f');
  check(fRaw !== undefined, `${where}: :f missing`);
  const f = String(ednToValue(fRaw));
  let value = ednToValue(m.get('value') ?? null);
  const key = m.get('key');
  if (key !== undefined) value = { key: ednToValue(key), value };
  const time = m.get('time');
  const index = m.get('index');
  seq.push(
    process,
    type.name as OpType,
    f,
    value,
    typeof time === 'number' ? time : typeof time === 'bigint' ? Number(time) : undefined,
    typeof index === 'number' ? index : undefined,
    where,
  );
}

/**
 * Jepsen EDN histories: a vector of op maps, or op maps one after another (history.edn).
 * An op map's `:key`, when present (porcupine's kv logs), makes the value `{key, value}`.
 */
export function importJepsenEdn(text: string): Op[] {
  const forms = readAllEdn(text);
  const maps = forms.length === 1 && Array.isArray(forms[0]) ? (forms[0] as EdnValue[]) : forms;
  const seq = new Sequencer();
  maps.forEach((m, i) => {
    check(m instanceof EdnMap, `EDN form ${i + 1}: expected an op map`);
    opFromEdnMap(m, seq, `op ${i + 1}`);
  });
  check(seq.ops.length > 0, 'history is empty');
  return seq.ops;
}

// The common shape of a porcupine kv line, read without the general EDN reader (4x faster);
// any other line falls back to it.
const KV_LINE = /^\{:process (\d+), :type :(invoke|ok), :f :(get|put|append), :key "([^"\\]*)", :value (?:nil|"([^"\\]*)")\}$/;

function fastKv(text: string): Op[] | undefined {
  const seq = new Sequencer();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    const m = KV_LINE.exec(line);
    if (m === null) return undefined;
    const value = m[5] === undefined ? null : m[5];
    seq.push(Number(m[1]), m[2] as OpType, m[3] as string, { key: m[4] as string, value }, undefined, undefined, `line ${i + 1}`);
  }
  return seq.ops.length > 0 ? seq.ops : undefined;
}

/** Porcupine's key-value logs: EDN op maps with :key, f get/put/append. */
export function importPorcupineKv(text: string): Op[] {
  const fast = fastKv(text);
  if (fast !== undefined) return fast;
  const ops = importJepsenEdn(text);
  for (const op of ops) {
    check(['get', 'put', 'append'].includes(op.f), `op ${op.index}: f ${op.f} is not get/put/append`);
    const v = op.value;
    check(typeof v === 'object' && v !== null && !Array.isArray(v) && 'key' in v, `op ${op.index}: :key missing`);
  }
  return ops;
}

/** Recognises the format from the content. */
export function detectFormat(text: string): HistoryFormat {
  const head = text.trimStart();
  if (/^INFO\s+jepsen\.util\s+-/.test(head)) return 'porcupine-etcd';
  if (head.startsWith('{"') || head.startsWith('{ "')) return 'jsonl';
  if (head.startsWith('[') || head.startsWith('{')) {
    const firstLine = head.slice(0, head.indexOf('\n') === -1 ? head.length : head.indexOf('\n'));
    if (/:key\s/.test(firstLine) && !/:index\s/.test(firstLine) && /:f\s+:(get|put|append)\b/.test(firstLine)) return 'porcupine-kv';
    return 'jepsen-edn';
  }
  throw new HistoryError('unrecognised history format (expected JSON lines, EDN, or a porcupine etcd log)');
}

export function parseHistory(text: string, format?: HistoryFormat): { format: HistoryFormat; ops: Op[] } {
  const fmt = format ?? detectFormat(text);
  switch (fmt) {
    case 'porcupine-etcd':
      return { format: fmt, ops: importPorcupineEtcd(text) };
    case 'porcupine-kv':
      return { format: fmt, ops: importPorcupineKv(text) };
    case 'jepsen-edn':
      return { format: fmt, ops: importJepsenEdn(text) };
    case 'jsonl':
      return { format: fmt, ops: decodeJsonl(text) };
  }
}
