import { createHash } from 'node:crypto';

/**
 * Member and cluster ids as etcd derives them: the first 8 bytes (big-endian) of a SHA-1 over
 * the member's sorted peer URLs and the cluster token, and over the sorted member ids. Every
 * member computes the same ids from the same --initial-cluster, with no coordination.
 */
export function computeMemberId(peerUrls: readonly string[], clusterToken: string): bigint {
  const hash = createHash('sha1').update([...peerUrls].sort().join('')).update(clusterToken).digest();
  return hash.readBigUInt64BE(0);
}

export function computeClusterId(memberIds: readonly bigint[]): bigint {
  const hash = createHash('sha1');
  for (const id of [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(id);
    hash.update(b);
  }
  return hash.digest().readBigUInt64BE(0);
}
