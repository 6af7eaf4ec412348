import { DEFAULT_TOKEN_TTL_MS, JwtTokenProvider, SimpleTokenProvider, parseAuthTokenOption } from '../auth/index.js';
import type { PasswordHasher, TokenProvider } from '../auth/index.js';
import { DEFAULT_BCRYPT_COST, bcryptHasher, jwtSignerFromOptions } from '../grpc/auth-crypto.js';
import type { ServerFlags } from './flags.js';
import { FlagError } from './flags.js';

/** Go's time.ParseDuration for the simple forms etcd's jwt ttl takes ("5m", "300s", "1h30m", "250ms"). */
export function parseGoDurationMs(text: string): number {
  const units: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = text;
  if (rest.length === 0) throw new FlagError(`invalid duration "${text}"`);
  while (rest.length > 0) {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (match === null) throw new FlagError(`invalid duration "${text}"`);
    total += Number(match[1]) * (units[match[2] as string] ?? 0);
    rest = rest.slice(match[0].length);
  }
  return total;
}

/** The auth seams of a real server from --auth-token, --auth-token-ttl and --bcrypt-cost. */
export function authSetup(flags: ServerFlags): { tokenProvider: TokenProvider; hasher: PasswordHasher } {
  const hasher = bcryptHasher(flags.bcryptCost ?? DEFAULT_BCRYPT_COST);
  let parsed;
  try {
    parsed = parseAuthTokenOption(flags.authToken ?? 'simple');
  } catch (error) {
    throw new FlagError(`--auth-token: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (parsed.kind === 'simple') {
    return { tokenProvider: new SimpleTokenProvider((flags.authTokenTtlSeconds ?? DEFAULT_TOKEN_TTL_MS / 1000) * 1000), hasher };
  }
  const ttl = parsed.options.get('ttl');
  const ttlMs = ttl === undefined ? DEFAULT_TOKEN_TTL_MS : parseGoDurationMs(ttl);
  let signer;
  try {
    signer = jwtSignerFromOptions(parsed.options);
  } catch (error) {
    throw new FlagError(`--auth-token: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { tokenProvider: new JwtTokenProvider(signer, ttlMs), hasher };
}
