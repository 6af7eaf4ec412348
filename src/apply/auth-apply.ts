import { EtcdError, GrpcCode, etcdError } from '../api/errors.js';
import type { AuthInfo, AuthRequest, AuthResponse, AuthStore, TokenProvider } from '../auth/index.js';
import type { Lessor } from '../lease/index.js';
import type { DeleteRangeRequest, PutRequest, RequestOp, TxnRequest } from '../mvcc/index.js';
import type { InternalRequest, RequestHeader } from './requests.js';

const EMPTY = new Uint8Array(0);

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function authInfoOf(header: RequestHeader): AuthInfo {
  return { username: header.username, revision: header.authRevision };
}

/**
 * etcd's authApplierV3: a client's request is checked again when applied, against the auth
 * state in force at that point of the log, so a permission revoked (or a credential made old)
 * between the API's check and the apply wins. Requests without a header come from the server
 * itself (lease expiry, alarms, checkpoints) and are not checked, as etcd runs those as root.
 */
export function checkAppliedRequest(auth: AuthStore, lessor: Lessor, request: InternalRequest): void {
  const header = request.header;
  if (header === undefined || !auth.isEnabled()) return;
  const ai = authInfoOf(header);
  if ('put' in request) return checkPut(auth, lessor, ai, request.put);
  if ('deleteRange' in request) return checkDelete(auth, ai, request.deleteRange);
  if ('txn' in request) return checkTxn(auth, ai, request.txn);
  if ('leaseRevoke' in request) return checkLeaseKeys(auth, lessor, ai, request.leaseRevoke.id);
  if ('auth' in request) return checkAdminRequest(auth, ai, request.auth);
}

function checkPut(auth: AuthStore, lessor: Lessor, ai: AuthInfo, put: PutRequest): void {
  auth.checkOp(ai, put.key, EMPTY, 'write');
  // A lease already holding a key this user may not write could not be revoked by it, so it
  // may not attach more keys to it either (etcd's checkLeasePuts).
  if (put.lease !== undefined && put.lease !== 0n) checkLeaseKeys(auth, lessor, ai, put.lease);
  if (put.prevKv === true) auth.checkOp(ai, put.key, EMPTY, 'read');
}

function checkDelete(auth: AuthStore, ai: AuthInfo, del: DeleteRangeRequest): void {
  auth.checkOp(ai, del.key, del.rangeEnd ?? EMPTY, 'write');
  if (del.prevKv === true) auth.checkOp(ai, del.key, del.rangeEnd ?? EMPTY, 'read');
}

/** Every compare needs READ, and every op of BOTH branches is checked (nested txns too). */
export function checkTxn(auth: AuthStore, ai: AuthInfo | undefined, txn: TxnRequest): void {
  for (const c of txn.compare ?? []) auth.checkOp(ai, c.key, c.rangeEnd ?? EMPTY, 'read');
  for (const op of [...(txn.success ?? []), ...(txn.failure ?? [])]) checkOp(auth, ai, op);
}

function checkOp(auth: AuthStore, ai: AuthInfo | undefined, op: RequestOp): void {
  if ('requestRange' in op) auth.checkOp(ai, op.requestRange.key, op.requestRange.rangeEnd ?? EMPTY, 'read');
  else if ('requestPut' in op) auth.checkOp(ai, op.requestPut.key, EMPTY, 'write');
  else if ('requestDeleteRange' in op) {
    const d = op.requestDeleteRange;
    if (d.prevKv === true) auth.checkOp(ai, d.key, d.rangeEnd ?? EMPTY, 'read');
    auth.checkOp(ai, d.key, d.rangeEnd ?? EMPTY, 'write');
  } else if ('requestTxn' in op) checkTxn(auth, ai, op.requestTxn);
}

/** WRITE on every key attached to the lease (etcd's LeaseRevoke check). */
export function checkLeaseKeys(auth: AuthStore, lessor: Lessor, ai: AuthInfo, id: bigint): void {
  const lease = lessor.lookup(id);
  if (lease === undefined) return;
  for (const hex of lease.keys) auth.checkOp(ai, fromHex(hex), EMPTY, 'write');
}

/** etcd's needAdminPermission, with its exceptions: a user may get itself, and a role it has. */
function checkAdminRequest(auth: AuthStore, ai: AuthInfo, request: AuthRequest): void {
  if ('authenticate' in request) return;
  if ('userGet' in request) {
    if (request.userGet.name !== ai.username) auth.checkAdmin(ai);
    return;
  }
  if ('roleGet' in request) {
    if (!auth.hasRole(ai.username, request.roleGet.role)) auth.checkAdmin(ai);
    return;
  }
  auth.checkAdmin(ai);
}

const EMPTY_RESPONSE: AuthResponse = { kind: 'empty' };

/** Applies one auth request; throws EtcdError with etcd's answer when it is refused. */
export function applyAuthRequest(auth: AuthStore, tokens: TokenProvider, request: AuthRequest, at: { index: number; nowMs: number }): AuthResponse {
  if ('authenticate' in request) {
    if (!auth.isEnabled()) throw etcdError('AuthNotEnabled');
    const user = auth.getUser(request.authenticate.name);
    // The password was checked by the proposing member; here only whether the user still may log in.
    if (user === undefined || user.noPassword) throw etcdError('AuthFailed');
    let token: string;
    try {
      token = tokens.assign(user.name, auth.revision(), { prefix: request.authenticate.simpleTokenPrefix, index: at.index, nowMs: at.nowMs });
    } catch {
      // A JWT provider without a private key (etcd's verify-only mode) cannot sign: an answer, not a crash.
      throw new EtcdError(GrpcCode.UNKNOWN, 'auth: token signing attempted with verify-only key');
    }
    return { kind: 'token', token };
  }
  if ('authEnable' in request) auth.authEnable();
  else if ('authDisable' in request) auth.authDisable();
  else if ('userAdd' in request) auth.userAdd(request.userAdd.name, request.userAdd.passwordHash, request.userAdd.noPassword);
  else if ('userDelete' in request) auth.userDelete(request.userDelete.name);
  else if ('userChangePassword' in request) auth.userChangePassword(request.userChangePassword.name, request.userChangePassword.passwordHash);
  else if ('userGrantRole' in request) auth.userGrantRole(request.userGrantRole.user, request.userGrantRole.role);
  else if ('userRevokeRole' in request) auth.userRevokeRole(request.userRevokeRole.name, request.userRevokeRole.role);
  else if ('userGet' in request) return { kind: 'roles', roles: [...auth.userGet(request.userGet.name)] };
  else if ('userList' in request) return { kind: 'names', names: auth.userList() };
  else if ('roleAdd' in request) auth.roleAdd(request.roleAdd.name);
  else if ('roleGet' in request) return { kind: 'perms', perms: [...auth.roleGet(request.roleGet.role)] };
  else if ('roleList' in request) return { kind: 'names', names: auth.roleList() };
  else if ('roleDelete' in request) auth.roleDelete(request.roleDelete.role);
  else if ('roleGrantPermission' in request) auth.roleGrantPermission(request.roleGrantPermission.name, request.roleGrantPermission.perm);
  else if ('roleRevokePermission' in request) {
    const r = request.roleRevokePermission;
    auth.roleRevokePermission(r.role, r.key, r.rangeEnd);
  } else throw etcdError('NotCapable');
  return EMPTY_RESPONSE;
}
