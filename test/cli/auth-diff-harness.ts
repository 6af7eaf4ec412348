/**
 * Shared by auth-diff-etcdctl.test.ts and auth-diff-tsetcdctl.test.ts (two files so that vitest
 * runs them in two workers): the scripts of ci/golden-auth run against a fresh in-process
 * tsetcd, and each transcript is compared line by line with etcd 3.4's recorded one. Only
 * cluster, member and lease ids and the endpoint are normalised (harness.ts); the raft term is
 * compared as is (a new member starts at term 1 as etcd's do, so both elect at term 2). Commands listed in
 * ci/golden-auth/known-differences.txt are server behaviours not yet matched; any other
 * difference fails, and a listed command that now matches is reported for removal.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { GOLDEN_DIR, parseScript, runScript } from '../../ci/golden-auth/harness.js';
import type { CtlRunner } from '../../ci/golden-auth/harness.js';
import { startTsetcd } from '../../ci/golden-auth/tsetcd.js';

/** Commands (by their `$ ` line, per script) whose tsetcd output is known to differ still. */
function knownDifferences(): Set<string> {
  const file = join(GOLDEN_DIR, 'known-differences.txt');
  if (!existsSync(file)) return new Set();
  return new Set(readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('script') || l.startsWith('heldout')));
}

/** Blocks that differ, keyed `<script>: $ <line>`, with both outputs for the report. */
function differingBlocks(name: string, want: string, got: string): Map<string, string> {
  const blocks = (t: string): string[] => t.split(/(?=^\$ )/m);
  const a = blocks(want);
  const b = blocks(got);
  const out = new Map<string, string>();
  a.forEach((w, i) => {
    const g = b[i] ?? '(missing)\n';
    if (w !== g) out.set(`${name}: ${w.split('\n')[0] ?? ''}`, `--- etcd 3.4\n${w}+++ tsetcd\n${g}`);
  });
  return out;
}

/** serverFlags: e.g. JWT tokens instead of simple ones (etcd's goldens use simple tokens; no output depends on it). */
export async function playAgainstTsetcd(
  name: string,
  runnerFor: (endpoint: string) => CtlRunner,
  serverFlags: readonly string[] = [],
): Promise<Map<string, string>> {
  const steps = parseScript(readFileSync(join(GOLDEN_DIR, `${name}.txt`), 'utf8'));
  const want = readFileSync(join(GOLDEN_DIR, 'recorded', `${name}.txt`), 'utf8');
  const member = await startTsetcd(serverFlags);
  try {
    return differingBlocks(name, want, await runScript(steps, runnerFor(member.endpoint)));
  } finally {
    await member.close();
  }
}

export function judge(differences: Map<string, string>, scriptName: string): void {
  const known = knownDifferences();
  const unexpected = [...differences].filter(([k]) => !known.has(k)).map(([, v]) => v);
  const nowMatching = [...known].filter((k) => k.startsWith(`${scriptName}: `) && !differences.has(k));
  expect(unexpected.join('\n')).toBe('');
  // A fix on the server side should not turn the suite red; it is reported so the list shrinks.
  for (const k of nowMatching) console.warn(`ci/golden-auth/known-differences.txt: now the same as etcd, remove: ${k}`);
}

