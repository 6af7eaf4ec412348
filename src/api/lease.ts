import type { Clock, TimerHandle } from '../env/index.js';
import type { ApplyResult, Applier, InternalRequest } from '../apply/index.js';
import { encodePayload } from '../apply/index.js';
import { LessorNotPrimaryError, MAX_LEASE_TTL_SECONDS, createLeaseIdGenerator } from '../lease/index.js';
import type { ServerNode } from '../server/index.js';
import { NO_NODE, nodeIdToBigInt } from '../util/index.js';
import { EtcdError, etcdError } from './errors.js';
import { awaitNode } from './kv.js';

export interface LeaseApiOptions {
  readonly memberId: bigint;
  readonly electionTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** How often the leader looks for expired leases and due checkpoints (etcd: 500 ms). */
  readonly expiryCheckMs?: number;
  /**
   * Hands keep-alives and TTL queries to the leader when this member is not it (etcd forwards
   * them over the peer HTTP channel, /leases and /leases/internal). Without one, a follower
   * answers "etcdserver: not leader", as before.
   */
  readonly forward?: LeaseForwarder;
}

/** The leader's answers, reached over the peer channel; rejects with EtcdError or a transport error. */
export interface LeaseForwarder {
  /** Remaining TTL after the renewal; 0 when the lease is gone or expired. */
  keepAlive(leaderId: bigint, id: bigint): Promise<number>;
  timeToLive(leaderId: bigint, id: bigint, withKeys: boolean): Promise<TimeToLiveResult>;
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
const FORWARD_RETRY_MS = 100;
/** Answers from a (former) leader that mean "ask the leader again", not "give up". */
const RETRIED_AT_LEADER = new Set([etcdError('NotLeader').message, etcdError('NoLeader').message, etcdError('LeaderChanged').message]);

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
    // As etcd promotes its lessor when it becomes leader, before applying: a lease granted just
    // after an election would otherwise get a second, later expiry (plus the election extension)
    // when the periodic check noticed the leadership.
    node.onRoleChange(() => {
      if (!this.stopped) this.syncRole();
    });
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

  /** One keep-alive: the leader renews; a follower forwards to the leader when it has a forwarder, as etcd's do. */
  async keepAlive(id: bigint): Promise<{ id: bigint; ttlSeconds: number }> {
    this.syncRole();
    const forward = this.options.forward;
    if (this.applier.lessor.isPrimary() || forward === undefined) return this.keepAliveHere(id);
    return this.atLeader(
      () => this.keepAliveHere(id),
      async (leaderId) => ({ id, ttlSeconds: await forward.keepAlive(leaderId, id) }),
    );
  }

  /** A keep-alive served by this member's lessor only (the leader's side of a forwarded one). */
  async keepAliveHere(id: bigint): Promise<{ id: bigint; ttlSeconds: number }> {
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

  /**
   * LeaseTimeToLive as etcd serves it: the leader answers from its expiry clock; a follower with a
   * forwarder asks the leader (its own lessor only knows the granted or checkpointed TTL).
   */
  async timeToLiveAtLeader(id: bigint, withKeys: boolean): Promise<TimeToLiveResult> {
    this.syncRole();
    const forward = this.options.forward;
    if (this.applier.lessor.isPrimary() || forward === undefined) return this.timeToLive(id, withKeys);
    return this.atLeader(
      () => Promise.resolve(this.timeToLive(id, withKeys)),
      (leaderId) => forward.timeToLive(leaderId, id, withKeys),
    );
  }

  /** The leader's side of a forwarded TTL query: "not leader" if this member no longer leads. */
  timeToLiveHere(id: bigint, withKeys: boolean): Promise<TimeToLiveResult> {
    this.syncRole();
    if (!this.applier.lessor.isPrimary()) return Promise.reject(etcdError('NotLeader'));
    return Promise.resolve(this.timeToLive(id, withKeys));
  }

  /** This member's own view of a lease (exact on the leader). */
  timeToLive(id: bigint, withKeys: boolean): TimeToLiveResult {
    if (!this.applier.lessor.has(id)) return { id, ttlSeconds: -1, grantedTtlSeconds: 0, keys: [] };
    const ttl = this.applier.lessor.timeToLive(id, this.clock.nowMs());
    return { id, ttlSeconds: ttl.ttlSeconds, grantedTtlSeconds: ttl.grantedTtlSeconds, keys: withKeys ? ttl.keys : [] };
  }

  leases(): readonly bigint[] {
    return this.applier.lessor.leaseIds();
  }

  /**
   * Runs `work` against the current leader until it answers or the request timeout passes, as
   * etcd's LeaseRenew does: no leader yet means waiting an election timeout; a leader that
   * cannot be reached, or that stepped down meanwhile, means trying again.
   */
  private async atLeader<T>(here: () => Promise<T>, remote: (leaderId: bigint) => Promise<T>): Promise<T> {
    const deadlineMs = this.clock.nowMs() + this.options.requestTimeoutMs;
    let lastError: unknown = etcdError('NoLeader');
    while (this.clock.nowMs() < deadlineMs) {
      this.syncRole();
      // Became leader while waiting: answer here (forwarding to ourselves would loop).
      if (this.applier.lessor.isPrimary()) return here();
      const leader = this.node.observe().leader;
      if (leader === NO_NODE) {
        await this.sleep(Math.min(this.options.electionTimeoutMs, deadlineMs - this.clock.nowMs()));
        continue;
      }
      try {
        return await remote(nodeIdToBigInt(leader));
      } catch (error) {
        if (error instanceof EtcdError && !RETRIED_AT_LEADER.has(error.message)) throw error;
        lastError = error;
        await this.sleep(Math.min(FORWARD_RETRY_MS, Math.max(0, deadlineMs - this.clock.nowMs())));
      }
    }
    throw lastError instanceof EtcdError && lastError.message === etcdError('NoLeader').message ? lastError : etcdError('Timeout');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimer(ms, resolve));
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

