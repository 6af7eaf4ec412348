import { fromBase64, fromUtf8, toBase64, utf8 } from '../util/bytes.js';

/**
 * Raft entry payloads as JSON, with bytes as {"$b": base64} and 64-bit ids as {"$n": decimal}.
 * Deterministic (JSON.stringify keeps insertion order) and readable in a WAL dump; requests are
 * small next to an fsync, so a binary codec is not worth its code yet.
 */
export function encodePayload(value: unknown): Uint8Array {
  return utf8(JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Uint8Array) return { $b: toBase64(v) };
    if (typeof v === 'bigint') return { $n: v.toString() };
    return v;
  }));
}

export function decodePayload<T>(bytes: Uint8Array): T {
  return JSON.parse(fromUtf8(bytes), (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o['$b'] === 'string' && Object.keys(o).length === 1) return fromBase64(o['$b']);
      if (typeof o['$n'] === 'string' && Object.keys(o).length === 1) return BigInt(o['$n']);
    }
    return v;
  }) as T;
}
