import { describe, expect, it } from 'vitest';
import { PermissionType, ROOT_ROLE, ROOT_USER } from '../../src/auth/index.js';
import type { AuthInfo } from '../../src/auth/index.js';
import { Applier } from '../../src/apply/index.js';
import { utf8 } from '../../src/util/index.js';
import { ApplierHarness, errorOf } from './helpers.js';

const E = {
  userEmpty: 'etcdserver: user name is empty',
  userExists: 'etcdserver: user name already exists',
  userNotFound: 'etcdserver: user name not found',
  roleExists: 'etcdserver: role name already exists',
  roleNotFound: 'etcdserver: role name not found',
  roleEmpty: 'etcdserver: role name is empty',
  rootUser: 'etcdserver: root user does not exist',
  rootRole: 'etcdserver: root user does not have root role',
  denied: 'etcdserver: permission denied',
  mgmt: 'etcdserver: invalid auth management',
  notGranted: 'etcdserver: role is not granted to the user',
  permNotGranted: 'etcdserver: permission is not granted to the role',
  old: 'etcdserver: revision of auth store is old',
  notEnabled: 'etcdserver: authentication is not enabled',
  authFailed: 'etcdserver: authentication failed, invalid user ID or password',
};

function withRoot(h: ApplierHarness): AuthInfo {
  h.must({ userAdd: { name: ROOT_USER, passwordHash: 'h', noPassword: false } });
  h.must({ roleAdd: { name: ROOT_ROLE } });
  h.must({ userGrantRole: { user: ROOT_USER, role: ROOT_ROLE } });
  h.must({ authEnable: {} });
  return { username: ROOT_USER, revision: h.applier.auth.revision() };
}

describe('auth store through the applier (etcd 3.4 semantics)', () => {
  it('auth enable needs the root user with the root role; disabled auth checks nothing', () => {
    const h = new ApplierHarness();
    expect(errorOf(h.admin({ authEnable: {} }))).toBe(E.rootUser);
    h.must({ userAdd: { name: 'root', passwordHash: 'h', noPassword: false } });
    expect(errorOf(h.admin({ authEnable: {} }))).toBe(E.rootRole);
    // root can be granted before the role exists, as in etcd
    h.must({ userGrantRole: { user: 'root', role: 'root' } });
    expect(h.applier.auth.isEnabled()).toBe(false);
    // A put with an empty credential goes through while auth is off.
    expect(h.apply({ put: { key: utf8('k'), value: utf8('v') }, header: { username: '', authRevision: 0 } }).ok).toBe(true);
    h.must({ authEnable: {} });
    expect(h.applier.auth.isEnabled()).toBe(true);
    expect(errorOf(h.apply({ put: { key: utf8('k'), value: utf8('v') }, header: { username: '', authRevision: 0 } }))).toBe(E.userEmpty);
  });

  it('user and role management answers etcd errors byte for byte', () => {
    const h = new ApplierHarness();
    expect(errorOf(h.admin({ userAdd: { name: '', passwordHash: 'x', noPassword: false } }))).toBe(E.userEmpty);
    h.must({ userAdd: { name: 'alice', passwordHash: 'x', noPassword: false } });
    expect(errorOf(h.admin({ userAdd: { name: 'alice', passwordHash: 'x', noPassword: false } }))).toBe(E.userExists);
    expect(errorOf(h.admin({ roleAdd: { name: '' } }))).toBe(E.roleEmpty);
    h.must({ roleAdd: { name: 'r' } });
    expect(errorOf(h.admin({ roleAdd: { name: 'r' } }))).toBe(E.roleExists);
    expect(errorOf(h.admin({ userGrantRole: { user: 'bob', role: 'r' } }))).toBe(E.userNotFound);
    expect(errorOf(h.admin({ userGrantRole: { user: 'alice', role: 'nope' } }))).toBe(E.roleNotFound);
    expect(errorOf(h.admin({ userRevokeRole: { name: 'alice', role: 'r' } }))).toBe(E.notGranted);
    h.must({ userGrantRole: { user: 'alice', role: 'r' } });
    h.must({ userGrantRole: { user: 'alice', role: 'r' } }); // a second grant is ignored
    expect(h.must({ userGet: { name: 'alice' } })).toEqual({ kind: 'roles', roles: ['r'] });
    expect(errorOf(h.admin({ roleRevokePermission: { role: 'r', key: utf8('a'), rangeEnd: new Uint8Array(0) } }))).toBe(E.permNotGranted);
    h.must({ roleGrantPermission: { name: 'r', perm: { key: utf8('b'), rangeEnd: new Uint8Array(0), permType: PermissionType.READ } } });
    h.must({ roleGrantPermission: { name: 'r', perm: { key: utf8('a'), rangeEnd: utf8('c'), permType: PermissionType.WRITE } } });
    h.must({ roleGrantPermission: { name: 'r', perm: { key: utf8('b'), rangeEnd: new Uint8Array(0), permType: PermissionType.READWRITE } } });
    const perms = h.must({ roleGet: { role: 'r' } }) as { perms: Array<{ key: Uint8Array; permType: number }> };
    expect(perms.perms.map((p) => [Buffer.from(p.key).toString(), p.permType])).toEqual([['a', 1], ['b', 2]]);
    expect(h.must({ userList: {} })).toEqual({ kind: 'names', names: ['alice'] });
    h.must({ roleDelete: { role: 'r' } });
    expect(h.must({ userGet: { name: 'alice' } })).toEqual({ kind: 'roles', roles: [] });
    expect(errorOf(h.admin({ roleGet: { role: 'r' } }))).toBe(E.roleNotFound);
  });

  it('refuses to take root away while auth is enabled; admin requests need the root role', () => {
    const h = new ApplierHarness();
    const root = withRoot(h);
    expect(errorOf(h.admin({ userDelete: { name: 'root' } }, root))).toBe(E.mgmt);
    expect(errorOf(h.admin({ userRevokeRole: { name: 'root', role: 'root' } }, root))).toBe(E.mgmt);
    expect(errorOf(h.admin({ roleDelete: { role: 'root' } }, root))).toBe(E.mgmt);
    h.must({ userAdd: { name: 'alice', passwordHash: 'x', noPassword: false } }, root);
    const alice = { username: 'alice', revision: h.applier.auth.revision() };
    expect(errorOf(h.admin({ userList: {} }, alice))).toBe(E.denied);
    expect(errorOf(h.admin({ userList: {} }, { username: '', revision: 0 }))).toBe(E.userEmpty);
    expect(errorOf(h.admin({ userList: {} }, { username: 'ghost', revision: 99 }))).toBe(E.userNotFound);
    // a user may read itself, and a role it holds
    expect(h.admin({ userGet: { name: 'alice' } }, alice).ok).toBe(true);
    expect(errorOf(h.admin({ userGet: { name: 'root' } }, alice))).toBe(E.denied);
  });

  it('every change bumps the auth revision and an older credential is refused at apply', () => {
    const h = new ApplierHarness();
    const root = withRoot(h);
    h.must({ userAdd: { name: 'alice', passwordHash: 'x', noPassword: false } }, root);
    h.must({ roleAdd: { name: 'rw' } }, root);
    h.must({ roleGrantPermission: { name: 'rw', perm: { key: utf8('k'), rangeEnd: new Uint8Array(0), permType: PermissionType.READWRITE } } }, root);
    h.must({ userGrantRole: { user: 'alice', role: 'rw' } }, root);
    const rev = h.applier.auth.revision();
    const alice = { username: 'alice', authRevision: rev };
    expect(h.apply({ put: { key: utf8('k'), value: utf8('1') }, header: alice }).ok).toBe(true);
    expect(errorOf(h.apply({ put: { key: utf8('other'), value: utf8('1') }, header: alice }))).toBe(E.denied);
    h.must({ roleRevokePermission: { role: 'rw', key: utf8('k'), rangeEnd: new Uint8Array(0) } }, { username: 'root', revision: h.applier.auth.revision() });
    expect(h.applier.auth.revision()).toBe(rev + 1);
    const storeRev = h.applier.store.rev();
    expect(errorOf(h.apply({ put: { key: utf8('k'), value: utf8('2') }, header: alice }))).toBe(E.old);
    expect(errorOf(h.apply({ put: { key: utf8('k'), value: utf8('2') }, header: { ...alice, authRevision: rev + 1 } }))).toBe(E.denied);
    expect(h.applier.store.rev()).toBe(storeRev);
  });

  it('the state survives a restart on the same backend and rides in a snapshot', () => {
    const h = new ApplierHarness();
    const root = withRoot(h);
    h.must({ roleAdd: { name: 'reader' } }, root);
    const again = new Applier(h.backend, { clock: h.clock });
    expect(again.auth.isEnabled()).toBe(true);
    expect(again.auth.roleList()).toEqual(['reader', 'root']);
    expect(again.auth.revision()).toBe(h.applier.auth.revision());
    const snap = h.applier.snapshot();
    const other = new ApplierHarness();
    other.applier.restore(h.lastIndex(), 1, snap);
    expect(other.applier.auth.isEnabled()).toBe(true);
    expect(other.applier.auth.userList()).toEqual(['root']);
  });

  it('authenticate assigns <prefix>.<index> tokens that every member resolves; password change and disable end them', () => {
    const h = new ApplierHarness();
    expect(errorOf(h.admin({ authenticate: { name: 'root', simpleTokenPrefix: 'abc' } }))).toBe(E.notEnabled);
    const root = withRoot(h);
    h.must({ userAdd: { name: 'nopw', passwordHash: '', noPassword: true } }, root);
    expect(errorOf(h.admin({ authenticate: { name: 'nopw', simpleTokenPrefix: 'abc' } }))).toBe(E.authFailed);
    expect(errorOf(h.admin({ authenticate: { name: 'ghost', simpleTokenPrefix: 'abc' } }))).toBe(E.authFailed);
    const r = h.must({ authenticate: { name: 'root', simpleTokenPrefix: 'abcdefghijklmnop' } }) as { token: string };
    expect(r.token).toBe(`abcdefghijklmnop.${h.lastIndex()}`);
    const rev = h.applier.auth.revision();
    expect(h.applier.tokens.info(r.token, rev, h.clock.nowMs())).toEqual({ username: 'root', revision: rev });
    // the TTL restarts at each use: 4 minutes, 4 minutes, then 6 minutes of silence ends it
    h.clock.advance(240_000);
    expect(h.applier.tokens.info(r.token, rev, h.clock.nowMs())).toBeDefined();
    h.clock.advance(240_000);
    expect(h.applier.tokens.info(r.token, rev, h.clock.nowMs())).toBeDefined();
    h.clock.advance(360_000);
    expect(h.applier.tokens.info(r.token, rev, h.clock.nowMs())).toBeUndefined();
    const t2 = (h.must({ authenticate: { name: 'root', simpleTokenPrefix: 'x' } }) as { token: string }).token;
    h.must({ userChangePassword: { name: 'root', passwordHash: 'new' } }, { username: 'root', revision: h.applier.auth.revision() });
    expect(h.applier.tokens.info(t2, h.applier.auth.revision(), h.clock.nowMs())).toBeUndefined();
    const t3 = (h.must({ authenticate: { name: 'root', simpleTokenPrefix: 'y' } }) as { token: string }).token;
    h.must({ authDisable: {} }, { username: 'root', revision: h.applier.auth.revision() });
    expect(h.applier.tokens.info(t3, h.applier.auth.revision(), h.clock.nowMs())).toBeUndefined();
  });

  it('lease revoke needs WRITE on every attached key; internal revokes (expiry) are not checked', () => {
    const h = new ApplierHarness();
    h.must({ userAdd: { name: 'alice', passwordHash: 'x', noPassword: false } });
    h.must({ roleAdd: { name: 'w' } });
    h.must({ roleGrantPermission: { name: 'w', perm: { key: utf8('a'), rangeEnd: utf8('b'), permType: PermissionType.WRITE } } });
    h.must({ userGrantRole: { user: 'alice', role: 'w' } });
    withRoot(h);
    const alice = { username: 'alice', authRevision: h.applier.auth.revision() };
    expect(h.apply({ leaseGrant: { id: 7n, ttlSeconds: 60 } }).ok).toBe(true);
    expect(h.apply({ put: { key: utf8('a1'), value: utf8('v'), lease: 7n }, header: alice }).ok).toBe(true);
    expect(h.apply({ put: { key: utf8('z'), value: utf8('v'), lease: 7n }, header: { username: 'root', authRevision: alice.authRevision } }).ok).toBe(true);
    // alice may not attach more keys to a lease holding a key she cannot write
    expect(errorOf(h.apply({ put: { key: utf8('a2'), value: utf8('v'), lease: 7n }, header: alice }))).toBe(E.denied);
    expect(errorOf(h.apply({ leaseRevoke: { id: 7n }, header: alice }))).toBe(E.denied);
    expect(h.applier.lessor.has(7n)).toBe(true);
    expect(h.apply({ leaseRevoke: { id: 7n } }).ok).toBe(true);
    expect(h.applier.lessor.has(7n)).toBe(false);
  });
});

describe('a token provider that cannot sign', () => {
  it('answers Authenticate with an error instead of stopping the member', () => {
    const failing = {
      assign(): string {
        throw new Error('no private key');
      },
      info: () => undefined,
      invalidateUser: () => undefined,
      enable: () => undefined,
      disable: () => undefined,
    };
    const h = new ApplierHarness((backend, clock) => new Applier(backend, { clock, tokenProvider: failing }));
    withRoot(h);
    expect(errorOf(h.admin({ authenticate: { name: 'root', simpleTokenPrefix: 'p' } }))).toBe('auth: token signing attempted with verify-only key');
    expect(h.apply({ put: { key: utf8('k'), value: utf8('v') }, header: { username: 'root', authRevision: h.applier.auth.revision() } }).ok).toBe(true);
  });
});
