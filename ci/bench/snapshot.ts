/**
 * A read-only snapshot of a committed revision for `--rev`: `git archive` into a temp dir (never
 * a checkout of the shared working tree, which other engineers are editing), node_modules linked,
 * and this working tree's ci/bench overlaid so the harness is the current one whatever the rev.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Snapshot {
  readonly root: string;
  readonly commit: string;
  remove(): void;
}

export function snapshotRevision(rev: string, repoRoot: string = HERE_ROOT): Snapshot {
  const commit = execFileSync('git', ['rev-parse', '--verify', `${rev}^{commit}`], { cwd: repoRoot, encoding: 'utf8' }).trim();
  const root = mkdtempSync(join(tmpdir(), 'bench-src-'));
  execFileSync('sh', ['-c', `git archive ${commit} | tar -x -C '${root}'`], { cwd: repoRoot });
  symlinkSync(join(repoRoot, 'node_modules'), join(root, 'node_modules'));
  cpSync(join(repoRoot, 'ci', 'bench'), join(root, 'ci', 'bench'), { recursive: true });
  cpSync(join(repoRoot, 'ci', 'bench.ts'), join(root, 'ci', 'bench.ts'));
  // The harness's own helpers outside ci/bench, so an older rev runs with this tree's harness too.
  cpSync(join(repoRoot, 'ci', 'free-port.ts'), join(root, 'ci', 'free-port.ts'));
  return { root, commit, remove: () => rmSync(root, { recursive: true, force: true }) };
}
