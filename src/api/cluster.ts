import type { Clock } from '../env/index.js';
import type { ApplyResult } from '../apply/index.js';
import type { ConfChangeType } from '../raft/index.js';
import type { Member, MemberRegistry, MembershipEvent, ServerNode } from '../server/index.js';
import { encodeMemberContext, encodeMemberRequest, isLearnerReady } from '../server/index.js';
import { NO_NODE, nodeIdFromBigInt, nodeIdToBigInt } from '../util/index.js';
import { etcdError } from './errors.js';
import { translateNodeError } from './kv.js';
import type { MemberInfo } from './maintenance.js';

export interface ClusterApiOptions {
  readonly selfId: bigint;
  /** How long a membership change may take to apply here before "request timed out". */
  readonly requestTimeoutMs: number;
  /** etcd allows one learner at a time. */
  readonly maxLearners?: number;
  /** A fresh member id for `member add` (etcd hashes the peer URLs with the wall clock). */
  readonly newMemberId: (peerUrls: readonly string[]) => bigint;
  /** True while this member has a live peer connection to `id` (etcd's transport.ActiveSince). */
  readonly isPeerActive: (id: bigint) => boolean;
  /** Hands a promote to the leader when this member is not the leader (etcd forwards it over peer HTTP). */
  readonly forwardPromote?: (leaderId: bigint, memberId: bigint) => Promise<void>;
  /** Milliseconds between checks while waiting for a leader transfer. */
  readonly pollMs?: number;
}

const isStarted = (m: Member): boolean => m.name !== '';
const quorum = (n: number): number => Math.floor(n / 2) + 1;

/** etcd's types.NewURLs: scheme http(s)/unix, a host with a port, no path. */
export function validPeerUrls(urls: readonly string[]): boolean {
  if (urls.length === 0) return false;
  return urls.every((text) => {
    const m = /^(https?|unixs?):\/\/([^/?#]+)\/?$/.exec(text);
    if (m === null) return false;
    const host = m[2] as string;
    return m[1]?.startsWith('unix') === true || /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):\d{1,5}$/.test(host);
  });
}

/**
 * etcd's Cluster service (and Maintenance.MoveLeader), transport-free: checks etcd's rules on
 * this member, proposes the change through Raft, and answers once the change is applied here,
 * with etcd's exact errors. The member list itself is the replicated MemberRegistry.
 */
export class ClusterApi {
  constructor(
    private readonly node: ServerNode<ApplyResult>,
    private readonly registry: MemberRegistry,
    private readonly clock: Clock,
    private readonly options: ClusterApiOptions,
  ) {}

  memberList(): MemberInfo[] {
    return this.registry.list();
  }

  async memberAdd(peerUrls: readonly string[], isLearner: boolean): Promise<{ member: MemberInfo; members: MemberInfo[] }> {
    if (!validPeerUrls(peerUrls)) throw etcdError('MemberBadURLs');
    const members = this.registry.list();
    if (members.some((m) => m.peerUrls.some((u) => peerUrls.includes(u)))) throw etcdError('PeerURLExist');
    if (isLearner && members.filter((m) => m.isLearner).length >= (this.options.maxLearners ?? 1)) throw etcdError('TooManyLearners');
    const voters = members.filter((m) => !m.isLearner);
    if (!isLearner && !this.readyToAddVoter(voters)) throw etcdError('MemberNotEnoughStarted');
    if (!this.connectedToQuorum(voters)) throw etcdError('Unhealthy');
    const id = this.options.newMemberId(peerUrls);
    const member: Member = { id, name: '', peerUrls: [...peerUrls], clientUrls: [], isLearner };
    await this.change(isLearner ? 'addLearner' : 'addNode', id, encodeMemberContext(member));
    return { member: this.registry.get(id) ?? member, members: this.registry.list() };
  }

  async memberRemove(id: bigint): Promise<MemberInfo[]> {
    const member = this.registry.get(id);
    if (member === undefined) throw etcdError('MemberNotFound');
    if (!member.isLearner) {
      const voters = this.registry.list().filter((m) => !m.isLearner);
      const remaining = voters.filter((m) => m.id !== id);
      if (remaining.filter(isStarted).length < quorum(remaining.length)) throw etcdError('MemberNotEnoughStarted');
      if (!this.connectedToQuorum(remaining)) throw etcdError('Unhealthy');
    }
    await this.change('removeNode', id, new Uint8Array(0));
    return this.registry.list();
  }

  async memberUpdate(id: bigint, peerUrls: readonly string[]): Promise<MemberInfo[]> {
    if (!validPeerUrls(peerUrls)) throw etcdError('MemberBadURLs');
    if (this.registry.get(id) === undefined) throw etcdError('MemberNotFound');
    const others = this.registry.list().filter((m) => m.id !== id);
    if (others.some((m) => m.peerUrls.some((u) => peerUrls.includes(u)))) throw etcdError('PeerURLExist');
    await this.request(encodeMemberRequest({ kind: 'update', id, peerUrls }), 'update', id);
    return this.registry.list();
  }

  async memberPromote(id: bigint): Promise<MemberInfo[]> {
    const obs = this.node.observe();
    if (!obs.isLeader) {
      if (obs.leader === NO_NODE) throw etcdError('NoLeader');
      if (this.options.forwardPromote === undefined) throw etcdError('NotLeader');
      await this.options.forwardPromote(nodeIdToBigInt(obs.leader), id);
      await this.waitFor((e) => e.kind === 'promoteLearner' && e.id === id, () => this.registry.get(id)?.isLearner === false);
      return this.registry.list();
    }
    this.checkPromotable(id);
    await this.change('promoteLearner', id, new Uint8Array(0));
    return this.registry.list();
  }

  /** etcd's mayPromoteMember on the leader: the learner exists, is a learner, is caught up, quorum started. */
  private checkPromotable(id: bigint): void {
    const member = this.registry.get(id);
    if (member === undefined) throw etcdError('MemberNotFound');
    if (!member.isLearner) throw etcdError('MemberNotLearner');
    const ready = isLearnerReady(this.node.raftStatus(), nodeIdFromBigInt(id));
    if (ready === undefined) throw etcdError('MemberNotFound');
    if (!ready) throw etcdError('LearnerNotReady');
    const voters = this.registry.list().filter((m) => !m.isLearner);
    if (voters.filter(isStarted).length + 1 < quorum(voters.length + 1)) throw etcdError('MemberNotEnoughStarted');
  }

  /** Maintenance.MoveLeader: only the leader may hand over, and only to a voting member. */
  async moveLeader(targetId: bigint): Promise<void> {
    const obs = this.node.observe();
    if (!obs.isLeader) throw etcdError('NotLeader');
    const target = this.registry.get(targetId);
    if (target === undefined || target.isLearner) throw etcdError('BadLeaderTransferee');
    if (targetId === this.options.selfId) return;
    const targetNode = nodeIdFromBigInt(targetId);
    this.node.transferLeadership(targetNode);
    const deadlineMs = this.clock.nowMs() + this.options.requestTimeoutMs;
    while (this.node.observe().leader !== targetNode) {
      if (this.clock.nowMs() >= deadlineMs) throw etcdError('Timeout');
      await new Promise<void>((resolve) => this.clock.setTimer(this.options.pollMs ?? 20, resolve));
    }
  }

  /** Publishes this member's name and client URLs through Raft (etcd's publish on start). */
  async publish(name: string, clientUrls: readonly string[]): Promise<void> {
    const id = this.options.selfId;
    await this.request(encodeMemberRequest({ kind: 'publish', id, name, clientUrls }), 'publish', id);
  }

  /** True when this member's published attributes are in the replicated list. */
  isPublished(name: string, clientUrls: readonly string[]): boolean {
    const self = this.registry.get(this.options.selfId);
    return self !== undefined && self.name === name && self.clientUrls.join(',') === clientUrls.join(',');
  }

  private readyToAddVoter(voters: readonly Member[]): boolean {
    const members = voters.length + 1;
    const started = voters.filter(isStarted).length;
    // Adding a second member to a one-member cluster (restoring a cluster) is allowed.
    if (started === 1 && members === 2) return true;
    return started >= quorum(members);
  }

  private connectedToQuorum(voters: readonly Member[]): boolean {
    const connected = voters.filter((m) => m.id === this.options.selfId || this.options.isPeerActive(m.id)).length;
    return connected >= quorum(voters.length);
  }

  private async change(type: ConfChangeType, id: bigint, context: Uint8Array): Promise<void> {
    const applied = this.waitFor((e) => e.kind === type && e.id === id);
    try {
      this.node.proposeConfChange({ type, nodeId: nodeIdFromBigInt(id), context });
    } catch (error) {
      applied.cancel();
      throw translateNodeError(error);
    }
    await applied;
  }

  private async request(payload: Uint8Array, kind: MembershipEvent['kind'], id: bigint): Promise<void> {
    const applied = this.waitFor((e) => e.kind === kind && e.id === id);
    try {
      await this.node.propose(payload);
    } catch (error) {
      applied.cancel();
      throw translateNodeError(error);
    }
    await applied;
  }

  /** Resolves on the first applied membership event matching `match` (or when `already` holds). */
  private waitFor(match: (e: MembershipEvent) => boolean, already?: () => boolean): Promise<void> & { cancel(): void } {
    let cancel = (): void => undefined;
    const promise = new Promise<void>((resolve, reject) => {
      if (already?.() === true) {
        resolve();
        return;
      }
      const timer = this.clock.setTimer(this.options.requestTimeoutMs, () => {
        unsubscribe();
        reject(etcdError('Timeout'));
      });
      const unsubscribe = this.registry.onChange((e) => {
        if (!match(e)) return;
        unsubscribe();
        this.clock.clearTimer(timer);
        resolve();
      });
      cancel = () => {
        unsubscribe();
        this.clock.clearTimer(timer);
      };
    });
    return Object.assign(promise, { cancel: () => cancel() });
  }
}
