/**
 * The Lock and Election services bound to the transport-free API: protobuf <-> API types, etcd
 * errors as gRPC statuses, and the call's abort signal handed to the waiting RPCs (Lock,
 * Campaign, Observe) so a client that gives up stops the wait and, for Lock and Campaign,
 * withdraws its key.
 */
import { EtcdError } from '../api/index.js';
import type { ElectionApi, LeaderKey, LeaderResult, LockApi } from '../api/index.js';
import type { AuthInfo } from '../auth/index.js';
import type * as mvcc from '../mvcc/index.js';
import type * as pb from './generated/etcdserverpb.js';
import type * as epb from './generated/v3electionpb.js';
import { fromKv } from './convert-kv.js';
import type { CallContext, EtcdServices, GrpcStatusError } from './services.js';

type LockElectionServices = Pick<EtcdServices, 'lock' | 'unlock' | 'campaign' | 'proclaim' | 'leader' | 'observe' | 'resign'>;

async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof EtcdError) throw { grpcCode: error.code, message: error.message } satisfies GrpcStatusError;
    throw error;
  }
}

function header(h: mvcc.ResponseHeader): pb.ResponseHeaderInit {
  return { clusterId: h.clusterId, memberId: h.memberId, revision: BigInt(h.revision), raftTerm: BigInt(h.raftTerm) };
}

function toLeaderKey(k: epb.LeaderKey | undefined): LeaderKey | undefined {
  return k === undefined ? undefined : { name: k.name, key: k.key, rev: Number(k.rev), lease: k.lease };
}

function fromLeaderKey(k: LeaderKey): epb.LeaderKeyInit {
  return { name: k.name, key: k.key, rev: BigInt(k.rev), lease: k.lease };
}

function fromLeader(r: LeaderResult): epb.LeaderResponseInit {
  return { header: header(r.header), kv: fromKv(r.kv) };
}

/**
 * `who` yields the caller's credential (undefined when auth is not wired in): the services then
 * run their KV steps as the caller, as etcd's lock and election servers use the caller's context.
 */
export function bindLockAndElection(
  lockApi: LockApi | undefined,
  electionApi: ElectionApi | undefined,
  who: (ctx: CallContext) => AuthInfo | undefined = () => undefined,
): Partial<LockElectionServices> {
  const out: Partial<LockElectionServices> = {};
  if (lockApi) {
    const lock = (ctx: CallContext): LockApi => {
      const ai = who(ctx);
      return ai === undefined ? lockApi : lockApi.as(ai);
    };
    out.lock = (r, ctx) =>
      call(async () => {
        const res = await lock(ctx).lock(r.name, r.lease, ctx.signal);
        return { header: header(res.header), key: res.key };
      });
    out.unlock = (r, ctx) => call(async () => ({ header: header((await lock(ctx).unlock(r.key)).header) }));
  }
  if (electionApi) {
    const election = (ctx: CallContext): ElectionApi => {
      const ai = who(ctx);
      return ai === undefined ? electionApi : electionApi.as(ai);
    };
    out.campaign = (r, ctx) =>
      call(async () => {
        const res = await election(ctx).campaign(r.name, r.lease, r.value, ctx.signal);
        return { header: header(res.header), leader: fromLeaderKey(res.leader) };
      });
    out.proclaim = (r, ctx) => call(async () => ({ header: header((await election(ctx).proclaim(toLeaderKey(r.leader), r.value)).header) }));
    out.resign = (r, ctx) => call(async () => ({ header: header((await election(ctx).resign(toLeaderKey(r.leader))).header) }));
    out.leader = (r, ctx) => call(async () => fromLeader(await election(ctx).leader(r.name)));
    out.observe = (r, sink, ctx) => call(() => election(ctx).observe(r.name, (res) => sink.send(fromLeader(res)), ctx.signal));
  }
  return out;
}
