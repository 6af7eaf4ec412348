/**
 * JWT tokens as src/grpc/auth-crypto.ts signs and checks them (node:crypto): every sign method
 * family round-trips; a token signed with another key, with alg "none", with a changed payload,
 * or past its expiry is refused, and verification never throws. bcrypt hashes are etcd's format.
 */
import { generateKeyPairSync, createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bcryptHasher, jwtSigner } from '../../src/grpc/auth-crypto.js';

const b64url = (s: string): string => Buffer.from(s).toString('base64url');

function keys(kind: 'rsa' | 'ec'): { priv: string; pub: string } {
  const pair = kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 1024 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { priv: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), pub: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

describe('JWT signer', () => {
  const rsa = keys('rsa');
  const ec = keys('ec');
  const signers = {
    RS256: jwtSigner({ signMethod: 'RS256', privateKey: rsa.priv, publicKey: rsa.pub }),
    PS256: jwtSigner({ signMethod: 'PS256', privateKey: rsa.priv }),
    ES256: jwtSigner({ signMethod: 'ES256', privateKey: ec.priv, publicKey: ec.pub }),
    HS256: jwtSigner({ signMethod: 'HS256', privateKey: 'a shared secret' }),
  };

  for (const [method, signer] of Object.entries(signers)) {
    it(`${method}: round-trips the claims; header and claims are etcd's`, () => {
      const token = signer.sign({ username: 'alice', revision: 7 }, 60_000);
      expect(signer.verify(token)).toEqual({ username: 'alice', revision: 7 });
      const [h, p] = token.split('.') as [string, string];
      expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ alg: method, typ: 'JWT' });
      expect(Object.keys(JSON.parse(Buffer.from(p, 'base64url').toString())).sort()).toEqual(['exp', 'revision', 'username']);
    });
  }

  it('refuses forgeries: another key, alg none, a changed payload, an expired token, garbage', () => {
    const other = jwtSigner({ signMethod: 'RS256', privateKey: keys('rsa').priv });
    const good = signers.RS256.sign({ username: 'alice', revision: 1 }, 60_000);
    const [h, , s] = good.split('.') as [string, string, string];
    const rootPayload = b64url(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 60, revision: 1, username: 'root' }));
    expect(signers.RS256.verify(other.sign({ username: 'root', revision: 1 }, 60_000))).toBeUndefined();
    expect(signers.RS256.verify(`${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${rootPayload}.`)).toBeUndefined();
    expect(signers.RS256.verify(`${h}.${rootPayload}.${s}`)).toBeUndefined();
    // HS256 with the RSA public key as the secret (the classic algorithm-confusion forgery)
    const confused = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${rootPayload}`;
    expect(signers.RS256.verify(`${confused}.${createHmac('sha256', rsa.pub).update(confused).digest('base64url')}`)).toBeUndefined();
    expect(signers.HS256.verify(signers.HS256.sign({ username: 'alice', revision: 1 }, -1_000))).toBeUndefined();
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (junk) => {
        expect(signers.ES256.verify(junk)).toBeUndefined();
        expect(signers.HS256.verify(`${junk}.${junk}.${junk}`)).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it('bcrypt: $2a$/$2b$ hashes at the configured cost; compare never throws on a bad hash', async () => {
    const hasher = bcryptHasher(4);
    const hash = await hasher.hash('pw');
    expect(hash).toMatch(/^\$2[ab]\$04\$/);
    expect(await hasher.compare('pw', hash)).toBe(true);
    expect(await hasher.compare('pW', hash)).toBe(false);
    expect(await hasher.compare('pw', 'not a hash')).toBe(false);
    expect(await hasher.compare('pw', '')).toBe(false);
    // an out-of-range cost falls back to etcd's default (10), as etcd does
    expect(await bcryptHasher(99).hash('x')).toMatch(/^\$2[ab]\$10\$/);
  });
});
