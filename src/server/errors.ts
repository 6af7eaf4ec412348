/**
 * Why a proposal or read did not complete. The API layer maps these to etcd's errors
 * ("etcdserver: no leader", "etcdserver: leader changed", "etcdserver: server stopped").
 */
export type NodeFailureReason = 'noLeader' | 'leaderChanged' | 'stopped' | 'dropped' | 'timeout';

export class NodeRequestError extends Error {
  override readonly name = 'NodeRequestError';
  constructor(readonly reason: NodeFailureReason) {
    super(`node request failed: ${reason}`);
  }
}
