import type * as mvcc from '../mvcc/index.js';
import type { KeyValueInit } from './generated/mvccpb.js';

/** mvcc's KeyValue (revisions as numbers) -> mvccpb.KeyValue (int64 as bigint). */
export function fromKv(kv: mvcc.KeyValue): KeyValueInit {
  return {
    key: kv.key,
    createRevision: BigInt(kv.createRevision),
    modRevision: BigInt(kv.modRevision),
    version: BigInt(kv.version),
    value: kv.value,
    lease: kv.lease,
  };
}
