import { assert, toHex } from '../util/index.js';
import type { NodeId } from '../util/index.js';

export interface ReadRequest {
  readonly ctx: Uint8Array;
  /** The commit index when the leader received the request: the read waits for applied >= it. */
  readonly index: number;
  /** Who asked: the leader itself, or a follower that forwarded the request. */
  readonly from: NodeId;
  readonly acks: Set<NodeId>;
}

/**
 * Leader-side ReadIndex requests waiting for a heartbeat round to confirm leadership.
 * Requests are confirmed in arrival order: an ack for a later request confirms every earlier one,
 * since the heartbeat carrying it was sent after they arrived.
 */
export class ReadOnly {
  private readonly pending = new Map<string, ReadRequest>();
  private readonly queue: string[] = [];

  add(index: number, ctx: Uint8Array, from: NodeId): void {
    const key = toHex(ctx);
    if (this.pending.has(key)) return;
    this.pending.set(key, { ctx, index, from, acks: new Set() });
    this.queue.push(key);
  }

  /** Records that `from` acknowledged the heartbeat with `ctx`; the ack set, if still pending. */
  recvAck(from: NodeId, ctx: Uint8Array): ReadonlySet<NodeId> | undefined {
    const req = this.pending.get(toHex(ctx));
    if (req === undefined) return undefined;
    req.acks.add(from);
    return req.acks;
  }

  /** Removes and returns every request up to and including `ctx`'s. */
  advance(ctx: Uint8Array): ReadRequest[] {
    const key = toHex(ctx);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const keys = this.queue.splice(0, at + 1);
    const out: ReadRequest[] = [];
    for (const k of keys) {
      const req = this.pending.get(k);
      assert(req !== undefined, 'read-only queue and map out of step');
      this.pending.delete(k);
      out.push(req);
    }
    assert(this.queue.length === this.pending.size, 'read-only queue and map sizes differ');
    return out;
  }

  lastPendingCtx(): Uint8Array | undefined {
    const key = this.queue[this.queue.length - 1];
    return key === undefined ? undefined : this.pending.get(key)?.ctx;
  }

  get size(): number {
    return this.queue.length;
  }
}
