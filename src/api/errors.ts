/**
 * THE table of etcd errors: gRPC status code and the exact message etcd sends. Clients (etcdctl,
 * clientv3, the etcd3 npm package) match on these strings, so they must stay byte for byte equal
 * to etcd's `api/v3rpc/rpctypes/error.go` (checked against the 3.4 file and two later versions of
 * it; entries newer than 3.4 are marked). Codes follow 3.4; the newest file moves NotCapable,
 * NotSupportedForLearner and ClusterVersionUnavailable from UNAVAILABLE to FAILED_PRECONDITION,
 * which matters to clients that retry on UNAVAILABLE. No gRPC import here: codes are numbers.
 */

/** gRPC status codes (google.golang.org/grpc/codes), as numbers. */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcCodeNumber = (typeof GrpcCode)[keyof typeof GrpcCode];

/** An error etcd would return to a client: the status code and the exact description. */
export class EtcdError extends Error {
  override readonly name = 'EtcdError';
  constructor(
    readonly code: GrpcCodeNumber,
    message: string,
  ) {
    super(message);
  }

  /** Same code and message: clients cannot tell the two apart. */
  is(other: EtcdErrorSpec): boolean {
    return this.code === other.code && this.message === other.message;
  }
}

export interface EtcdErrorSpec {
  readonly code: GrpcCodeNumber;
  readonly message: string;
}

const C = GrpcCode;
function spec(code: GrpcCodeNumber, message: string): EtcdErrorSpec {
  return Object.freeze({ code, message });
}

/** Keyed by etcd's Go name without the `ErrGRPC` prefix. */
export const Errors = Object.freeze({
  // key-value requests
  EmptyKey: spec(C.INVALID_ARGUMENT, 'etcdserver: key is not provided'),
  KeyNotFound: spec(C.INVALID_ARGUMENT, 'etcdserver: key not found'),
  ValueProvided: spec(C.INVALID_ARGUMENT, 'etcdserver: value is provided'),
  LeaseProvided: spec(C.INVALID_ARGUMENT, 'etcdserver: lease is provided'),
  /** In one etcd-io/etcd version of the table; absent from the 3.4 and 3.6 files checked. */
  TTLZero: spec(C.INVALID_ARGUMENT, 'etcdserver: ttl is 0'),
  TooManyOps: spec(C.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request'),
  DuplicateKey: spec(C.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request'),
  /** 3.5+ (3.4 does not validate sort options). */
  InvalidSortOption: spec(C.INVALID_ARGUMENT, 'etcdserver: invalid sort option'),
  /** 3.6. */
  InvalidClientAPIVersion: spec(C.INVALID_ARGUMENT, 'etcdserver: invalid client api version'),
  Compacted: spec(C.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'),
  FutureRev: spec(C.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision'),
  NoSpace: spec(C.RESOURCE_EXHAUSTED, 'etcdserver: mvcc: database space exceeded'),

  // leases (etcd has no "too small TTL" error: it silently raises the TTL to the minimum)
  LeaseNotFound: spec(C.NOT_FOUND, 'etcdserver: requested lease not found'),
  LeaseExist: spec(C.FAILED_PRECONDITION, 'etcdserver: lease already exists'),
  LeaseTTLTooLarge: spec(C.OUT_OF_RANGE, 'etcdserver: too large lease TTL'),

  /** 3.6. */
  WatchCanceled: spec(C.CANCELLED, 'etcdserver: watch canceled'),

  // membership
  MemberExist: spec(C.FAILED_PRECONDITION, 'etcdserver: member ID already exist'),
  PeerURLExist: spec(C.FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists'),
  MemberNotEnoughStarted: spec(
    C.FAILED_PRECONDITION,
    'etcdserver: re-configuration failed due to not enough started members',
  ),
  MemberBadURLs: spec(C.INVALID_ARGUMENT, 'etcdserver: given member URLs are invalid'),
  MemberNotFound: spec(C.NOT_FOUND, 'etcdserver: member not found'),
  MemberNotLearner: spec(C.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member'),
  LearnerNotReady: spec(
    C.FAILED_PRECONDITION,
    'etcdserver: can only promote a learner member which is in sync with leader',
  ),
  TooManyLearners: spec(C.FAILED_PRECONDITION, 'etcdserver: too many learner members in cluster'),
  /** 3.5+. */
  ClusterIDMismatch: spec(C.FAILED_PRECONDITION, 'etcdserver: cluster ID mismatch'),

  // request limits
  RequestTooLarge: spec(C.INVALID_ARGUMENT, 'etcdserver: request is too large'),
  RequestTooManyRequests: spec(C.RESOURCE_EXHAUSTED, 'etcdserver: too many requests'),

  // auth
  RootUserNotExist: spec(C.FAILED_PRECONDITION, 'etcdserver: root user does not exist'),
  RootRoleNotExist: spec(C.FAILED_PRECONDITION, 'etcdserver: root user does not have root role'),
  UserAlreadyExist: spec(C.FAILED_PRECONDITION, 'etcdserver: user name already exists'),
  UserEmpty: spec(C.INVALID_ARGUMENT, 'etcdserver: user name is empty'),
  UserNotFound: spec(C.FAILED_PRECONDITION, 'etcdserver: user name not found'),
  RoleAlreadyExist: spec(C.FAILED_PRECONDITION, 'etcdserver: role name already exists'),
  RoleNotFound: spec(C.FAILED_PRECONDITION, 'etcdserver: role name not found'),
  RoleEmpty: spec(C.INVALID_ARGUMENT, 'etcdserver: role name is empty'),
  AuthFailed: spec(
    C.INVALID_ARGUMENT,
    'etcdserver: authentication failed, invalid user ID or password',
  ),
  /** 3.5+ (3.4 answers the same situation with InvalidAuthToken). */
  AuthOldRevision: spec(C.INVALID_ARGUMENT, 'etcdserver: revision of auth store is old'),
  /** 3.6. */
  PermissionNotGiven: spec(C.INVALID_ARGUMENT, 'etcdserver: permission not given'),
  PermissionDenied: spec(C.PERMISSION_DENIED, 'etcdserver: permission denied'),
  RoleNotGranted: spec(C.FAILED_PRECONDITION, 'etcdserver: role is not granted to the user'),
  PermissionNotGranted: spec(
    C.FAILED_PRECONDITION,
    'etcdserver: permission is not granted to the role',
  ),
  AuthNotEnabled: spec(C.FAILED_PRECONDITION, 'etcdserver: authentication is not enabled'),
  InvalidAuthToken: spec(C.UNAUTHENTICATED, 'etcdserver: invalid auth token'),
  InvalidAuthMgmt: spec(C.INVALID_ARGUMENT, 'etcdserver: invalid auth management'),

  // server and cluster state
  NoLeader: spec(C.UNAVAILABLE, 'etcdserver: no leader'),
  NotLeader: spec(C.FAILED_PRECONDITION, 'etcdserver: not leader'),
  LeaderChanged: spec(C.UNAVAILABLE, 'etcdserver: leader changed'),
  NotCapable: spec(C.UNAVAILABLE, 'etcdserver: not capable'),
  Stopped: spec(C.UNAVAILABLE, 'etcdserver: server stopped'),
  Timeout: spec(C.UNAVAILABLE, 'etcdserver: request timed out'),
  TimeoutDueToLeaderFail: spec(
    C.UNAVAILABLE,
    'etcdserver: request timed out, possibly due to previous leader failure',
  ),
  TimeoutDueToConnectionLost: spec(
    C.UNAVAILABLE,
    'etcdserver: request timed out, possibly due to connection lost',
  ),
  /** 3.6. */
  TimeoutWaitAppliedIndex: spec(
    C.UNAVAILABLE,
    'etcdserver: request timed out, waiting for the applied index took too long',
  ),
  Unhealthy: spec(C.UNAVAILABLE, 'etcdserver: unhealthy cluster'),
  Corrupt: spec(C.DATA_LOSS, 'etcdserver: corrupt cluster'),
  NotSupportedForLearner: spec(C.UNAVAILABLE, 'etcdserver: rpc not supported for learner'),
  BadLeaderTransferee: spec(C.FAILED_PRECONDITION, 'etcdserver: bad leader transferee'),

  // downgrade (3.5+)
  ClusterVersionUnavailable: spec(
    C.UNAVAILABLE,
    'etcdserver: cluster version not found during downgrade',
  ),
  WrongDowngradeVersionFormat: spec(
    C.INVALID_ARGUMENT,
    'etcdserver: wrong downgrade target version format',
  ),
  InvalidDowngradeTargetVersion: spec(
    C.INVALID_ARGUMENT,
    'etcdserver: invalid downgrade target version',
  ),
  DowngradeInProcess: spec(
    C.FAILED_PRECONDITION,
    'etcdserver: cluster has a downgrade job in progress',
  ),
  NoInflightDowngrade: spec(C.FAILED_PRECONDITION, 'etcdserver: no inflight downgrade job'),

  // context errors as the server reports them (3.6)
  Canceled: spec(C.CANCELLED, 'etcdserver: request canceled'),
  DeadlineExceeded: spec(C.DEADLINE_EXCEEDED, 'etcdserver: context deadline exceeded'),
});
export type EtcdErrorName = keyof typeof Errors;

/** A fresh throwable for a table entry: `throw etcdError('Compacted')`. */
export function etcdError(name: EtcdErrorName): EtcdError {
  const s = Errors[name];
  return new EtcdError(s.code, s.message);
}

const byMessage = new Map<string, EtcdErrorName>(
  (Object.keys(Errors) as EtcdErrorName[]).map((name) => [Errors[name].message, name]),
);

/** Reverse lookup, as clientv3's rpctypes.Error does: the table entry whose message this is. */
export function lookupEtcdError(message: string): { name: EtcdErrorName; spec: EtcdErrorSpec } | undefined {
  const name = byMessage.get(message);
  return name === undefined ? undefined : { name, spec: Errors[name] };
}

export function isEtcdError(e: unknown, name?: EtcdErrorName): e is EtcdError {
  if (!(e instanceof EtcdError)) return false;
  return name === undefined || e.is(Errors[name]);
}
