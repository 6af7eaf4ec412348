import type { NodeId } from '../util/ids.js';

/**
 * Unreliable, unordered delivery of peer messages (Raft messages, snapshots). May drop,
 * delay, duplicate or reorder; Raft tolerates all of these.
 */
export interface Transport<M> {
  send(to: NodeId, message: M): void;
  /** Registers the single receiver of this node's incoming messages. */
  onReceive(handler: (from: NodeId, message: M) => void): void;
}
