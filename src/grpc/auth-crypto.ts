/**
 * The real implementations of src/auth's seams: bcrypt password hashes (bcryptjs, the same $2a$
 * format and cost as etcd's golang.org/x/crypto/bcrypt) and JWT signing and verification with
 * node:crypto, which src/auth may not touch (determinism rule). The simulator injects fakes.
 */
import { createHmac, createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { compare as bcryptCompare, hash as bcryptHash } from 'bcryptjs';
import type { PasswordHasher, TokenSigner } from '../auth/index.js';

/** etcd's default --bcrypt-cost (bcrypt.DefaultCost); 4..31 is bcrypt's valid range. */
export const DEFAULT_BCRYPT_COST = 10;

export function bcryptHasher(cost: number = DEFAULT_BCRYPT_COST): PasswordHasher {
  // etcd falls back to the default for a cost outside bcrypt's range.
  const rounds = Number.isInteger(cost) && cost >= 4 && cost <= 31 ? cost : DEFAULT_BCRYPT_COST;
  return {
    hash: (password) => bcryptHash(password, rounds),
    compare: async (password, hash) => {
      if (hash.length === 0) return false;
      try {
        return await bcryptCompare(password, hash);
      } catch {
        return false;
      }
    },
  };
}

type Family = 'RS' | 'PS' | 'ES' | 'HS';
const METHODS: Readonly<Record<string, { family: Family; hash: string }>> = {
  RS256: { family: 'RS', hash: 'sha256' }, RS384: { family: 'RS', hash: 'sha384' }, RS512: { family: 'RS', hash: 'sha512' },
  PS256: { family: 'PS', hash: 'sha256' }, PS384: { family: 'PS', hash: 'sha384' }, PS512: { family: 'PS', hash: 'sha512' },
  ES256: { family: 'ES', hash: 'sha256' }, ES384: { family: 'ES', hash: 'sha384' }, ES512: { family: 'ES', hash: 'sha512' },
  HS256: { family: 'HS', hash: 'sha256' }, HS384: { family: 'HS', hash: 'sha384' }, HS512: { family: 'HS', hash: 'sha512' },
};

export interface JwtOptions {
  readonly signMethod: string;
  /** PEM (RS/PS/ES) or the secret's bytes (HS). */
  readonly privateKey?: Uint8Array | string;
  readonly publicKey?: Uint8Array | string;
}

const b64url = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64url');

/** JWTs as etcd issues them: header {alg, typ}, claims {username, revision, exp (unix s)}. */
export function jwtSigner(options: JwtOptions): TokenSigner {
  const method = METHODS[options.signMethod];
  if (method === undefined) throw new Error(`unsupported JWT sign-method: ${options.signMethod}`);
  const secret = method.family === 'HS' ? Buffer.from(options.privateKey ?? options.publicKey ?? '') : undefined;
  if (secret !== undefined && secret.length === 0) throw new Error('HS JWT tokens need a key (priv-key)');
  const priv: KeyObject | undefined = method.family !== 'HS' && options.privateKey !== undefined ? createPrivateKey(Buffer.from(options.privateKey)) : undefined;
  const pub: KeyObject | undefined =
    method.family === 'HS' ? undefined : options.publicKey !== undefined ? createPublicKey(Buffer.from(options.publicKey)) : priv !== undefined ? createPublicKey(priv) : undefined;
  if (method.family !== 'HS' && pub === undefined) throw new Error('JWT tokens need pub-key or priv-key');
  const keyOpts = (key: KeyObject): Parameters<typeof cryptoSign>[2] =>
    method.family === 'PS' ? { key, padding: 6, saltLength: 32 } : method.family === 'ES' ? { key, dsaEncoding: 'ieee-p1363' } : key;
  const signBytes = (data: string): Buffer => {
    if (secret !== undefined) return createHmac(method.hash, secret).update(data).digest();
    if (priv === undefined) throw new Error('auth: token signing attempted with verify-only key');
    return cryptoSign(method.hash, Buffer.from(data), keyOpts(priv));
  };
  const headerPart = b64url(JSON.stringify({ alg: options.signMethod, typ: 'JWT' }));
  return {
    sign(claims, ttlMs) {
      const payload = b64url(JSON.stringify({ exp: Math.floor((Date.now() + ttlMs) / 1000), revision: claims.revision, username: claims.username }));
      const data = `${headerPart}.${payload}`;
      return `${data}.${b64url(signBytes(data))}`;
    },
    verify(token) {
      try {
        const parts = token.split('.');
        if (parts.length !== 3) return undefined;
        const [h, p, s] = parts as [string, string, string];
        const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { alg?: unknown };
        if (header.alg !== options.signMethod) return undefined;
        const data = Buffer.from(`${h}.${p}`);
        const sig = Buffer.from(s, 'base64url');
        const ok = secret !== undefined ? createHmac(method.hash, secret).update(data).digest().equals(sig) : pub !== undefined && cryptoVerify(method.hash, data, keyOpts(pub) as KeyObject, sig);
        if (!ok) return undefined;
        const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as { username?: unknown; revision?: unknown; exp?: unknown };
        if (typeof claims.username !== 'string' || typeof claims.revision !== 'number' || typeof claims.exp !== 'number') return undefined;
        if (Date.now() / 1000 >= claims.exp) return undefined;
        return { username: claims.username, revision: claims.revision };
      } catch {
        return undefined;
      }
    },
  };
}

/** --auth-token jwt options (pub-key / priv-key are file paths, as etcd's). */
export function jwtSignerFromOptions(options: ReadonlyMap<string, string>): TokenSigner {
  const read = (name: string): Buffer | undefined => {
    const path = options.get(name);
    return path === undefined ? undefined : readFileSync(path);
  };
  const priv = read('priv-key');
  const pub = read('pub-key');
  return jwtSigner({ signMethod: options.get('sign-method') ?? 'RS256', ...(priv ? { privateKey: priv } : {}), ...(pub ? { publicKey: pub } : {}) });
}
