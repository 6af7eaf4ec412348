import { describe, expect, it } from 'vitest';
import {
  EdnMap,
  EdnSet,
  EdnTagged,
  HistoryError,
  HistoryRecorder,
  Keyword,
  assertWellFormed,
  decodeJsonl,
  detectFormat,
  encodeJsonl,
  importJepsenEdn,
  importPorcupineEtcd,
  importPorcupineKv,
  pairOps,
  parseHistory,
  readAllEdn,
  readEdn,
  type Op,
} from '../../histories/index.js';

describe('HistoryRecorder', () => {
  it('records a well-formed history with increasing indexes', () => {
    const h = new HistoryRecorder();
    h.invoke(0, 'write', 1, 10);
    h.invoke(1, 'read', null, 11);
    h.complete(0, 'ok', 'write', 1, 12);
    h.invoke('nemesis', 'partition', ['n1'], 13);
    h.invoke('nemesis', 'kill', 'n2', 14);
    h.complete(1, 'info', 'read', null, 15, 'n3');
    const ops = h.history();
    expect(ops.map((o) => o.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(ops[5]?.node).toBe('n3');
    expect(h.openOps().map((o) => o.f)).toEqual(['kill']);
  });

  it('rejects a completion without an invoke', () => {
    const h = new HistoryRecorder();
    expect(() => h.complete(0, 'ok', 'read', 1, 0)).toThrow(/without an open invoke/);
  });

  it('rejects a second open op on one process and a mismatched f', () => {
    const h = new HistoryRecorder();
    h.invoke(0, 'read', null, 0);
    expect(() => h.invoke(0, 'write', 2, 1)).toThrow(/while op 0 is open/);
    expect(() => h.complete(0, 'ok', 'write', 2, 1)).toThrow(/invoked f=read/);
  });

  it('assertWellFormed rejects indexes that do not increase', () => {
    const ops: Op[] = [
      { index: 1, process: 0, type: 'invoke', f: 'read', value: null, time: 0 },
      { index: 1, process: 0, type: 'ok', f: 'read', value: null, time: 1 },
    ];
    expect(() => assertWellFormed(ops)).toThrow(HistoryError);
  });
});

describe('JSON lines codec', () => {
  it('round-trips ops, node included', () => {
    const h = new HistoryRecorder();
    h.invoke(3, 'put', { key: 'k', value: 'v' }, 5, 'n1');
    h.complete(3, 'ok', 'put', { revision: '9007199254740993' }, 6);
    const text = encodeJsonl(h.history());
    expect(text.split('\n')).toHaveLength(3);
    expect(decodeJsonl(text)).toEqual(h.history());
    expect(detectFormat(text)).toBe('jsonl');
  });

  it('names the bad line and field', () => {
    expect(() => decodeJsonl('{"index":0,"process":0,"type":"invoke","f":"r","value":null,"time":0}\n{"index":1}')).toThrow(
      /line 2: process/,
    );
    expect(() => decodeJsonl('not json')).toThrow(/line 1: not JSON/);
    expect(() => decodeJsonl('{"index":0,"process":0,"type":"done","f":"r","value":null,"time":0}')).toThrow(/type/);
  });
});

describe('EDN reader', () => {
  it('reads scalars, collections, comments and discards', () => {
    const v = readEdn('{:a 1, :b [nil true -2.5 "s\\n" :kw sym], :c #{1 2} ; comment\n :d (1 #_ 2 3) :e 12345678901234567890N}');
    expect(v).toBeInstanceOf(EdnMap);
    const m = v as EdnMap;
    expect(m.get('a')).toBe(1);
    const b = m.get('b') as unknown[];
    expect(b.slice(0, 4)).toEqual([null, true, -2.5, 's\n']);
    expect(b[4]).toBe(Keyword.of('kw'));
    expect(m.get('c')).toBeInstanceOf(EdnSet);
    expect(m.get('e')).toBe(12345678901234567890n);
  });

  it('reads tagged literals and several top-level forms', () => {
    const forms = readAllEdn('#inst "2020-01-01" #jepsen.independent/tuple [1 2] \\a');
    expect(forms).toHaveLength(3);
    expect((forms[0] as EdnTagged).tag).toBe('inst');
  });

  it('reports unterminated input with a line number', () => {
    expect(() => readEdn('[1 2\n 3')).toThrow(/missing '\]'/);
    expect(() => readEdn('"abc')).toThrow(/unterminated string/);
    expect(() => readEdn('{:a}')).toThrow(/odd number/);
  });
});

describe('importers', () => {
  it('porcupine etcd logs: tabs or spaces, info stays pending, fail read closes', () => {
    const text = [
      'INFO  jepsen.util - 0\t:invoke\t:read\tnil',
      'INFO  jepsen.util - 1   :invoke   :cas   [3 0]',
      'INFO  jepsen.util - 2\t:invoke\t:write\t4',
      'INFO  jepsen.util - 0\t:fail\t:read\t:timed-out',
      'INFO  jepsen.util - 1\t:fail\t:cas\t[3 0]',
      'INFO  jepsen.util - 2\t:info\t:write\t:timed-out',
    ].join('\n');
    expect(detectFormat(text)).toBe('porcupine-etcd');
    const ops = importPorcupineEtcd(text);
    expect(ops[1]).toMatchObject({ process: 1, type: 'invoke', f: 'cas', value: [3, 0] });
    const pairs = pairOps(ops);
    expect(pairs.map((p) => p.status)).toEqual(['fail', 'fail', 'info']);
    expect(pairs[2]?.returnIndex).toBe(Infinity);
    expect(() => importPorcupineEtcd('hello')).toThrow(/line 1/);
  });

  it('porcupine kv logs: key folded into the value', () => {
    const text = '{:process 0, :type :invoke, :f :get, :key "3", :value nil}\n{:process 0, :type :ok, :f :get, :key "3", :value "x 0 0 y"}\n';
    expect(detectFormat(text)).toBe('porcupine-kv');
    const ops = importPorcupineKv(text);
    expect(ops[1]?.value).toEqual({ key: '3', value: 'x 0 0 y' });
  });

  it('porcupine kv fast path and the EDN reader agree; odd lines fall back', () => {
    const plain = '{:process 1, :type :invoke, :f :append, :key "0", :value "x 1 0 y"}\n{:process 1, :type :ok, :f :append, :key "0", :value "x 1 0 y"}\n';
    expect(importPorcupineKv(plain)).toEqual(importJepsenEdn(plain));
    const escaped = '{:process 1, :type :invoke, :f :put, :key "0", :value "a\\"b"}\n';
    expect(importPorcupineKv(escaped)[0]?.value).toEqual({ key: '0', value: 'a"b' });
  });

  it('jepsen EDN: vector or stream of maps, nemesis info pairs, :index and :time', () => {
    const text = `[{:type :invoke, :f :read, :value nil, :process 0, :time 10, :index 0}
      {:type :info, :f :start, :value nil, :process :nemesis, :time 11, :index 1}
      {:type :ok, :f :read, :value 3, :process 0, :time 12, :index 2}
      {:type :info, :f :start, :value [:isolated {"n1" #{"n2"}}], :process :nemesis, :time 13, :index 3}]`;
    expect(detectFormat(text)).toBe('jepsen-edn');
    const ops = importJepsenEdn(text);
    expect(ops.map((o) => o.type)).toEqual(['invoke', 'invoke', 'ok', 'info']);
    expect(ops[3]?.process).toBe('nemesis');
    expect(ops[2]?.time).toBe(12);
    expect(pairOps(ops).map((p) => p.f)).toEqual(['read']);
    expect(pairOps(ops, { includeNemesis: true })).toHaveLength(2);
    const stream = parseHistory('{:type :invoke, :f :txn, :value [[:append 1 2] [:r 1 nil]], :process 0}\n');
    expect(stream.ops[0]?.value).toEqual([['append', 1, 2], ['r', 1, null]]);
  });

  it('rejects completions without invocations and unknown formats', () => {
    expect(() => importJepsenEdn('[{:type :ok, :f :read, :value 1, :process 0}]')).toThrow(/without an invoke/);
    expect(() => detectFormat('hello world')).toThrow(/unrecognised/);
  });
});
