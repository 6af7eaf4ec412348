import { EtcdError, etcdError } from '../api/errors.js';
import { assert } from '../util/assert.js';
import { bytesEqual, compareBytes, fromBase64, fromUtf8, toBase64, utf8 } from '../util/bytes.js';
import { isRangePermitted } from './perms.js';
import type { AuthInfo, Permission, PermissionTypeNumber, Role, User } from './types.js';

export const ROOT_USER = 'root';
export const ROOT_ROLE = 'root';

/** Where the store keeps its state: the MVCC backend's meta bucket, so LMDB and snapshots carry it. */
export interface AuthPersistence {
  get(key: Uint8Array): Uint8Array | undefined;
  put(key: Uint8Array, value: Uint8Array): void;
}

/** Told about changes that end credentials (etcd's tokenProvider.invalidateUser / disable). */
export interface AuthListener {
  invalidateUser(name: string): void;
  enabled(): void;
  disabled(): void;
}

interface StoredState {
  enabled: boolean;
  revision: number;
  users: Array<{ name: string; passwordHash: string; roles: string[]; noPassword: boolean }>;
  roles: Array<{ name: string; permissions: Array<{ key: string; rangeEnd: string; permType: PermissionTypeNumber }> }>;
}

const STATE_KEY = utf8('auth/state');

/**
 * etcd's auth store (auth/store.go), deterministic: every member applies the same admin requests
 * in log order to the same state. Every change bumps the auth revision (AuthEnable does not, as
 * in etcd); the state is written whole to one meta key at each change, in the applied entry's
 * batch, so a crash or a snapshot never splits it. Admin changes are rare, so one key is cheap.
 */
export class AuthStore {
  private enabledFlag = false;
  private rev = 1;
  private users = new Map<string, User>();
  private roles = new Map<string, Role>();
  private listener: AuthListener | undefined;

  constructor(private readonly persistence: AuthPersistence) {
    this.reload();
  }

  setListener(listener: AuthListener): void {
    this.listener = listener;
  }

  /** Re-reads the state (start-up, or after a snapshot replaced the backend). */
  reload(): void {
    const bytes = this.persistence.get(STATE_KEY);
    this.users = new Map();
    this.roles = new Map();
    if (bytes === undefined) {
      this.enabledFlag = false;
      this.rev = 1;
      return;
    }
    const s = JSON.parse(fromUtf8(bytes)) as StoredState;
    this.enabledFlag = s.enabled;
    this.rev = s.revision;
    for (const u of s.users) this.users.set(u.name, { ...u });
    for (const r of s.roles) {
      const permissions = r.permissions.map((p) => ({ key: fromBase64(p.key), rangeEnd: fromBase64(p.rangeEnd), permType: p.permType }));
      this.roles.set(r.name, { name: r.name, permissions });
    }
    assert(this.rev >= 1, () => `auth revision ${this.rev} below 1`);
  }

  isEnabled(): boolean {
    return this.enabledFlag;
  }

  revision(): number {
    return this.rev;
  }

  getUser(name: string): User | undefined {
    return this.users.get(name);
  }

  getRole(name: string): Role | undefined {
    return this.roles.get(name);
  }

  // ---------------------------------------------------------------- admin changes

  authEnable(): void {
    if (this.enabledFlag) return;
    const root = this.users.get(ROOT_USER);
    if (root === undefined) throw etcdError('RootUserNotExist');
    if (!root.roles.includes(ROOT_ROLE)) throw etcdError('RootRoleNotExist');
    this.enabledFlag = true;
    this.save(false);
    this.listener?.enabled();
  }

  authDisable(): void {
    if (!this.enabledFlag) return;
    this.enabledFlag = false;
    this.save(true);
    this.listener?.disabled();
  }

  userAdd(name: string, passwordHash: string, noPassword: boolean): void {
    if (name.length === 0) throw etcdError('UserEmpty');
    if (this.users.has(name)) throw etcdError('UserAlreadyExist');
    this.users.set(name, { name, passwordHash: noPassword ? '' : passwordHash, roles: [], noPassword });
    this.save(true);
  }

  userDelete(name: string): void {
    if (this.enabledFlag && name === ROOT_USER) throw etcdError('InvalidAuthMgmt');
    if (!this.users.delete(name)) throw etcdError('UserNotFound');
    this.save(true);
    this.listener?.invalidateUser(name);
  }

  userChangePassword(name: string, passwordHash: string): void {
    const user = this.users.get(name);
    if (user === undefined) throw etcdError('UserNotFound');
    this.users.set(name, { ...user, passwordHash });
    this.save(true);
    this.listener?.invalidateUser(name);
  }

  userGrantRole(name: string, role: string): void {
    const user = this.users.get(name);
    if (user === undefined) throw etcdError('UserNotFound');
    // etcd lets "root" be granted before the root role exists.
    if (role !== ROOT_ROLE && !this.roles.has(role)) throw etcdError('RoleNotFound');
    if (user.roles.includes(role)) return;
    this.users.set(name, { ...user, roles: [...user.roles, role].sort(goStringCompare) });
    this.save(true);
  }

  userRevokeRole(name: string, role: string): void {
    if (this.enabledFlag && name === ROOT_USER && role === ROOT_ROLE) throw etcdError('InvalidAuthMgmt');
    const user = this.users.get(name);
    if (user === undefined) throw etcdError('UserNotFound');
    const roles = user.roles.filter((r) => r !== role);
    if (roles.length === user.roles.length) throw etcdError('RoleNotGranted');
    this.users.set(name, { ...user, roles });
    this.save(true);
  }

  userGet(name: string): readonly string[] {
    const user = this.users.get(name);
    if (user === undefined) throw etcdError('UserNotFound');
    return user.roles;
  }

  userList(): string[] {
    return [...this.users.keys()].sort(goStringCompare);
  }

  roleAdd(name: string): void {
    if (name.length === 0) throw etcdError('RoleEmpty');
    if (this.roles.has(name)) throw etcdError('RoleAlreadyExist');
    this.roles.set(name, { name, permissions: [] });
    this.save(true);
  }

  roleGet(name: string): readonly Permission[] {
    const role = this.roles.get(name);
    if (role === undefined) throw etcdError('RoleNotFound');
    return role.permissions;
  }

  roleList(): string[] {
    return [...this.roles.keys()].sort(goStringCompare);
  }

  roleDelete(name: string): void {
    if (this.enabledFlag && name === ROOT_ROLE) throw etcdError('InvalidAuthMgmt');
    if (!this.roles.delete(name)) throw etcdError('RoleNotFound');
    for (const user of this.users.values()) {
      if (user.roles.includes(name)) this.users.set(user.name, { ...user, roles: user.roles.filter((r) => r !== name) });
    }
    this.save(true);
  }

  roleGrantPermission(name: string, perm: Permission): void {
    const role = this.roles.get(name);
    if (role === undefined) throw etcdError('RoleNotFound');
    // etcd compares the grant with the FIRST permission on the same key only (a binary search by
    // key): a grant whose range end differs from that one is appended even if an equal one sits
    // further on, so duplicates survive and a revoke removes them all. Kept for identical answers.
    const first = role.permissions.findIndex((p) => compareBytes(p.key, perm.key) >= 0);
    const existing = first >= 0 ? role.permissions[first] : undefined;
    const updatesFirst = existing !== undefined && bytesEqual(existing.key, perm.key) && bytesEqual(existing.rangeEnd, perm.rangeEnd);
    const permissions = updatesFirst
      ? role.permissions.map((p, i) => (i === first ? { ...p, permType: perm.permType } : p))
      : [...role.permissions, { key: perm.key, rangeEnd: perm.rangeEnd, permType: perm.permType }].sort((a, b) => compareBytes(a.key, b.key));
    this.roles.set(name, { name, permissions });
    this.save(true);
  }

  roleRevokePermission(name: string, key: Uint8Array, rangeEnd: Uint8Array): void {
    const role = this.roles.get(name);
    if (role === undefined) throw etcdError('RoleNotFound');
    const permissions = role.permissions.filter((p) => !bytesEqual(p.key, key) || !bytesEqual(p.rangeEnd, rangeEnd));
    if (permissions.length === role.permissions.length) throw etcdError('PermissionNotGranted');
    this.roles.set(name, { name, permissions });
    this.save(true);
  }

  // ---------------------------------------------------------------- permission checks

  hasRole(name: string, role: string): boolean {
    return this.users.get(name)?.roles.includes(role) ?? false;
  }

  /**
   * etcd's isOpPermitted: nothing is checked while auth is off; no credential = "user name is
   * empty"; a credential from before the last auth change = "revision of auth store is old";
   * an unknown user or a missing permission = "permission denied"; role root may do anything.
   */
  checkOp(info: AuthInfo | undefined, key: Uint8Array, rangeEnd: Uint8Array, kind: 'read' | 'write'): void {
    if (!this.enabledFlag) return;
    if (info === undefined || info.revision === 0) throw etcdError('UserEmpty');
    if (info.revision < this.rev) throw etcdError('AuthOldRevision');
    const user = this.users.get(info.username);
    if (user === undefined) throw etcdError('PermissionDenied');
    if (user.roles.includes(ROOT_ROLE)) return;
    if (!isRangePermitted(this.permissionsOf(user), key, rangeEnd, kind)) throw etcdError('PermissionDenied');
  }

  /** etcd's IsAdminPermitted (which looks at the user, not the revision). */
  checkAdmin(info: AuthInfo | undefined): void {
    if (!this.enabledFlag) return;
    if (info === undefined || info.username === '') throw etcdError('UserEmpty');
    const user = this.users.get(info.username);
    if (user === undefined) throw etcdError('UserNotFound');
    if (!user.roles.includes(ROOT_ROLE)) throw etcdError('PermissionDenied');
  }

  /** Whether the check passes, without the error (watch creation answers with a cancel instead). */
  permits(info: AuthInfo | undefined, key: Uint8Array, rangeEnd: Uint8Array, kind: 'read' | 'write'): boolean {
    try {
      this.checkOp(info, key, rangeEnd, kind);
      return true;
    } catch (error) {
      if (error instanceof EtcdError) return false;
      throw error;
    }
  }

  private permissionsOf(user: User): Permission[] {
    const out: Permission[] = [];
    for (const name of user.roles) out.push(...(this.roles.get(name)?.permissions ?? []));
    return out;
  }

  private save(bumpRevision: boolean): void {
    if (bumpRevision) this.rev++;
    const state: StoredState = {
      enabled: this.enabledFlag,
      revision: this.rev,
      users: [...this.users.values()].map((u) => ({ name: u.name, passwordHash: u.passwordHash, roles: [...u.roles], noPassword: u.noPassword })),
      roles: [...this.roles.values()].map((r) => ({
        name: r.name,
        permissions: r.permissions.map((p) => ({ key: toBase64(p.key), rangeEnd: toBase64(p.rangeEnd), permType: p.permType })),
      })),
    };
    this.persistence.put(STATE_KEY, utf8(JSON.stringify(state)));
  }
}

/** Go's string order (byte-wise on UTF-8), which sort.Strings uses. */
export function goStringCompare(a: string, b: string): number {
  return compareBytes(utf8(a), utf8(b));
}

/**
 * A client certificate's common name as the request's user (etcd's AuthInfoFromTLS): checked at
 * the store's current revision, like a simple token. An empty name is no credential at all.
 */
export function authInfoFromCommonName(store: AuthStore, commonName: string): AuthInfo | undefined {
  if (commonName.length === 0) return undefined;
  return { username: commonName, revision: store.revision() };
}
