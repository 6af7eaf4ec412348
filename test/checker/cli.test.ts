import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HistoryRecorder, encodeJsonl, pairOps, type Value } from '../../histories/index.js';
import { runCli } from '../../checker/cli.js';
import { detectModel } from '../../checker/index.js';

const SHARED = join(import.meta.dirname, '..', '..', '..', 'shared', 'histories', 'porcupine');
const tmp = mkdtempSync(join(tmpdir(), 'checker-cli-'));

function cli(...argv: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = runCli(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

function file(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

describe('check CLI', () => {
  it('exit 0 for a linearizable log, recognising format and model', () => {
    const r = cli(join(SHARED, 'jepsen', 'etcd_002.log'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/format porcupine-etcd, model cas-register/);
    expect(r.out).toMatch(/verdict: valid/);
  });

  it('exit 1 for a non-linearizable log, with the stuck op in text and HTML', () => {
    const html = join(tmp, 'e0.html');
    const r = cli(join(SHARED, 'jepsen', 'etcd_000.log'), '--format', 'porcupine-etcd', '--model', 'cas-register', '--html', html);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/cannot linearize op 84 \(process 11/);
    const page = readFileSync(html, 'utf8');
    expect(page).toMatch(/class="op ok stuck( core)?" data-op="84"/);
    expect(page).not.toMatch(/<script|src=|href=/);
  });

  it('exit 2 when the deadline passes', () => {
    const h = new HistoryRecorder();
    for (let p = 0; p < 16; p++) h.invoke(p, 'write', p, p);
    for (let p = 0; p < 16; p++) h.complete(p, 'info', 'write', p, 20 + p);
    h.invoke(99, 'read', null, 50);
    h.complete(99, 'ok', 'read', 99, 51);
    const r = cli(file('hard.jsonl', encodeJsonl(h.history())), '--timeout', '0.001');
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/unknown \(deadline passed\)/);
  });

  it('exit 3 with a clear message for unreadable or unparsable input and bad usage', () => {
    const missing = cli(join(tmp, 'nope.txt'));
    expect(missing.code).toBe(3);
    expect(missing.err).toMatch(/cannot read/);
    const garbage = cli(file('garbage.txt', 'hello\n'));
    expect(garbage.code).toBe(3);
    expect(garbage.err).toMatch(/cannot parse .*unrecognised history format/);
    const wrongFormat = cli(join(SHARED, 'jepsen', 'etcd_002.log'), '--format', 'jsonl');
    expect(wrongFormat.code).toBe(3);
    expect(wrongFormat.err).toMatch(/line 1: not JSON/);
    expect(cli('--model', 'nope', 'x').code).toBe(3);
    expect(cli().err).toMatch(/no history file/);
  });

  it('detects list-append, rw-register, etcd and watch histories', () => {
    const mk = (f: string, input: Value, output: Value) => {
      const h = new HistoryRecorder();
      h.invoke(0, f, input, 0);
      h.complete(0, 'ok', f, output, 1);
      return pairOps(h.history());
    };
    expect(detectModel(mk('txn', [['append', 1, 2]], [['append', 1, 2]]))).toBe('list-append');
    expect(detectModel(mk('txn', [['w', 1, 2]], [['w', 1, 2]]))).toBe('rw-register');
    expect(detectModel(mk('txn', { compares: [], success: [], failure: [] }, { revision: 1, succeeded: true, results: [] }))).toBe('etcd');
    expect(detectModel(mk('put', { key: 'a', value: 'b' }, { revision: 2 }))).toBe('etcd');
    expect(detectModel(mk('put', { key: 'a', value: 'b' }, { key: 'a', value: 'b' }))).toBe('kv');
    expect(detectModel(mk('watch', { key: 'a' }, { responses: [] }))).toBe('watch');
    expect(detectModel(mk('cas', [1, 2], [1, 2]))).toBe('cas-register');
  });

  it('checks a Jepsen EDN register history with independent keys, per key', () => {
    const edn = `[{:type :invoke, :f :write, :value #jepsen.independent/tuple [1 3], :process 0, :time 1, :index 0}
 {:type :ok, :f :write, :value #jepsen.independent/tuple [1 3], :process 0, :time 2, :index 1}
 {:type :invoke, :f :read, :value #jepsen.independent/tuple [2 nil], :process 1, :time 3, :index 2}
 {:type :ok, :f :read, :value #jepsen.independent/tuple [2 3], :process 1, :time 4, :index 3}
 {:type :info, :f :kill, :value nil, :process :nemesis, :time 5, :index 4}]`;
    const r = cli(file('indep.edn', edn));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/format jepsen-edn, model cas-register/);
    expect(r.out).toMatch(/2 part\(s\) checked with model cas-register: 1 linearizable, 1 not/);
    expect(r.out).toMatch(/key "2" is not linearizable/);
  });

  it('checks a Jepsen EDN list-append history end to end', () => {
    const edn = `{:type :invoke, :f :txn, :value [[:append :x 1] [:r :y nil]], :process 0, :time 1, :index 0}
{:type :invoke, :f :txn, :value [[:append :y 1] [:r :x nil]], :process 1, :time 2, :index 1}
{:type :ok, :f :txn, :value [[:append :x 1] [:r :y [1]]], :process 0, :time 3, :index 2}
{:type :ok, :f :txn, :value [[:append :y 1] [:r :x [1]]], :process 1, :time 4, :index 3}`;
    const r = cli(file('g1c.edn', edn));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/model list-append/);
    expect(r.out).toMatch(/G1c cycle of 2 transactions/);
  });
});
