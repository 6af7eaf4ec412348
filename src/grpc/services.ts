/**
 * The transport-free contract between the gRPC front door and whatever serves etcd's v3 API.
 * One async method per unary RPC, taking the decoded request and returning a response that
 * the server encodes; four stream hooks for Watch, LeaseKeepAlive, Snapshot and Observe.
 * Nothing here mentions @grpc/grpc-js, so the simulator can drive the same implementation.
 * (Expected to move to src/api once that module exists; src/grpc will then import it.)
 *
 * Errors: a method that throws a GrpcStatusError ends the call with exactly that gRPC code and
 * message, since etcd clients recognise errors by their message text. Anything else thrown
 * becomes UNKNOWN with the error's message.
 */
import type {
  AlarmRequest, AlarmResponseInit, AuthDisableRequest, AuthDisableResponseInit,
  AuthEnableRequest, AuthEnableResponseInit, AuthRoleAddRequest, AuthRoleAddResponseInit,
  AuthRoleDeleteRequest, AuthRoleDeleteResponseInit, AuthRoleGetRequest, AuthRoleGetResponseInit,
  AuthRoleGrantPermissionRequest, AuthRoleGrantPermissionResponseInit, AuthRoleListRequest,
  AuthRoleListResponseInit, AuthRoleRevokePermissionRequest, AuthRoleRevokePermissionResponseInit,
  AuthStatusRequest, AuthStatusResponseInit, AuthUserAddRequest, AuthUserAddResponseInit,
  AuthUserChangePasswordRequest, AuthUserChangePasswordResponseInit, AuthUserDeleteRequest,
  AuthUserDeleteResponseInit, AuthUserGetRequest, AuthUserGetResponseInit, AuthUserGrantRoleRequest,
  AuthUserGrantRoleResponseInit, AuthUserListRequest, AuthUserListResponseInit,
  AuthUserRevokeRoleRequest, AuthUserRevokeRoleResponseInit, AuthenticateRequest,
  AuthenticateResponseInit, CompactionRequest, CompactionResponseInit, DefragmentRequest,
  DefragmentResponseInit, DeleteRangeRequest, DeleteRangeResponseInit, DowngradeRequest,
  DowngradeResponseInit, HashKVRequest, HashKVResponseInit, HashRequest, HashResponseInit,
  LeaseGrantRequest, LeaseGrantResponseInit, LeaseKeepAliveRequest, LeaseKeepAliveResponseInit,
  LeaseLeasesRequest, LeaseLeasesResponseInit, LeaseRevokeRequest, LeaseRevokeResponseInit,
  LeaseTimeToLiveRequest, LeaseTimeToLiveResponseInit, MemberAddRequest, MemberAddResponseInit,
  MemberListRequest, MemberListResponseInit, MemberPromoteRequest, MemberPromoteResponseInit,
  MemberRemoveRequest, MemberRemoveResponseInit, MemberUpdateRequest, MemberUpdateResponseInit,
  MoveLeaderRequest, MoveLeaderResponseInit, PutRequest, PutResponseInit, RangeRequest,
  RangeResponseInit, SnapshotRequest, SnapshotResponseInit, StatusRequest, StatusResponseInit,
  TxnRequest, TxnResponseInit, WatchRequest, WatchResponseInit,
} from './generated/etcdserverpb.js';
import type { LockRequest, LockResponseInit, UnlockRequest, UnlockResponseInit } from './generated/v3lockpb.js';
import type {
  CampaignRequest, CampaignResponseInit, LeaderRequest, LeaderResponseInit, ProclaimRequest,
  ProclaimResponseInit, ResignRequest, ResignResponseInit,
} from './generated/v3electionpb.js';
import type { RpcKey, RpcTypes } from './generated/services.js';
import { RPCS } from './generated/services.js';

// The one table of gRPC status codes lives beside etcd's errors.
import { GrpcCode } from '../api/errors.js';
export { GrpcCode };

/** Throw this (any object of this shape) to end a call with exactly this status. */
export interface GrpcStatusError {
  readonly grpcCode: number;
  readonly message: string;
}

export function isGrpcStatusError(value: unknown): value is GrpcStatusError {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { grpcCode?: unknown; message?: unknown };
  return typeof v.grpcCode === 'number' && Number.isInteger(v.grpcCode) && typeof v.message === 'string';
}

/** Per-call information a service may need; the gRPC layer fills it from the call. */
export interface CallContext {
  /** The client's auth token: metadata "token" (etcd clients) or "authorization". */
  readonly authToken: string | undefined;
  /** etcd clients send metadata hasleader=true to ask for a failure when there is no leader. */
  readonly requireLeader: boolean;
  /** Aborted when the client cancels the call, its deadline passes, or the server closes. */
  readonly signal: AbortSignal;
  /** The remote address, for logs. */
  readonly peer: string;
  /**
   * The common name of the client's TLS certificate, present only on a TLS connection whose
   * client certificate was verified against --trusted-ca-file (--client-cert-auth). etcd
   * takes it as the user name when auth is enabled and the request carries no token.
   */
  readonly certCommonName?: string | undefined;
  /** First value of a request metadata entry (names are lower-case), if present. */
  metadata(name: string): string | undefined;
}

/** The sending half of a response stream. */
export interface ResponseSink<Res> {
  /**
   * Queues one response. The promise resolves once the transport can take more (backpressure:
   * await it in loops) and rejects with a GrpcStatusError (CANCELLED) if the call has ended.
   */
  send(response: Res): Promise<void>;
  /**
   * True when send() also takes the response's protobuf wire bytes as a Buffer (the gRPC server's
   * sinks): watch fan-out then encodes shared events once. Absent on sinks that need objects
   * (the HTTP/JSON gateway).
   */
  readonly preEncoded?: boolean;
}

/**
 * A bidirectional stream: iterate to receive the client's messages (the iteration ends when
 * the client half-closes or cancels), send responses through the sink. When the hook's promise
 * resolves the server ends the call with OK; when it rejects, with the thrown status.
 */
export interface BidiStream<Req, Res> extends ResponseSink<Res>, AsyncIterable<Req> {}

export interface EtcdServices {
  // KV
  range(request: RangeRequest, ctx: CallContext): Promise<RangeResponseInit>;
  put(request: PutRequest, ctx: CallContext): Promise<PutResponseInit>;
  deleteRange(request: DeleteRangeRequest, ctx: CallContext): Promise<DeleteRangeResponseInit>;
  txn(request: TxnRequest, ctx: CallContext): Promise<TxnResponseInit>;
  compact(request: CompactionRequest, ctx: CallContext): Promise<CompactionResponseInit>;
  // Watch
  watch(stream: BidiStream<WatchRequest, WatchResponseInit>, ctx: CallContext): Promise<void>;
  // Lease
  leaseGrant(request: LeaseGrantRequest, ctx: CallContext): Promise<LeaseGrantResponseInit>;
  leaseRevoke(request: LeaseRevokeRequest, ctx: CallContext): Promise<LeaseRevokeResponseInit>;
  leaseKeepAlive(
    stream: BidiStream<LeaseKeepAliveRequest, LeaseKeepAliveResponseInit>,
    ctx: CallContext,
  ): Promise<void>;
  leaseTimeToLive(request: LeaseTimeToLiveRequest, ctx: CallContext): Promise<LeaseTimeToLiveResponseInit>;
  leaseLeases(request: LeaseLeasesRequest, ctx: CallContext): Promise<LeaseLeasesResponseInit>;
  // Cluster
  memberAdd(request: MemberAddRequest, ctx: CallContext): Promise<MemberAddResponseInit>;
  memberRemove(request: MemberRemoveRequest, ctx: CallContext): Promise<MemberRemoveResponseInit>;
  memberUpdate(request: MemberUpdateRequest, ctx: CallContext): Promise<MemberUpdateResponseInit>;
  memberList(request: MemberListRequest, ctx: CallContext): Promise<MemberListResponseInit>;
  memberPromote(request: MemberPromoteRequest, ctx: CallContext): Promise<MemberPromoteResponseInit>;
  // Maintenance
  alarm(request: AlarmRequest, ctx: CallContext): Promise<AlarmResponseInit>;
  status(request: StatusRequest, ctx: CallContext): Promise<StatusResponseInit>;
  defragment(request: DefragmentRequest, ctx: CallContext): Promise<DefragmentResponseInit>;
  hash(request: HashRequest, ctx: CallContext): Promise<HashResponseInit>;
  hashKV(request: HashKVRequest, ctx: CallContext): Promise<HashKVResponseInit>;
  snapshot(request: SnapshotRequest, out: ResponseSink<SnapshotResponseInit>, ctx: CallContext): Promise<void>;
  moveLeader(request: MoveLeaderRequest, ctx: CallContext): Promise<MoveLeaderResponseInit>;
  downgrade(request: DowngradeRequest, ctx: CallContext): Promise<DowngradeResponseInit>;
  // Auth
  authEnable(request: AuthEnableRequest, ctx: CallContext): Promise<AuthEnableResponseInit>;
  authDisable(request: AuthDisableRequest, ctx: CallContext): Promise<AuthDisableResponseInit>;
  authStatus(request: AuthStatusRequest, ctx: CallContext): Promise<AuthStatusResponseInit>;
  authenticate(request: AuthenticateRequest, ctx: CallContext): Promise<AuthenticateResponseInit>;
  userAdd(request: AuthUserAddRequest, ctx: CallContext): Promise<AuthUserAddResponseInit>;
  userGet(request: AuthUserGetRequest, ctx: CallContext): Promise<AuthUserGetResponseInit>;
  userList(request: AuthUserListRequest, ctx: CallContext): Promise<AuthUserListResponseInit>;
  userDelete(request: AuthUserDeleteRequest, ctx: CallContext): Promise<AuthUserDeleteResponseInit>;
  userChangePassword(
    request: AuthUserChangePasswordRequest,
    ctx: CallContext,
  ): Promise<AuthUserChangePasswordResponseInit>;
  userGrantRole(request: AuthUserGrantRoleRequest, ctx: CallContext): Promise<AuthUserGrantRoleResponseInit>;
  userRevokeRole(request: AuthUserRevokeRoleRequest, ctx: CallContext): Promise<AuthUserRevokeRoleResponseInit>;
  roleAdd(request: AuthRoleAddRequest, ctx: CallContext): Promise<AuthRoleAddResponseInit>;
  roleGet(request: AuthRoleGetRequest, ctx: CallContext): Promise<AuthRoleGetResponseInit>;
  roleList(request: AuthRoleListRequest, ctx: CallContext): Promise<AuthRoleListResponseInit>;
  roleDelete(request: AuthRoleDeleteRequest, ctx: CallContext): Promise<AuthRoleDeleteResponseInit>;
  roleGrantPermission(
    request: AuthRoleGrantPermissionRequest,
    ctx: CallContext,
  ): Promise<AuthRoleGrantPermissionResponseInit>;
  roleRevokePermission(
    request: AuthRoleRevokePermissionRequest,
    ctx: CallContext,
  ): Promise<AuthRoleRevokePermissionResponseInit>;
  // Lock
  lock(request: LockRequest, ctx: CallContext): Promise<LockResponseInit>;
  unlock(request: UnlockRequest, ctx: CallContext): Promise<UnlockResponseInit>;
  // Election
  campaign(request: CampaignRequest, ctx: CallContext): Promise<CampaignResponseInit>;
  proclaim(request: ProclaimRequest, ctx: CallContext): Promise<ProclaimResponseInit>;
  leader(request: LeaderRequest, ctx: CallContext): Promise<LeaderResponseInit>;
  observe(request: LeaderRequest, out: ResponseSink<LeaderResponseInit>, ctx: CallContext): Promise<void>;
  resign(request: ResignRequest, ctx: CallContext): Promise<ResignResponseInit>;
}

/** The RPCs whose request and response are both single messages. */
export type UnaryRpcKey = Exclude<RpcKey, 'watch' | 'leaseKeepAlive' | 'snapshot' | 'observe'>;
export type BidiRpcKey = 'watch' | 'leaseKeepAlive';
export type ServerStreamRpcKey = 'snapshot' | 'observe';

export type UnaryHandler<K extends UnaryRpcKey> = (
  request: RpcTypes[K]['request'],
  ctx: CallContext,
) => Promise<RpcTypes[K]['responseInit']>;

// Compile-time proof that EtcdServices covers every RPC in the .proto files with the right
// types: adding an RPC to the protos without a method here fails the type check.
type Unary = { [K in UnaryRpcKey]: UnaryHandler<K> };
type Bidi = {
  [K in BidiRpcKey]: (
    stream: BidiStream<RpcTypes[K]['request'], RpcTypes[K]['responseInit']>,
    ctx: CallContext,
  ) => Promise<void>;
};
type ServerStreaming = {
  [K in ServerStreamRpcKey]: (
    request: RpcTypes[K]['request'],
    out: ResponseSink<RpcTypes[K]['responseInit']>,
    ctx: CallContext,
  ) => Promise<void>;
};
type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const servicesCoverEveryRpc: Equal<EtcdServices, Unary & Bidi & ServerStreaming> = true;
void servicesCoverEveryRpc;

const STREAM_KEYS: ReadonlySet<string> = new Set(['watch', 'leaseKeepAlive', 'snapshot', 'observe']);

export function isUnaryRpcKey(key: RpcKey): key is UnaryRpcKey {
  return !STREAM_KEYS.has(key);
}

/**
 * An EtcdServices whose every method fails with UNIMPLEMENTED, to spread a partial
 * implementation over: `{ ...unimplementedServices(), range, put }`.
 */
export function unimplementedServices(): EtcdServices {
  const fail = (name: string) => async (): Promise<never> => {
    const error: GrpcStatusError = { grpcCode: GrpcCode.UNIMPLEMENTED, message: `method ${name} not implemented` };
    throw error;
  };
  const methods: Record<string, unknown> = {};
  for (const rpc of Object.values(RPCS)) methods[rpc.key] = fail(rpc.method);
  return methods as unknown as EtcdServices;
}
