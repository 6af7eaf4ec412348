import type { Rand } from '../env/index.js';
import type { AuthInfo } from './types.js';

/**
 * etcd's TokenProvider: `assign` runs when an Authenticate entry is applied (on every member, so
 * a simple token works on whichever member the client talks to next), `info` turns a token from
 * a request into who it belongs to. Times are passed in, never read from a clock.
 */
export interface TokenProvider {
  assign(username: string, revision: number, at: { readonly prefix: string; readonly index: number; readonly nowMs: number }): string;
  /** undefined = not a token this provider knows (invalid, forged or expired). */
  info(token: string, currentRevision: number, nowMs: number): AuthInfo | undefined;
  invalidateUser(username: string): void;
  enable(): void;
  disable(): void;
}

/** Signs and checks JWTs; node:crypto lives behind it (src/env/node), the simulator uses a fake. */
export interface TokenSigner {
  /** A signed token carrying the claims and an expiry `ttlMs` from now. */
  sign(claims: { readonly username: string; readonly revision: number }, ttlMs: number): string;
  /** The claims of a well-signed, unexpired token; undefined for anything else. Never throws. */
  verify(token: string): { readonly username: string; readonly revision: number } | undefined;
}

export const DEFAULT_TOKEN_TTL_MS = 300_000;

/** The random part of a simple token, drawn by the member that proposes Authenticate. */
export function genSimpleTokenPrefix(rand: Rand): string {
  let out = '';
  for (let i = 0; i < PREFIX_LENGTH; i++) out += PREFIX_LETTERS[rand.int(PREFIX_LETTERS.length)] ?? 'a';
  return out;
}
const PREFIX_LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const PREFIX_LENGTH = 16;

/**
 * etcd's simple tokens: `<16 random letters>.<raft index of the Authenticate entry>`, kept in
 * memory only (a restart forgets them, as etcd's do), valid while used at least once per TTL:
 * every use restarts the TTL. Expiry is checked lazily at use, plus a sweep at each assign.
 */
export class SimpleTokenProvider implements TokenProvider {
  private readonly tokens = new Map<string, { username: string; lastUsedMs: number }>();
  private active = false;

  constructor(private readonly ttlMs: number = DEFAULT_TOKEN_TTL_MS) {}

  assign(username: string, _revision: number, at: { readonly prefix: string; readonly index: number; readonly nowMs: number }): string {
    this.sweep(at.nowMs);
    const token = `${at.prefix}.${at.index}`;
    this.tokens.set(token, { username, lastUsedMs: at.nowMs });
    return token;
  }

  info(token: string, currentRevision: number, nowMs: number): AuthInfo | undefined {
    if (!this.active) return undefined;
    const entry = this.tokens.get(token);
    if (entry === undefined) return undefined;
    if (nowMs - entry.lastUsedMs > this.ttlMs) {
      this.tokens.delete(token);
      return undefined;
    }
    entry.lastUsedMs = nowMs;
    // A simple token carries no revision: it stands for the user as of now (etcd does the same).
    return { username: entry.username, revision: currentRevision };
  }

  invalidateUser(username: string): void {
    for (const [token, entry] of this.tokens) if (entry.username === username) this.tokens.delete(token);
  }

  enable(): void {
    this.active = true;
  }

  disable(): void {
    this.active = false;
    this.tokens.clear();
  }

  /** Live tokens, for tests and metrics. */
  size(): number {
    return this.tokens.size;
  }

  private sweep(nowMs: number): void {
    for (const [token, entry] of this.tokens) if (nowMs - entry.lastUsedMs > this.ttlMs) this.tokens.delete(token);
  }
}

/**
 * etcd's JWT tokens: self-contained, signed, carrying the user and the auth revision at issue;
 * any later auth change makes them "old" (the permission check compares revisions). Nothing is
 * kept per token, so deleting a user does not revoke its JWTs until they expire, as in etcd.
 */
export class JwtTokenProvider implements TokenProvider {
  constructor(
    private readonly signer: TokenSigner,
    private readonly ttlMs: number = DEFAULT_TOKEN_TTL_MS,
  ) {}

  assign(username: string, revision: number): string {
    return this.signer.sign({ username, revision }, this.ttlMs);
  }

  info(token: string): AuthInfo | undefined {
    const claims = this.signer.verify(token);
    if (claims === undefined || typeof claims.username !== 'string' || !Number.isSafeInteger(claims.revision)) return undefined;
    return { username: claims.username, revision: claims.revision };
  }

  invalidateUser(): void {}

  enable(): void {}

  disable(): void {}
}

/** etcd's --auth-token value: "simple", or "jwt,pub-key=...,priv-key=...,sign-method=...,ttl=...". */
export interface AuthTokenOptions {
  readonly kind: 'simple' | 'jwt';
  readonly options: ReadonlyMap<string, string>;
}

export class AuthTokenOptionError extends Error {
  override readonly name = 'AuthTokenOptionError';
}

export function parseAuthTokenOption(text: string): AuthTokenOptions {
  const [kind, ...rest] = text.split(',');
  if (kind !== 'simple' && kind !== 'jwt') throw new AuthTokenOptionError(`unknown token type: ${kind ?? ''}`);
  const options = new Map<string, string>();
  for (const part of rest) {
    const pair = part.split('=');
    const [name, value] = pair;
    if (pair.length !== 2 || name === undefined || value === undefined) throw new AuthTokenOptionError(`invalid token specific option: ${text}`);
    if (options.has(name)) throw new AuthTokenOptionError(`invalid token specific option, duplicated parameters (${name}): ${text}`);
    options.set(name, value);
  }
  return { kind, options };
}
