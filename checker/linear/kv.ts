import type { Operation, Value } from '../../histories/index.js';
import { Interner, REJECT, type Model } from './model.js';
import { partitionByKey, unkey } from './keyed.js';

const GET = 0;
const PUT = 1;
const APPEND = 2;

interface KvOp {
  readonly kind: number;
  readonly v: number;
}

function text(v: Value | undefined): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * Porcupine's key-value model, per key: get / put / append on strings, initial value "".
 * States are interned strings, and append transitions are memoized, so the search compares and
 * hashes integers only.
 */
export function kvModel(): Model<KvOp> {
  const strings = new Interner();
  const EMPTY = strings.id('');
  const appended = new Map<number, number>();
  return {
    name: 'kv',
    prepare(op: Operation): KvOp | null {
      const input = unkey(op.input);
      switch (op.f) {
        case 'get':
          return op.status === 'ok' ? { kind: GET, v: strings.id(text(unkey(op.output))) } : null;
        case 'put':
          return op.status === 'fail' ? null : { kind: PUT, v: strings.id(text(input)) };
        case 'append':
          return op.status === 'fail' ? null : { kind: APPEND, v: strings.id(text(input)) };
        default:
          throw new Error(`op ${op.invoke.index}: kv has no f ${op.f}`);
      }
    },
    init: () => EMPTY,
    step(state: number, p: KvOp): number {
      if (p.kind === GET) return p.v === state ? state : REJECT;
      if (p.kind === PUT) return p.v;
      // Pair key fits in a double exactly while both ids stay below 2^26.
      const memoKey = state * 67108864 + p.v;
      let next = appended.get(memoKey);
      if (next === undefined) {
        next = strings.id(strings.value(state) + strings.value(p.v));
        appended.set(memoKey, next);
      }
      return next;
    },
    opKey: (p) => `${p.kind}:${p.v}`,
    partition: partitionByKey,
    describeOp(op: Operation): string {
      const status = op.status === 'ok' ? '' : ` (${op.status})`;
      if (op.f === 'get') return `get -> ${op.status === 'ok' ? JSON.stringify(text(unkey(op.output))) : '?'}${status}`;
      return `${op.f} ${JSON.stringify(text(unkey(op.input)))}${status}`;
    },
    describeState: (s) => JSON.stringify(strings.value(s)),
  };
}
