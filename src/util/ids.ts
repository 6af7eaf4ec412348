/**
 * Member (node) ids. etcd member ids are 64-bit; we carry them as 16-digit lower-case hex strings
 * in the real server and as short names in the simulator ("1", "2", ...). Raft only compares and
 * uses them as map keys, so the format does not matter below the gRPC layer.
 */
export type NodeId = string & { readonly __brand: 'NodeId' };

export function nodeId(text: string): NodeId {
  if (text.length === 0) throw new Error('node id must not be empty');
  return text as NodeId;
}

/** The "no node" value, used for "no vote" and "no leader". */
export const NO_NODE = '' as NodeId;

/** 64-bit id -> 16 hex digits. */
export function nodeIdFromBigInt(id: bigint): NodeId {
  return id.toString(16).padStart(16, '0') as NodeId;
}

export function nodeIdToBigInt(id: NodeId): bigint {
  return BigInt('0x' + id);
}
