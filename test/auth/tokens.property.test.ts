/**
 * Fuzzed credentials: malformed, forged, mutated and expired tokens, and forged request headers,
 * are refused with etcd's errors, never crash anything, and never write.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AuthApi, EtcdError } from '../../src/api/index.js';
import type { ApplyResult } from '../../src/apply/index.js';
import { Applier } from '../../src/apply/index.js';
import { JwtTokenProvider, PermissionType, fakeTokenSigner, insecureFakeHasher } from '../../src/auth/index.js';
import type { ServerNode } from '../../src/server/index.js';
import { createRand } from '../../src/util/index.js';
import { ApplierHarness, errorOf } from './helpers.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const INVALID = 'etcdserver: invalid auth token';

/** Root, and alice who may write "a*"; auth on. */
function world(h: ApplierHarness): void {
  h.must({ userAdd: { name: 'root', passwordHash: 'x', noPassword: false } });
  h.must({ userGrantRole: { user: 'root', role: 'root' } });
  h.must({ userAdd: { name: 'alice', passwordHash: 'x', noPassword: false } });
  h.must({ roleAdd: { name: 'w' } });
  h.must({ roleGrantPermission: { name: 'w', perm: { key: enc('a'), rangeEnd: enc('b'), permType: PermissionType.READWRITE } } });
  h.must({ userGrantRole: { user: 'alice', role: 'w' } });
  h.must({ authEnable: {} });
}

function authApi(h: ApplierHarness): AuthApi {
  // authInfo() never reaches the node: a stub stands in for it.
  return new AuthApi({} as ServerNode<ApplyResult>, h.applier, h.clock, { requestTimeoutMs: 1000, rand: createRand(1), hasher: insecureFakeHasher });
}

function resolve(api: AuthApi, token: string): string {
  try {
    return api.authInfo(token).username;
  } catch (error) {
    if (error instanceof EtcdError) return error.message;
    throw error;
  }
}

const mutate = (token: string): fc.Arbitrary<string> =>
  fc.oneof(
    fc.nat(token.length - 1).chain((at) => fc.string({ minLength: 1, maxLength: 1 }).filter((c) => c !== token[at]).map((c) => token.slice(0, at) + c + token.slice(at + 1))),
    fc.nat(token.length - 1).map((at) => token.slice(0, at)),
    fc.string({ minLength: 1, maxLength: 3 }).map((s) => token + s),
  );

describe('fuzzed credentials', () => {
  it('simple tokens: only the issued token resolves; anything else is "invalid auth token"', () => {
    const h = new ApplierHarness();
    world(h);
    const token = (h.must({ authenticate: { name: 'alice', simpleTokenPrefix: 'QwErTyUiOpAsDfGh' } }) as { token: string }).token;
    const api = authApi(h);
    expect(resolve(api, token)).toBe('alice');
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.base64String(), mutate(token), fc.nat().map((n) => `QwErTyUiOpAsDfGh.${n}`)), (candidate) => {
        fc.pre(candidate !== token);
        expect(resolve(api, candidate)).toBe(INVALID);
      }),
      { numRuns: 400 },
    );
    // unused for longer than the TTL: gone
    h.clock.advance(300_001);
    expect(resolve(api, token)).toBe(INVALID);
  });

  it('JWT tokens: forged, mutated, re-signed or expired tokens are refused; an old one is "revision ... old" at the check', () => {
    const h = new ApplierHarness((backend, clock) => new Applier(backend, { clock, tokenProvider: new JwtTokenProvider(fakeTokenSigner('secret', () => clock.nowMs()), 60_000) }));
    world(h);
    const token = (h.must({ authenticate: { name: 'alice', simpleTokenPrefix: '' } }) as { token: string }).token;
    const api = authApi(h);
    expect(resolve(api, token)).toBe('alice');
    const forger = fakeTokenSigner('not-the-secret', () => h.clock.nowMs());
    fc.assert(
      fc.property(fc.oneof(mutate(token), fc.string(), fc.constantFrom('root', 'alice').map((u) => forger.sign({ username: u, revision: 99 }, 60_000))), (candidate) => {
        fc.pre(candidate !== token);
        expect(resolve(api, candidate)).toBe(INVALID);
      }),
      { numRuns: 300 },
    );
    const ai = api.authInfo(token);
    h.must({ roleAdd: { name: 'bump' } });
    expect(() => h.applier.auth.checkOp(ai, enc('a1'), new Uint8Array(0), 'write')).toThrow('etcdserver: revision of auth store is old');
    h.clock.advance(60_000);
    expect(resolve(api, token)).toBe(INVALID);
  });

  it('forged request headers never write without the permission in force', () => {
    const h = new ApplierHarness();
    world(h);
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.constantFrom('root', 'alice', 'ghost', '')), fc.integer({ min: -5, max: 50 }), fc.constantFrom('a1', 'b1', 'zz'), (username, authRevision, key) => {
        const before = h.applier.store.rev();
        const r = h.apply({ put: { key: enc(key), value: enc('v') }, header: { username, authRevision } });
        const current = h.applier.auth.revision();
        const mayWrite = authRevision >= current && authRevision !== 0 && (username === 'root' || (username === 'alice' && key === 'a1'));
        expect(r.ok).toBe(mayWrite);
        expect(h.applier.store.rev()).toBe(mayWrite ? before + 1 : before);
        if (!r.ok) expect(['etcdserver: permission denied', 'etcdserver: user name is empty', 'etcdserver: revision of auth store is old']).toContain(errorOf(r));
      }),
      { numRuns: 300 },
    );
  });
});
