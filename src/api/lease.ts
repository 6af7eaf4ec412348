import type { Clock, TimerHandle } from '../env/index.js';
import type { ApplyResult, Applier, InternalRequest } from '../apply/index.js';
import { encodePayload } from '../apply/index.js';
import { LessorNotPrimaryError, MAX_LEASE_TTL_SECONDS, createLeaseIdGenerator } from '../lease/index.js';
import type { ServerNode } from '../server/index.js';
import { EtcdError, etcdError } from './errors.js';
import { awaitNode } from './kv.js';

export interface LeaseApiOptions {
  readonly memberId: bigint;
  readonly electionTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** How often the leader looks for expired leases and due checkpoints (etcd: 500 ms). */
  readonly expiryCheckMs?: number;
}

export interface GrantResult {
  readonly id: bigint;
  readonly ttlSeconds: number;
  readonly revision: number;
}

export interface TimeToLiveResult {
  readonly id: bigint;
  /** -1 when the lease does not exist, as etcd answers. */
  readonly ttlSeconds: number;
  readonly grantedTtlSeconds: number;
  readonly keys: readonly Uint8Array[];
}

const REVOKES_PER_CHECK = 500;

/**
 * etcd's Lease service, transport-free. Grants, revokes and checkpoints go through Raft; expiry
 * is decided by the leader alone (the lessor is "primary" only while this member leads) and is
 * carried out by proposing a revoke, so every member deletes the keys at the same revision. A
 * member that becomes leader promotes its lessor, restarting every TTL, so no lease expires early
 * because of an election.
 */
export class LeaseApi {
  private readonly nextId: () => bigint;
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(
    private readonly node: ServerNode<ApplyResult>,
    private readonly applier: Applier,
    private readonly clock: Clock,
    private readonly options: LeaseApiOptions,
  ) {
    this.nextId = createLeaseIdGenerator(options.memberId, Math.max(0, Math.floor(clock.nowMs())));
  }

  start(): void {
    this.scheduleCheck();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimer(this.timer);
  }

  async grant(ttlSeconds: number, requestedId: bigint): Promise<GrantResult> {
    if (ttlSeconds > MAX_LEASE_TTL_SECONDS) throw etcdError('LeaseTTLTooLarge');
    const id = requestedId === 0n ? this.nextId() : requestedId;
    return (await this.propose({ leaseGrant: { id, ttlSeconds } })) as GrantResult;
  }

  async revoke(id: bigint): Promise<{ revision: number }> {
    return (await this.propose({ leaseRevoke: { id } })) as { revision: number };
  }

  /** One keep-alive: only the leader renews (etcd's followers forward to it; see the note in the issue). */
  async keepAlive(id: bigint): Promise<{ id: bigint; ttlSeconds: number }> {
    this.syncRole();
    const lessor = this.applier.lessor;
    if (!lessor.isPrimary()) throw etcdError('NotLeader');
    let renewed;
    try {
      renewed = lessor.renew(id, this.clock.nowMs());
    } catch (error) {
      if (error instanceof LessorNotPrimaryError) throw etcdError('NotLeader');
      throw error;
    }
    // An expired lease not yet revoked answers TTL 0, as etcd's keep-alive stream does.
    if (renewed.kind === 'expired') return { id, ttlSeconds: 0 };
    if (renewed.checkpoint) void this.propose({ leaseCheckpoint: { checkpoints: [renewed.checkpoint] } }).catch(() => undefined);
    return { id, ttlSeconds: renewed.ttlSeconds };
  }

  timeToLive(id: bigint, withKeys: boolean): TimeToLiveResult {
    if (!this.applier.lessor.has(id)) return { id, ttlSeconds: -1, grantedTtlSeconds: 0, keys: [] };
    const ttl = this.applier.lessor.timeToLive(id, this.clock.nowMs());
    return { id, ttlSeconds: ttl.ttlSeconds, grantedTtlSeconds: ttl.grantedTtlSeconds, keys: withKeys ? ttl.keys : [] };
  }

  leases(): readonly bigint[] {
    return this.applier.lessor.leaseIds();
  }

  private scheduleCheck(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimer(this.options.expiryCheckMs ?? 500, () => {
      this.checkExpiry();
      this.scheduleCheck();
    });
  }

  /** Keeps the lessor's primary role in step with Raft leadership. */
  private syncRole(): void {
    const lessor = this.applier.lessor;
    const leading = this.node.observe().isLeader;
    if (leading && !lessor.isPrimary()) lessor.promote(this.clock.nowMs(), this.options.electionTimeoutMs);
    else if (!leading && lessor.isPrimary()) lessor.demote();
  }

  private checkExpiry(): void {
    this.syncRole();
    const lessor = this.applier.lessor;
    if (!lessor.isPrimary()) return;
    const nowMs = this.clock.nowMs();
    for (const id of lessor.expiredLeases(nowMs, REVOKES_PER_CHECK)) {
      void this.propose({ leaseRevoke: { id } }).catch(() => undefined);
    }
    const checkpoints = lessor.dueCheckpoints(nowMs);
    if (checkpoints.length > 0) void this.propose({ leaseCheckpoint: { checkpoints } }).catch(() => undefined);
  }

  private async propose(request: InternalRequest): Promise<unknown> {
    const result = await awaitNode(this.clock, this.options.requestTimeoutMs, this.node.propose(encodePayload(request)));
    if (!result.ok) throw new EtcdError(result.error.code, result.error.message);
    return result.response;
  }
}

