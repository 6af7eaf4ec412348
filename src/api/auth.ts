import type { ApplyResult, Applier, InternalRequest, RequestHeader } from '../apply/index.js';
import { checkLeasePermission, checkTxnPermission, encodePayload } from '../apply/index.js';
import type { AuthInfo, AuthRequest, AuthResponse, PasswordHasher, Permission } from '../auth/index.js';
import { authInfoFromCommonName, genSimpleTokenPrefix } from '../auth/index.js';
import type { Clock, Rand } from '../env/index.js';
import type { TxnRequest } from '../mvcc/index.js';
import type { ServerNode } from '../server/index.js';
import { EtcdError, GrpcCode, etcdError, isEtcdError } from './errors.js';
import { awaitNode } from './kv.js';

export interface AuthApiOptions {
  readonly requestTimeoutMs: number;
  /** Draws the random part of simple tokens. */
  readonly rand: Rand;
  /** bcrypt (cost from --bcrypt-cost) in the real server, a fake in the simulator. */
  readonly hasher: PasswordHasher;
}

/** The credential of a request that carries none: checks answer "user name is empty". */
export const NO_CREDENTIAL: AuthInfo = Object.freeze({ username: '', revision: 0 });

const EMPTY = new Uint8Array(0);
/** Authenticate retries when an auth change lands between the password check and the apply. */
const AUTHENTICATE_ATTEMPTS = 5;

/** The header a client request is proposed with, so the applier checks it as that user. */
export function requestHeader(ai: AuthInfo): RequestHeader {
  return { username: ai.username, authRevision: ai.revision };
}

/**
 * etcd's Auth service and its credential handling, transport-free. Admin requests go through
 * Raft with the caller's header and are checked when applied (etcd's needAdminPermission);
 * passwords are hashed here, before proposing; Authenticate checks the password here (bcrypt
 * runs only in Authenticate) and proposes the token assignment, so every member knows the token.
 */
export class AuthApi {
  constructor(
    private readonly node: ServerNode<ApplyResult>,
    private readonly applier: Applier,
    private readonly clock: Clock,
    private readonly options: AuthApiOptions,
  ) {}

  isEnabled(): boolean {
    return this.applier.auth.isEnabled();
  }

  revision(): number {
    return this.applier.auth.revision();
  }

  /**
   * A request's credential: its token (etcd reads metadata "token", 3.5 also "authorization"),
   * else its verified client certificate's common name, else none. A token that is not valid
   * (unknown, forged, expired, or auth is off) is refused with "invalid auth token".
   */
  authInfo(token: string | undefined, certCommonName?: string): AuthInfo {
    if (token !== undefined) {
      const info = this.applier.tokens.info(token, this.applier.auth.revision(), this.clock.nowMs());
      if (info === undefined) throw etcdError('InvalidAuthToken');
      return info;
    }
    if (certCommonName !== undefined) return this.authInfoFromCommonName(certCommonName) ?? NO_CREDENTIAL;
    return NO_CREDENTIAL;
  }

  /**
   * A simple token names the Raft index of its Authenticate entry; a member that has not applied
   * it yet would call the token invalid. As etcd's indexWaiter does, wait (bounded by the request
   * timeout) until this member has applied everything committed, then let the check run.
   */
  async awaitToken(token: string | undefined): Promise<void> {
    if (token === undefined) return;
    const index = Number(token.slice(token.lastIndexOf('.') + 1));
    if (!Number.isSafeInteger(index) || index <= this.applier.appliedIndex()) return;
    try {
      await awaitNode(this.clock, this.options.requestTimeoutMs, this.node.linearizableBarrier());
    } catch {
      // No barrier (no leader, timeout): the token check that follows answers for itself.
    }
  }

  /** For the TLS layer: the user a verified client certificate names (etcd's AuthInfoFromTLS). */
  authInfoFromCommonName(commonName: string): AuthInfo | undefined {
    return authInfoFromCommonName(this.applier.auth, commonName);
  }

  // ---------------------------------------------------------------- checks on the serving path

  /** etcd's isAdminPermitted, for admin services that do not go through Raft. */
  checkAdmin(ai: AuthInfo): void {
    this.applier.auth.checkAdmin(ai);
  }

  checkRange(ai: AuthInfo, key: Uint8Array, rangeEnd: Uint8Array | undefined): void {
    this.applier.auth.checkOp(ai, key, rangeEnd ?? EMPTY, 'read');
  }

  checkTxn(ai: AuthInfo, txn: TxnRequest): void {
    if (this.applier.auth.isEnabled()) checkTxnPermission(this.applier.auth, ai, txn);
  }

  /** etcd's isWatchPermitted: READ on the whole watched range. */
  watchPermitted(ai: AuthInfo, key: Uint8Array, rangeEnd: Uint8Array | undefined): boolean {
    return this.applier.auth.permits(ai, key, rangeEnd ?? EMPTY, 'read');
  }

  /** WRITE on every key attached to the lease. */
  checkLeaseRevoke(ai: AuthInfo, id: bigint): void {
    if (this.applier.auth.isEnabled()) checkLeasePermission(this.applier.auth, this.applier.lessor, ai, id);
  }

  /** LeaseRevoke proposed as the caller, so the applier checks the attached keys at apply. */
  async leaseRevoke(ai: AuthInfo, id: bigint): Promise<{ revision: number }> {
    return (await this.propose({ leaseRevoke: { id }, header: requestHeader(ai) })) as { revision: number };
  }

  // ---------------------------------------------------------------- the Auth service

  async authenticate(name: string, password: string): Promise<{ token: string }> {
    await awaitNode(this.clock, this.options.requestTimeoutMs, this.node.linearizableBarrier());
    for (let attempt = 1; ; attempt++) {
      const auth = this.applier.auth;
      if (!auth.isEnabled()) throw etcdError('AuthNotEnabled');
      const user = auth.getUser(name);
      if (user === undefined) throw etcdError('AuthFailed');
      // etcd 3.4's CheckPassword answers a no-password user with an error outside its table,
      // which gRPC sends as UNKNOWN with the Go error's text.
      if (user.noPassword) throw new EtcdError(GrpcCode.UNKNOWN, 'auth: authentication failed, password was given for no password user');
      const checkedRevision = auth.revision();
      if (!(await this.options.hasher.compare(password, user.passwordHash))) throw etcdError('AuthFailed');
      const prefix = genSimpleTokenPrefix(this.options.rand);
      const response = (await this.propose({ auth: { authenticate: { name, simpleTokenPrefix: prefix } } })) as AuthResponse;
      // A password change (or any auth change) while bcrypt ran: check again, as etcd does.
      if (checkedRevision === this.applier.auth.revision() || attempt >= AUTHENTICATE_ATTEMPTS) {
        if (response.kind !== 'token') throw etcdError('AuthFailed');
        return { token: response.token };
      }
    }
  }

  /** AuthStatus (etcd 3.5): served locally after a ReadIndex barrier. */
  async status(): Promise<{ enabled: boolean; authRevision: number }> {
    await awaitNode(this.clock, this.options.requestTimeoutMs, this.node.linearizableBarrier());
    return { enabled: this.applier.auth.isEnabled(), authRevision: this.applier.auth.revision() };
  }

  async userAdd(ai: AuthInfo, name: string, password: string, noPassword: boolean): Promise<AuthResponse> {
    // etcd checks the name before hashing (no bcrypt for a request refused anyway).
    if (name.length === 0) throw etcdError('UserEmpty');
    const passwordHash = noPassword ? '' : await this.options.hasher.hash(password);
    return this.admin(ai, { userAdd: { name, passwordHash, noPassword } });
  }

  async userChangePassword(ai: AuthInfo, name: string, password: string): Promise<AuthResponse> {
    const passwordHash = await this.options.hasher.hash(password);
    return this.admin(ai, { userChangePassword: { name, passwordHash } });
  }

  /** Any other admin request, proposed as the caller and checked at apply. */
  async admin(ai: AuthInfo, request: AuthRequest): Promise<AuthResponse> {
    return (await this.propose({ auth: request, header: requestHeader(ai) })) as AuthResponse;
  }

  async roleGet(ai: AuthInfo, role: string): Promise<readonly Permission[]> {
    const response = await this.admin(ai, { roleGet: { role } });
    return response.kind === 'perms' ? response.perms : [];
  }

  private async propose(request: InternalRequest): Promise<unknown> {
    const result = await awaitNode(this.clock, this.options.requestTimeoutMs, this.node.propose(encodePayload(request)));
    if (!result.ok) throw new EtcdError(result.error.code, result.error.message);
    return result.response;
  }
}

/**
 * Runs a request as the credential `resolve` yields; a simple token stands for its user at the
 * current revision, so a read that lost a race with an auth change is retried with a fresh
 * credential, as etcd's doSerialize does. A JWT keeps its revision: the retry fails the same way.
 */
export function withCredential<T>(resolve: () => AuthInfo, work: (ai: AuthInfo) => Promise<T>, attempt = 1): Promise<T> {
  // Written with then() rather than as an async loop: every linearizable read comes through here.
  let ai: AuthInfo;
  let pending: Promise<T>;
  try {
    ai = resolve();
    pending = work(ai);
  } catch (error) {
    return Promise.reject(error);
  }
  return pending.catch((error: unknown) => {
    if (!isEtcdError(error, 'AuthOldRevision') || attempt >= 3) throw error;
    if (resolve().revision === ai.revision) throw error;
    return withCredential(resolve, work, attempt + 1);
  });
}
