import type { Value } from '../histories/index.js';

/** Keys and values recorded as UTF-8 strings or {b64}; both become comparable strings. */
export function bytesText(v: Value | undefined): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof v['b64'] === 'string') return Buffer.from(v['b64'], 'base64').toString('latin1');
  if (v === undefined || v === null) return '';
  throw new Error(`bad key or value ${JSON.stringify(v)}`);
}

export function asObject(v: Value | undefined): { [k: string]: Value } | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : undefined;
}

/** etcd range semantics: no end = one key, "\0" = every key from `key` on. */
export function inKeyRange(k: string, key: string, end: string | undefined): boolean {
  if (end === undefined || end === '') return k === key;
  if (end === '\u0000') return k >= key;
  return k >= key && k < end;
}
