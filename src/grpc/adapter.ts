/**
 * Binds the transport-free API (src/api) to the gRPC services: converts decoded protobuf
 * messages (int64 as bigint, oneofs as {case, value}) to the API's types and back, and turns
 * EtcdError into the gRPC status etcd clients expect. RPCs not bound yet answer UNIMPLEMENTED.
 */
import { createHash } from 'node:crypto';
import { EtcdError, SERVER_VERSION } from '../api/index.js';
import { withCredential } from '../api/index.js';
import type { AuthApi, ClusterApi, KvApi, MaintenanceApi, MemberInfo, LeaseApi, WatchApi } from '../api/index.js';
import type { AuthInfo } from '../auth/index.js';
import type { ElectionApi, LockApi } from '../api/index.js';
import type * as mvcc from '../mvcc/index.js';
import type * as pb from './generated/etcdserverpb.js';
import { writeDeleteRangeRequest, writePutRequest, writeTxnRequest } from './generated/etcdserverpb.js';
import { encodedLength } from './wire.js';
import type { Writer } from './wire.js';
import { unimplementedServices } from './services.js';
import { bindLeaseAndWatch } from './adapter-lease-watch.js';
import { bindLockAndElection } from './adapter-lock-election.js';
import { fromKv } from './convert-kv.js';
import { awaitTokens, bindAuth, credentialOf, guardAdminServices } from './adapter-auth.js';

export { fromKv };
import type { CallContext, EtcdServices, GrpcStatusError } from './services.js';

export interface BoundApis {
  readonly kv: KvApi;
  readonly maintenance: MaintenanceApi;
  /** The Cluster service (member add/remove/update/promote) and MoveLeader; unbound without it. */
  readonly cluster?: ClusterApi;
  /** The Lease and Watch services; unbound without them. */
  readonly lease?: LeaseApi;
  readonly watch?: WatchApi;
  /** The Lock and Election services (v3lock, v3election); unbound without them. */
  readonly lock?: LockApi;
  readonly election?: ElectionApi;
  /** The Auth service and every permission check; without it nothing is checked (and Auth is unbound). */
  readonly auth?: AuthApi;
  /** This member's and its cluster's ids for response headers (default: the first listed member). */
  readonly memberId?: bigint;
  readonly clusterId?: bigint;
}

function status(error: unknown): unknown {
  if (error instanceof EtcdError) {
    const s: GrpcStatusError = { grpcCode: error.code, message: error.message };
    return s;
  }
  return error;
}

const rethrowStatus = (error: unknown): never => {
  throw status(error);
};

/**
 * call() for the hot KV paths: starts the API call, maps its result, rethrows etcd errors as
 * gRPC statuses, with a then() pair instead of two async frames per request.
 */
function mapCall<A, B>(start: () => Promise<A>, map: (a: A) => B): Promise<B> {
  let pending: Promise<A>;
  try {
    pending = start();
  } catch (error) {
    return Promise.reject(status(error));
  }
  return pending.then(map, rethrowStatus);
}

/** Runs an API call and rethrows etcd errors as gRPC statuses. */
async function call<T>(work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw status(error);
  }
}

const num = (v: bigint): number => Number(v);

/**
 * etcd refuses a request whose marshalled InternalRaftRequest exceeds --max-request-bytes; that
 * wraps the client's message in a header (request id) and a field tag: 17 bytes more. Measured
 * on etcd 3.4.23: a put of key "k" passes with a 1,572,840-byte value and fails at 1,572,841.
 */
const RAFT_REQUEST_OVERHEAD_BYTES = 17;
const raftRequestBytes = <M>(write: (w: Writer, m: M) => void, message: M): number => encodedLength(write, message) + RAFT_REQUEST_OVERHEAD_BYTES;
const optBytes = (b: Uint8Array): Uint8Array | undefined => (b.length === 0 ? undefined : b);

export function toRangeRequest(r: pb.RangeRequest): mvcc.RangeRequest {
  const out: mvcc.RangeRequest = {
    key: r.key,
    limit: num(r.limit),
    revision: num(r.revision),
    sortOrder: r.sortOrder as mvcc.SortOrder,
    sortTarget: r.sortTarget as mvcc.SortTarget,
    serializable: r.serializable,
    keysOnly: r.keysOnly,
    countOnly: r.countOnly,
    minModRevision: num(r.minModRevision),
    maxModRevision: num(r.maxModRevision),
    minCreateRevision: num(r.minCreateRevision),
    maxCreateRevision: num(r.maxCreateRevision),
  };
  const end = optBytes(r.rangeEnd);
  return end === undefined ? out : { ...out, rangeEnd: end };
}

export function toPutRequest(r: pb.PutRequest): mvcc.PutRequest {
  return { key: r.key, value: r.value, lease: r.lease, prevKv: r.prevKv, ignoreValue: r.ignoreValue, ignoreLease: r.ignoreLease };
}

export function toDeleteRequest(r: pb.DeleteRangeRequest): mvcc.DeleteRangeRequest {
  const end = optBytes(r.rangeEnd);
  return end === undefined ? { key: r.key, prevKv: r.prevKv } : { key: r.key, rangeEnd: end, prevKv: r.prevKv };
}

function toCompare(c: pb.Compare): mvcc.Compare {
  const base: mvcc.Compare = { result: c.result as mvcc.CompareResult, target: c.target as mvcc.CompareTarget, key: c.key };
  const end = optBytes(c.rangeEnd);
  const withEnd = end === undefined ? base : { ...base, rangeEnd: end };
  const u = c.targetUnion;
  if (u === undefined) return withEnd;
  switch (u.case) {
    case 'version':
      return { ...withEnd, version: num(u.value) };
    case 'createRevision':
      return { ...withEnd, createRevision: num(u.value) };
    case 'modRevision':
      return { ...withEnd, modRevision: num(u.value) };
    case 'value':
      return { ...withEnd, value: u.value };
    case 'lease':
      return { ...withEnd, lease: u.value };
  }
}

function toRequestOp(op: pb.RequestOp): mvcc.RequestOp | undefined {
  const r = op.request;
  if (r === undefined) return undefined;
  switch (r.case) {
    case 'requestRange':
      return { requestRange: toRangeRequest(r.value) };
    case 'requestPut':
      return { requestPut: toPutRequest(r.value) };
    case 'requestDeleteRange':
      return { requestDeleteRange: toDeleteRequest(r.value) };
    case 'requestTxn':
      return { requestTxn: toTxnRequest(r.value) };
  }
}

export function toTxnRequest(r: pb.TxnRequest): mvcc.TxnRequest {
  // An op with no request set is kept as an empty object so validation answers as etcd does.
  const ops = (list: pb.RequestOp[]): mvcc.RequestOp[] => list.map((op) => toRequestOp(op) ?? ({} as mvcc.RequestOp));
  return { compare: r.compare.map(toCompare), success: ops(r.success), failure: ops(r.failure) };
}


export function fromHeader(h: mvcc.ResponseHeader): pb.ResponseHeaderInit {
  return { clusterId: h.clusterId, memberId: h.memberId, revision: BigInt(h.revision), raftTerm: BigInt(h.raftTerm) };
}

export function fromRange(r: mvcc.RangeResponse): pb.RangeResponseInit {
  return { header: fromHeader(r.header), kvs: r.kvs.map(fromKv), more: r.more, count: BigInt(r.count) };
}

export function fromPut(r: mvcc.PutResponse): pb.PutResponseInit {
  return r.prevKv === undefined ? { header: fromHeader(r.header) } : { header: fromHeader(r.header), prevKv: fromKv(r.prevKv) };
}

export function fromDelete(r: mvcc.DeleteRangeResponse): pb.DeleteRangeResponseInit {
  return { header: fromHeader(r.header), deleted: BigInt(r.deleted), prevKvs: r.prevKvs.map(fromKv) };
}

function fromResponseOp(op: mvcc.ResponseOp): pb.ResponseOpInit {
  if ('responseRange' in op) return { response: { case: 'responseRange', value: fromRange(op.responseRange) } };
  if ('responsePut' in op) return { response: { case: 'responsePut', value: fromPut(op.responsePut) } };
  if ('responseDeleteRange' in op) return { response: { case: 'responseDeleteRange', value: fromDelete(op.responseDeleteRange) } };
  return { response: { case: 'responseTxn', value: fromTxn(op.responseTxn) } };
}

export function fromTxn(r: mvcc.TxnResponse): pb.TxnResponseInit {
  return { header: fromHeader(r.header), succeeded: r.succeeded, responses: r.responses.map(fromResponseOp) };
}

function fromMember(m: MemberInfo): pb.MemberInit {
  return { ID: m.id, name: m.name, peerURLs: [...m.peerUrls], clientURLs: [...m.clientUrls], isLearner: m.isLearner };
}

/** The EtcdServices the gRPC server exposes, backed by the API objects. */
export function bindServices(apis: BoundApis): EtcdServices {
  const { kv, maintenance, cluster, auth } = apis;
  // The call's credential, or undefined when auth is not wired in (then nothing is checked).
  const who = (ctx: CallContext): AuthInfo | undefined => (auth === undefined ? undefined : credentialOf(auth, ctx));
  // Reads retry once with a fresh credential when an auth change raced them (etcd's doSerialize).
  const asCaller = <T>(ctx: CallContext, work: (ai: AuthInfo | undefined) => Promise<T>): Promise<T> =>
    auth === undefined ? work(undefined) : withCredential(() => credentialOf(auth, ctx), work);
  const header = (): pb.ResponseHeaderInit => {
    const s = maintenance.status();
    const memberId = apis.memberId ?? maintenance.memberList()[0]?.id ?? 0n;
    return { revision: BigInt(s.revision), raftTerm: BigInt(s.raftTerm), memberId, clusterId: apis.clusterId ?? 0n };
  };
  const services: EtcdServices = {
    ...unimplementedServices(),
    ...bindLeaseAndWatch(apis.lease, apis.watch, header, auth),
    ...bindLockAndElection(apis.lock, apis.election, who),
    ...(auth === undefined ? {} : bindAuth(auth, header)),
    range: (r, ctx) => mapCall(() => asCaller(ctx, (ai) => kv.range(toRangeRequest(r), 0, ai)), fromRange),
    // Writes too retry with a fresh credential when an auth change overtook them in the log, as
    // etcd's raftRequest loop does on ErrAuthOldRevision.
    put: (r, ctx) => mapCall(() => asCaller(ctx, (ai) => kv.put(toPutRequest(r), raftRequestBytes(writePutRequest, r), ai)), fromPut),
    deleteRange: (r, ctx) => mapCall(() => asCaller(ctx, (ai) => kv.deleteRange(toDeleteRequest(r), raftRequestBytes(writeDeleteRangeRequest, r), ai)), fromDelete),
    txn: (r, ctx) => mapCall(() => asCaller(ctx, (ai) => kv.txn(toTxnRequest(r), raftRequestBytes(writeTxnRequest, r), ai)), fromTxn),
    compact: (r) => call(async () => ({ header: fromHeader((await kv.compact({ revision: num(r.revision), physical: r.physical })).header) })),
    status: () =>
      call(() => {
        const s = maintenance.status();
        return {
          header: header(),
          version: s.version,
          dbSize: BigInt(s.dbSizeBytes),
          dbSizeInUse: BigInt(s.dbSizeInUseBytes),
          leader: s.leader,
          raftIndex: BigInt(s.raftIndex),
          raftTerm: BigInt(s.raftTerm),
          raftAppliedIndex: BigInt(s.raftAppliedIndex),
          errors: [...s.errors],
          isLearner: s.isLearner,
        };
      }),
    memberList: () => call(() => ({ header: header(), members: maintenance.memberList().map(fromMember) })),
    hash: () => call(() => ({ header: header(), hash: maintenance.hash().hash })),
    hashKV: (r) =>
      call(() => {
        const h = maintenance.hashKV(num(r.revision));
        return { header: header(), hash: h.hash, compactRevision: BigInt(h.compactRevision) };
      }),
    defragment: () => call(() => ({ header: header() })),
    alarm: (r) => call(async () => bindAlarm(maintenance, r, header)),
    snapshot: async (_r, out) => {
      // As etcd: the database in chunks with the bytes still to come, then its SHA-256 as the
      // last chunk, which etcdctl checks before it keeps the file.
      // etcdctl expects a page-aligned file (bbolt's 512-byte multiple) followed by the hash.
      const raw = maintenance.snapshotBytes();
      const blob = new Uint8Array(Math.ceil(raw.length / 512) * 512);
      blob.set(raw);
      const chunkBytes = 32 * 1024;
      for (let at = 0; at < blob.length; at += chunkBytes) {
        const chunk = blob.subarray(at, Math.min(blob.length, at + chunkBytes));
        await out.send({ header: header(), remainingBytes: BigInt(blob.length - at - chunk.length + 32), blob: chunk, version: SERVER_VERSION });
      }
      await out.send({ header: header(), remainingBytes: 0n, blob: createHash('sha256').update(blob).digest(), version: SERVER_VERSION });
    },
  };
  const all = cluster === undefined ? services : { ...services, ...clusterServices(cluster, header) };
  return auth === undefined ? all : awaitTokens(guardAdminServices(all, auth), auth);
}

/** Cluster service and MoveLeader over the ClusterApi. */
function clusterServices(cluster: ClusterApi, header: () => pb.ResponseHeaderInit): Partial<EtcdServices> {
  const members = (list: readonly MemberInfo[]): pb.MemberInit[] => list.map(fromMember);
  return {
    memberList: () => call(() => ({ header: header(), members: members(cluster.memberList()) })),
    memberAdd: (r) =>
      call(async () => {
        const added = await cluster.memberAdd(r.peerURLs, r.isLearner);
        return { header: header(), member: fromMember(added.member), members: members(added.members) };
      }),
    memberRemove: (r) => call(async () => ({ header: header(), members: members(await cluster.memberRemove(r.ID)) })),
    memberUpdate: (r) => call(async () => ({ header: header(), members: members(await cluster.memberUpdate(r.ID, r.peerURLs)) })),
    memberPromote: (r) => call(async () => ({ header: header(), members: members(await cluster.memberPromote(r.ID)) })),
    moveLeader: (r) =>
      call(async () => {
        await cluster.moveLeader(r.targetID);
        return { header: header() };
      }),
  };
}

const ALARM_NAMES = ['NONE', 'NOSPACE', 'CORRUPT'] as const;

/** Maintenance.Alarm: GET lists, ACTIVATE / DEACTIVATE go through Raft (member 0 = every member). */
async function bindAlarm(maintenance: MaintenanceApi, r: pb.AlarmRequest, header: () => pb.ResponseHeaderInit): Promise<pb.AlarmResponseInit> {
  const toPb = (a: { memberId: string; alarm: string }): { memberID: bigint; alarm: number } => ({
    memberID: BigInt('0x' + a.memberId),
    alarm: Math.max(0, ALARM_NAMES.indexOf(a.alarm as (typeof ALARM_NAMES)[number])),
  });
  const name = ALARM_NAMES[r.alarm];
  if (r.action === 0 || name === undefined || name === 'NONE') {
    const all = maintenance.alarms().filter((a) => r.memberID === 0n || BigInt('0x' + a.memberId) === r.memberID);
    return { header: header(), alarms: all.map(toPb) };
  }
  const targets = r.memberID === 0n ? maintenance.alarms().filter((a) => a.alarm === name) : [{ memberId: r.memberID.toString(16).padStart(16, '0'), alarm: name }];
  const changed: Array<{ memberID: bigint; alarm: number }> = [];
  for (const t of targets) {
    const done = await maintenance.alarm({ action: r.action === 1 ? 'activate' : 'deactivate', memberId: t.memberId, alarm: name });
    changed.push(...done.map(toPb));
  }
  return { header: header(), alarms: changed };
}
