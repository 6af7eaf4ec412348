/**
 * src/auth: etcd's users, roles and permissions, deterministic and transport-free.
 * - AuthStore: the replicated state (applied by src/apply), permission and admin checks.
 * - TokenProvider: SimpleTokenProvider (etcd's "simple" tokens) and JwtTokenProvider over an
 *   injected TokenSigner; PasswordHasher is the bcrypt seam (real ones live in src/env/node).
 * - TLS client certificates: with --client-cert-auth and auth enabled, a request that carries no
 *   token runs as the user named by its certificate's common name (etcd's AuthInfoFromTLS).
 *   The TLS layer calls `authInfoFromCommonName(store, cn)` (or AuthApi.authInfoFromCommonName
 *   in src/api) and hands the result to the services as it would a token's AuthInfo.
 */
export { AuthStore, ROOT_USER, ROOT_ROLE, goStringCompare, authInfoFromCommonName } from './store.js';
export type { AuthPersistence, AuthListener } from './store.js';
export { isRangePermitted, OPEN_RANGE_END } from './perms.js';
export { PermissionType } from './types.js';
export type { AuthInfo, AuthRequest, AuthResponse, Permission, PermissionTypeNumber, Role, User } from './types.js';
export { SimpleTokenProvider, JwtTokenProvider, genSimpleTokenPrefix, DEFAULT_TOKEN_TTL_MS, parseAuthTokenOption, AuthTokenOptionError } from './tokens.js';
export type { TokenProvider, TokenSigner, AuthTokenOptions } from './tokens.js';
export { insecureFakeHasher, fakeTokenSigner } from './hasher.js';
export type { PasswordHasher } from './hasher.js';
