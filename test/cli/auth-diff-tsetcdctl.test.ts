/**
 * The auth scripts against tsetcd with tsetcdctl in place of etcdctl (see auth-diff-harness.ts):
 * the main script with simple tokens, the held-out one with RS256 JWT tokens (keys made here).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { judge, playAgainstTsetcd } from './auth-diff-harness.js';
import { ours } from './ctl-harness.js';

const keyDir = mkdtempSync(join(tmpdir(), 'auth-diff-jwt-'));
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
writeFileSync(join(keyDir, 'pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
writeFileSync(join(keyDir, 'priv.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
const JWT_FLAGS = ['--auth-token', `jwt,pub-key=${join(keyDir, 'pub.pem')},priv-key=${join(keyDir, 'priv.pem')},sign-method=RS256,ttl=10m`];

const tsetcdctl = (endpoint: string) => (argv: readonly string[], stdin: string) => ours(endpoint, argv, stdin);

describe('auth scripts with tsetcdctl against tsetcd give etcd 3.4 transcripts', () => {
  afterAll(() => rmSync(keyDir, { recursive: true, force: true }));
  it('script (simple tokens)', async () => {
    judge(await playAgainstTsetcd('script', tsetcdctl), 'script');
  }, 240_000);
  it('heldout (JWT tokens)', async () => {
    judge(await playAgainstTsetcd('heldout', tsetcdctl, JWT_FLAGS), 'heldout');
  }, 240_000);
});
