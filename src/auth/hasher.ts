/**
 * bcrypt behind a seam: the real server's is bcryptjs (src/env/node), the simulator's a fast
 * deterministic fake. Hashing runs in the API layer before proposing (the Raft log never holds
 * a plaintext password), comparing only at Authenticate: never per request, never in apply.
 */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  compare(password: string, hash: string): Promise<boolean>;
}

/** FNV-1a over the UTF-16 code units, twice with different seeds; for simulation only. */
function fnv(text: string, seed: number): string {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** Deterministic and instant; NOT a password hash. The simulator and unit tests use it. */
export const insecureFakeHasher: PasswordHasher = {
  hash: (password) => Promise.resolve(`fake$${fnv(password, 0x811c9dc5)}${fnv(password, 0x9747b28c)}`),
  compare: (password, hash) => Promise.resolve(hash === `fake$${fnv(password, 0x811c9dc5)}${fnv(password, 0x9747b28c)}`),
};

/** A deterministic JWT stand-in for the simulator: "<payload json base64>.<fnv checksum with a secret>". */
export function fakeTokenSigner(secret: string, nowMs: () => number): {
  sign(claims: { username: string; revision: number }, ttlMs: number): string;
  verify(token: string): { username: string; revision: number } | undefined;
} {
  const mac = (payload: string): string => fnv(secret + payload, 0x811c9dc5) + fnv(payload + secret, 0x9747b28c);
  return {
    sign(claims, ttlMs) {
      const payload = JSON.stringify({ username: claims.username, revision: claims.revision, expMs: nowMs() + ttlMs });
      return `${payload}.${mac(payload)}`;
    },
    verify(token) {
      const at = token.lastIndexOf('.');
      if (at < 0) return undefined;
      const payload = token.slice(0, at);
      if (mac(payload) !== token.slice(at + 1)) return undefined;
      try {
        const claims = JSON.parse(payload) as { username?: unknown; revision?: unknown; expMs?: unknown };
        if (typeof claims.username !== 'string' || typeof claims.revision !== 'number' || typeof claims.expMs !== 'number') return undefined;
        if (nowMs() >= claims.expMs) return undefined;
        return { username: claims.username, revision: claims.revision };
      } catch {
        return undefined;
      }
    },
  };
}
