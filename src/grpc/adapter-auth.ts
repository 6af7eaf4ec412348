/**
 * The Auth service bound to the transport-free AuthApi, and the credential plumbing every other
 * service uses: a call's token (metadata "token" or "authorization") or its verified client
 * certificate's common name becomes the AuthInfo the API checks (etcd's AuthInfoFromCtx, then
 * AuthInfoFromTLS). Admin-only services outside Raft (Maintenance's Defragment, Snapshot, Hash,
 * HashKV and the Cluster changes) are checked here, as etcd's isAdminPermitted wrappers do.
 */
import { EtcdError, etcdError } from '../api/index.js';
import type { AuthApi } from '../api/index.js';
import type { AuthInfo, AuthResponse, Permission, PermissionTypeNumber } from '../auth/index.js';
import type * as pb from './generated/etcdserverpb.js';
import { GrpcCode } from './services.js';
import { RPCS } from './generated/services.js';
import type { RpcDescriptor } from './generated/services.js';
import type { CallContext, EtcdServices, GrpcStatusError } from './services.js';

type AuthServices = Pick<
  EtcdServices,
  | 'authEnable' | 'authDisable' | 'authStatus' | 'authenticate' | 'userAdd' | 'userGet' | 'userList' | 'userDelete'
  | 'userChangePassword' | 'userGrantRole' | 'userRevokeRole' | 'roleAdd' | 'roleGet' | 'roleList' | 'roleDelete'
  | 'roleGrantPermission' | 'roleRevokePermission'
>;

function asStatus(error: unknown): unknown {
  if (error instanceof EtcdError) return { grpcCode: error.code, message: error.message } satisfies GrpcStatusError;
  return error;
}

async function call<T>(work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asStatus(error);
  }
}

/** The call's credential; throws "invalid auth token" for a token that is not valid. */
export function credentialOf(auth: AuthApi, ctx: CallContext): AuthInfo {
  // certCommonName is filled by the TLS front door (--client-cert-auth); absent on plain TCP.
  const cn = (ctx as { readonly certCommonName?: string | undefined }).certCommonName;
  return auth.authInfo(ctx.authToken, cn);
}

const names = (r: AuthResponse): string[] => (r.kind === 'names' ? [...r.names] : []);

function toPermission(p: pb.AuthRoleGrantPermissionRequest['perm']): Permission {
  if (p === undefined) throw etcdError('PermissionNotGiven');
  return { key: p.key, rangeEnd: p.rangeEnd, permType: (p.permType <= 2 ? p.permType : 0) as PermissionTypeNumber };
}

export function bindAuth(auth: AuthApi, header: () => pb.ResponseHeaderInit): AuthServices {
  const admin = (ctx: CallContext, request: Parameters<AuthApi['admin']>[1]): Promise<AuthResponse> => auth.admin(credentialOf(auth, ctx), request);
  const done = async (work: Promise<unknown>): Promise<{ header: pb.ResponseHeaderInit }> => {
    await work;
    return { header: header() };
  };
  return {
    authEnable: (_r, ctx) => call(() => done(admin(ctx, { authEnable: {} }))),
    authDisable: (_r, ctx) => call(() => done(admin(ctx, { authDisable: {} }))),
    authStatus: () =>
      call(async () => {
        const s = await auth.status();
        return { header: header(), enabled: s.enabled, authRevision: BigInt(s.authRevision) };
      }),
    authenticate: (r) => call(async () => ({ header: header(), token: (await auth.authenticate(r.name, r.password)).token })),
    userAdd: (r, ctx) =>
      call(() => {
        const noPassword = r.options?.noPassword === true;
        // A 3.5 client may send the bcrypt hash itself.
        if (r.hashedPassword.length > 0 && !noPassword) return done(admin(ctx, { userAdd: { name: r.name, passwordHash: r.hashedPassword, noPassword } }));
        return done(auth.userAdd(credentialOf(auth, ctx), r.name, r.password, noPassword));
      }),
    userChangePassword: (r, ctx) =>
      call(() => {
        if (r.hashedPassword.length > 0) return done(admin(ctx, { userChangePassword: { name: r.name, passwordHash: r.hashedPassword } }));
        return done(auth.userChangePassword(credentialOf(auth, ctx), r.name, r.password));
      }),
    userGet: (r, ctx) =>
      call(async () => {
        const res = await admin(ctx, { userGet: { name: r.name } });
        return { header: header(), roles: res.kind === 'roles' ? [...res.roles] : [] };
      }),
    userList: (_r, ctx) => call(async () => ({ header: header(), users: names(await admin(ctx, { userList: {} })) })),
    userDelete: (r, ctx) => call(() => done(admin(ctx, { userDelete: { name: r.name } }))),
    userGrantRole: (r, ctx) => call(() => done(admin(ctx, { userGrantRole: { user: r.user, role: r.role } }))),
    userRevokeRole: (r, ctx) => call(() => done(admin(ctx, { userRevokeRole: { name: r.name, role: r.role } }))),
    roleAdd: (r, ctx) => call(() => done(admin(ctx, { roleAdd: { name: r.name } }))),
    roleGet: (r, ctx) =>
      call(async () => {
        const perms = await auth.roleGet(credentialOf(auth, ctx), r.role);
        return { header: header(), perm: perms.map((p) => ({ permType: p.permType, key: p.key, rangeEnd: p.rangeEnd })) };
      }),
    roleList: (_r, ctx) => call(async () => ({ header: header(), roles: names(await admin(ctx, { roleList: {} })) })),
    roleDelete: (r, ctx) => call(() => done(admin(ctx, { roleDelete: { role: r.role } }))),
    roleGrantPermission: (r, ctx) => call(() => done(admin(ctx, { roleGrantPermission: { name: r.name, perm: toPermission(r.perm) } }))),
    roleRevokePermission: (r, ctx) => call(() => done(admin(ctx, { roleRevokePermission: { role: r.role, key: r.key, rangeEnd: r.rangeEnd } }))),
  };
}

/**
 * Every RPC first waits, if its simple token names a Raft index this member has not applied yet,
 * until it has (a client that logged in through another member comes here next).
 */
export function awaitTokens(services: EtcdServices, auth: AuthApi): EtcdServices {
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(services) as Array<[string, (...args: unknown[]) => Promise<unknown>]>) {
    const waiting = async (args: unknown[], ctx: CallContext): Promise<unknown> => {
      await auth.awaitToken(ctx.authToken);
      return inner(...args);
    };
    // Most calls carry no token: they skip the extra async frame. Fixed arities (server streams
    // take request, sink, ctx; the rest two arguments): no rest-argument array per call.
    const d = (RPCS as Record<string, RpcDescriptor | undefined>)[key];
    if (d !== undefined && d.responseStream && !d.requestStream) {
      out[key] = (a: unknown, b: unknown, ctx: CallContext): Promise<unknown> => (ctx.authToken === undefined ? inner(a, b, ctx) : waiting([a, b, ctx], ctx));
    } else if (d !== undefined) {
      out[key] = (a: unknown, ctx: CallContext): Promise<unknown> => (ctx.authToken === undefined ? inner(a, ctx) : waiting([a, ctx], ctx));
    } else {
      out[key] = (...args: unknown[]): Promise<unknown> => {
        const ctx = args[args.length - 1] as CallContext;
        return ctx.authToken === undefined ? inner(...args) : waiting(args, ctx);
      };
    }
  }
  return out as unknown as EtcdServices;
}

/** The services etcd serves only to a user with the root role once auth is on. */
const ADMIN_ONLY = ['defragment', 'hash', 'hashKV', 'snapshot', 'memberAdd', 'memberRemove', 'memberUpdate', 'memberPromote'] as const;

const MAINTENANCE_ONLY: ReadonlySet<string> = new Set(['defragment', 'hash', 'hashKV', 'snapshot']);

/**
 * etcd 3.4's maintenance wrapper returns the auth package's own errors untranslated, so gRPC
 * sends them as UNKNOWN with "auth: ..." text (measured: `etcdctl defrag` as a non-root user
 * prints "rpc error: code = Unknown desc = auth: permission denied"). Cluster changes translate.
 */
function maintenanceStatus(error: unknown): unknown {
  if (!(error instanceof EtcdError)) return error;
  const raw = error.message.replace(/^etcdserver: /, 'auth: ');
  return { grpcCode: GrpcCode.UNKNOWN, message: raw } satisfies GrpcStatusError;
}

/** Wraps the admin-only services with etcd's isAdminPermitted check. */
export function guardAdminServices(services: EtcdServices, auth: AuthApi): EtcdServices {
  const out: Record<string, unknown> = { ...services };
  for (const key of ADMIN_ONLY) {
    const inner = services[key] as (...args: unknown[]) => Promise<unknown>;
    out[key] = async (...args: unknown[]): Promise<unknown> => {
      const ctx = args[args.length - 1] as CallContext;
      try {
        auth.checkAdmin(credentialOf(auth, ctx));
      } catch (error) {
        throw MAINTENANCE_ONLY.has(key) ? maintenanceStatus(error) : asStatus(error);
      }
      return inner(...args);
    };
  }
  return out as unknown as EtcdServices;
}
