import { fromUtf8, utf8 } from '../../src/util/index.js';
import { MemoryBackend, MvccStore, type KeyValue, type StoreOptions } from '../../src/mvcc/index.js';

export const b = (s: string): Uint8Array => utf8(s);
export const ALL = { key: utf8('\0'), rangeEnd: utf8('\0') };

export function fresh(options: StoreOptions = {}): MvccStore {
  return MvccStore.open(new MemoryBackend(), options);
}

/** kv -> "key=value@create/mod/version" for compact assertions. */
export function show(kv: KeyValue): string {
  return `${fromUtf8(kv.key)}=${fromUtf8(kv.value)}@${kv.createRevision}/${kv.modRevision}/${kv.version}${kv.lease !== 0n ? `L${kv.lease}` : ''}`;
}

export function keys(kvs: KeyValue[]): string[] {
  return kvs.map((kv) => fromUtf8(kv.key));
}
