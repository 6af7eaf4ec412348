import { valueKey, type Operation, type Value } from '../../histories/index.js';
import { Interner, REJECT, type Model } from './model.js';
import { partitionByKey, unkey } from './keyed.js';

const READ = 0;
const WRITE = 1;
const CAS = 2;
/** Interned id 0 is the absent register; a nil read matches only it. */
const ABSENT = 0;

interface RegisterOp {
  readonly kind: number;
  readonly a: number;
  readonly b: number;
  /** CAS result: 1 swapped, 0 precondition false, -1 unknown. */
  readonly result: number;
}

/**
 * A compare-and-swap register per key: f read / write / cas (value [from, to]); values
 * `{key, value}` make independent registers. A "fail" cas is a definite "current value was not
 * from" answer, checked like any result (porcupine's etcd model); a "fail" read or write did not
 * happen. "info" writes and cases may have happened.
 */
export function casRegisterModel(): Model<RegisterOp> {
  const values = new Interner();
  values.id('null');
  const intern = (v: Value | undefined): number => (v === null || v === undefined ? ABSENT : values.id(valueKey(v)));
  return {
    name: 'cas-register',
    prepare(op: Operation): RegisterOp | null {
      const input = unkey(op.input);
      const output = unkey(op.output);
      switch (op.f) {
        case 'read':
          return op.status === 'ok' ? { kind: READ, a: intern(output), b: 0, result: 1 } : null;
        case 'write':
          return op.status === 'fail' ? null : { kind: WRITE, a: intern(input), b: 0, result: 1 };
        case 'cas': {
          if (!Array.isArray(input) || input.length !== 2) throw new Error(`op ${op.invoke.index}: cas value must be [from, to]`);
          const result = op.status === 'ok' ? 1 : op.status === 'fail' ? 0 : -1;
          return { kind: CAS, a: intern(input[0]), b: intern(input[1]), result };
        }
        default:
          throw new Error(`op ${op.invoke.index}: cas-register has no f ${op.f}`);
      }
    },
    init: () => ABSENT,
    step(state: number, p: RegisterOp): number {
      if (p.kind === READ) return p.a === state ? state : REJECT;
      if (p.kind === WRITE) return p.a;
      const matches = p.a === state;
      if (p.result === -1) return matches ? p.b : state;
      if (p.result === 1) return matches ? p.b : REJECT;
      return matches ? REJECT : state;
    },
    opKey: (p) => `${p.kind}:${p.a}:${p.b}:${p.result}`,
    readOnly: (p) => p.kind === READ || (p.kind === CAS && p.result === 0),
    partition: partitionByKey,
    describeOp: (op) => describeRegisterOp(op),
    describeState: (s) => (s === ABSENT ? 'nil' : values.value(s)),
  };
}

function show(v: Value | undefined): string {
  return v === undefined ? '?' : v === null ? 'nil' : JSON.stringify(v);
}

export function describeRegisterOp(op: Operation): string {
  const input = unkey(op.input);
  const output = unkey(op.output);
  const status = op.status === 'ok' ? '' : ` (${op.status})`;
  if (op.f === 'read') return `read -> ${op.status === 'ok' ? show(output) : '?'}${status}`;
  if (op.f === 'write') return `write ${show(input)}${status}`;
  if (op.f === 'cas' && Array.isArray(input)) return `cas ${show(input[0])} -> ${show(input[1])}${status}`;
  return `${op.f} ${show(input)}${status}`;
}
