/** authpb.Permission.Type: the numbers are the wire enum's. */
export const PermissionType = { READ: 0, WRITE: 1, READWRITE: 2 } as const;
export type PermissionTypeNumber = (typeof PermissionType)[keyof typeof PermissionType];

/**
 * A role's permission on a key (rangeEnd empty), a range [key, rangeEnd), or every key from
 * `key` on (rangeEnd = "\0"), as etcd's authpb.Permission.
 */
export interface Permission {
  readonly key: Uint8Array;
  readonly rangeEnd: Uint8Array;
  readonly permType: PermissionTypeNumber;
}

export interface User {
  readonly name: string;
  /** The bcrypt hash ("" for a user added with no_password). */
  readonly passwordHash: string;
  /** Sorted, as etcd keeps them (it binary-searches for "root"). */
  readonly roles: readonly string[];
  readonly noPassword: boolean;
}

export interface Role {
  readonly name: string;
  /** Sorted by key (stable for equal keys), as etcd keeps them. */
  readonly permissions: readonly Permission[];
}

/**
 * Who a request runs as: the user and the auth revision its credential was checked at.
 * Revision 0 means "no credential" (etcd's empty AuthInfo).
 */
export interface AuthInfo {
  readonly username: string;
  readonly revision: number;
}

/** What an Authenticate or admin change carries through Raft (never a plaintext password). */
export type AuthRequest =
  | { readonly authEnable: Record<string, never> }
  | { readonly authDisable: Record<string, never> }
  | { readonly authenticate: { readonly name: string; readonly simpleTokenPrefix: string } }
  | { readonly userAdd: { readonly name: string; readonly passwordHash: string; readonly noPassword: boolean } }
  | { readonly userDelete: { readonly name: string } }
  | { readonly userChangePassword: { readonly name: string; readonly passwordHash: string } }
  | { readonly userGrantRole: { readonly user: string; readonly role: string } }
  | { readonly userRevokeRole: { readonly name: string; readonly role: string } }
  | { readonly userGet: { readonly name: string } }
  | { readonly userList: Record<string, never> }
  | { readonly roleAdd: { readonly name: string } }
  | { readonly roleGet: { readonly role: string } }
  | { readonly roleList: Record<string, never> }
  | { readonly roleDelete: { readonly role: string } }
  | { readonly roleGrantPermission: { readonly name: string; readonly perm: Permission } }
  | { readonly roleRevokePermission: { readonly role: string; readonly key: Uint8Array; readonly rangeEnd: Uint8Array } };

/** Responses of the applied auth requests (the API adds headers). */
export type AuthResponse =
  | { readonly kind: 'empty' }
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'roles'; readonly roles: readonly string[] }
  | { readonly kind: 'names'; readonly names: readonly string[] }
  | { readonly kind: 'perms'; readonly perms: readonly Permission[] };
