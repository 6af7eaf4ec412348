import type { RaftStatus } from '../raft/index.js';
import type { NodeId } from '../util/ids.js';

/** etcd's readiness bar for promotion: the learner has at least 90% of the leader's log. */
export const LEARNER_READY_FRACTION = 0.9;

/**
 * etcd's isLearnerReady, read from the leader's Raft status: a learner is promoted only once its
 * match index reaches LEARNER_READY_FRACTION of the leader's, because a voter that has to catch
 * up first can leave the enlarged quorum unable to commit. `undefined` when the status is not a
 * leader's or does not track that node.
 */
export function isLearnerReady(status: RaftStatus, learner: NodeId): boolean | undefined {
  const progress = status.progress.get(learner);
  if (progress === undefined) return undefined;
  const leaderMatch = status.progress.get(status.id)?.match ?? 0;
  return progress.match >= leaderMatch * LEARNER_READY_FRACTION;
}
