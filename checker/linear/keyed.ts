import type { Operation, Value } from '../../histories/index.js';

/** True when the value has the per-key shape `{key, value}`. */
export function isKeyed(v: Value | undefined): v is { key: Value; value: Value } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'key' in v;
}

export function keyOf(op: Operation): string {
  const v = op.input;
  if (!isKeyed(v)) return '';
  return typeof v.key === 'string' ? v.key : JSON.stringify(v.key);
}

/** Unwraps `{key, value}`; plain values pass through. */
export function unkey(v: Value | undefined): Value | undefined {
  return isKeyed(v) ? v.value : v;
}

/** Groups ops by key, in order of first appearance; un-keyed ops form the part "". */
export function partitionByKey(ops: readonly Operation[]): Map<string, Operation[]> {
  const parts = new Map<string, Operation[]>();
  for (const op of ops) {
    const k = keyOf(op);
    let list = parts.get(k);
    if (list === undefined) {
      list = [];
      parts.set(k, list);
    }
    list.push(op);
  }
  return parts;
}
