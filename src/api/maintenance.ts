import type { ApplyResult, Applier, AlarmMember, AlarmRequest } from '../apply/index.js';
import { encodePayload } from '../apply/index.js';
import type { HashKVResponse, HashResponse } from '../mvcc/index.js';
import type { ServerNode } from '../server/index.js';
import { EtcdError } from './errors.js';
import { awaitNode } from './kv.js';
import type { Clock } from '../env/index.js';

/** The API version we speak: etcd 3.5's (clients gate features on it). */
export const SERVER_VERSION = '3.5.0';
export const CLUSTER_VERSION = '3.5.0';

export interface MemberInfo {
  readonly id: bigint;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

export interface StatusInfo {
  readonly version: string;
  readonly dbSizeBytes: number;
  readonly dbSizeInUseBytes: number;
  readonly leader: bigint;
  readonly raftIndex: number;
  readonly raftTerm: number;
  readonly raftAppliedIndex: number;
  readonly errors: readonly string[];
  readonly isLearner: boolean;
  readonly revision: number;
}

/** Status, alarms, hashes and membership: etcd's Maintenance and Cluster services, transport-free. */
export class MaintenanceApi {
  constructor(
    private readonly node: ServerNode<ApplyResult>,
    private readonly applier: Applier,
    private readonly self: MemberInfo,
    private readonly members: () => readonly MemberInfo[],
    private readonly memberIdOf: (nodeId: string) => bigint,
    /** Bounds an alarm proposal as every other request is bounded (etcd's request timeout). */
    private readonly proposalTimeout: { readonly clock: Clock; readonly requestTimeoutMs: number },
  ) {}

  status(): StatusInfo {
    const obs = this.node.observe();
    const size = this.applier.store.backendSizeBytes();
    return {
      version: SERVER_VERSION,
      dbSizeBytes: size,
      dbSizeInUseBytes: size,
      leader: obs.leader === '' ? 0n : this.memberIdOf(obs.leader),
      raftIndex: obs.commitIndex,
      raftTerm: obs.term,
      raftAppliedIndex: obs.appliedIndex,
      errors: this.applier.activeAlarms().map((a) => `memberID:${BigInt('0x' + a.memberId)} alarm:${a.alarm} `),
      isLearner: this.self.isLearner,
      revision: this.applier.store.rev(),
    };
  }

  memberList(): readonly MemberInfo[] {
    return this.members();
  }

  hash(): HashResponse {
    return this.applier.store.hash();
  }

  hashKV(revision: number): HashKVResponse {
    return this.applier.store.hashKV(revision);
  }

  /**
   * The whole backend at this member's applied index, for `etcdctl snapshot save`. The pending
   * batch is committed first so the bytes match what a restart would find.
   */
  snapshotBytes(): Uint8Array {
    return this.applier.snapshot();
  }

  alarms(): readonly AlarmMember[] {
    return this.applier.activeAlarms();
  }

  /** Raising or disarming an alarm goes through Raft so every member agrees. */
  async alarm(request: AlarmRequest): Promise<readonly AlarmMember[]> {
    const { clock, requestTimeoutMs } = this.proposalTimeout;
    const result = await awaitNode(clock, requestTimeoutMs, this.node.propose(encodePayload({ alarm: request })));
    if (!result.ok) throw new EtcdError(result.error.code, result.error.message);
    return result.response as AlarmMember[];
  }
}
