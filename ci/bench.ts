/**
 * `npm run bench`: tsetcd against real etcd, side by side, in the manner of etcd's benchmark
 * tool. Starts the target(s) itself, drives them from forked worker processes, prints a table
 * (medians over rounds, tsetcd/etcd ratios), optionally the simulator's seeds/s, the checker's
 * time and the top self-time functions of a tsetcd CPU profile. See docs/bench.md.
 *
 * With --rev REV the whole bench re-executes inside a git-archive snapshot of REV (with this
 * tree's ci/bench overlaid), so other engineers' uncommitted edits cannot break or skew it.
 * Nothing that imports src/ is loaded before that decision.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BENCH_USAGE, BenchFlagError, parseBenchArgs } from './bench/args.js';
import type { BenchOptions } from './bench/args.js';
import { snapshotRevision } from './bench/snapshot.js';

const SNAPSHOT_ENV = 'BENCH_SOURCE_COMMIT';
/** The real repository, for checker/bench.ts, which finds its histories relative to itself. */
const ORIGIN_ENV = 'BENCH_ORIGIN_ROOT';

function reexecInSnapshot(rev: string, argv: readonly string[]): Promise<number> {
  const snap = snapshotRevision(rev);
  const child = spawn(process.execPath, ['--import', 'tsx', join(snap.root, 'ci', 'bench.ts'), ...argv], {
    cwd: process.cwd(),
    env: { ...process.env, [SNAPSHOT_ENV]: snap.commit, [ORIGIN_ENV]: join(import.meta.dirname, '..') },
    stdio: 'inherit',
  });
  const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      snap.remove();
      resolve(code ?? (signal === null ? 1 : 128 + 15));
    }),
  );
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let parsed: BenchOptions | 'help';
  try {
    parsed = parseBenchArgs(argv);
  } catch (e) {
    if (!(e instanceof BenchFlagError)) throw e;
    console.error(`bench: ${e.message}\n\n${BENCH_USAGE}`);
    process.exit(2);
  }
  if (parsed === 'help') return console.log(BENCH_USAGE);
  const insideSnapshot = process.env[SNAPSHOT_ENV];
  if (parsed.rev !== undefined && insideSnapshot === undefined) process.exit(await reexecInSnapshot(parsed.rev, argv));
  const { benchMain } = await import('./bench/main.js');
  await benchMain({ ...parsed, rev: undefined }, argv, insideSnapshot);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
