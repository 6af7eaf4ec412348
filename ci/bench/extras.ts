/** Issue 9 part 4 figures beside the server bench: simulator seeds/s and the checker's time. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './servers.js';
import type { SimSeedsReport } from './sim-seeds.js';

export interface CheckerReport {
  /** The checker bench's own summary line, verbatim. */
  readonly summary: string;
  readonly etcdLogsWallMs?: number;
  readonly kvLogsWallMs?: number;
}

function runTsx(script: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, root = REPO_ROOT): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', join(root, script), ...args], { cwd: root, env: { ...process.env, ...env }, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => (error ? reject(new Error(`${script}: ${error.message}\n${stderr}`)) : resolve(stdout)));
  });
}

export async function simSeeds(count: number, safetyMs = 5000): Promise<SimSeedsReport> {
  const out = await runTsx('ci/bench/sim-seeds.ts', [String(count), String(safetyMs)]);
  const line = out.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as SimSeedsReport;
}

/**
 * Runs checker/bench.ts (owned by the checker engineer) once if it exists. It finds the porcupine
 * histories relative to its own file, so under --rev it runs from the real repository.
 */
export async function checkerBench(): Promise<CheckerReport | undefined> {
  const root = process.env['BENCH_ORIGIN_ROOT'] ?? REPO_ROOT;
  if (!existsSync(join(root, 'checker', 'bench.ts'))) return undefined;
  const out = await runTsx('checker/bench.ts', [], { BENCH_RUNS: '1' }, root);
  const lines = out.trim().split('\n');
  const summary = lines.find((l) => l.startsWith('median')) ?? lines.pop() ?? '';
  const etcd = /etcd logs (\d+) ms wall/.exec(summary);
  const kv = /kv logs (\d+) ms wall/.exec(summary);
  return {
    summary,
    ...(etcd === null ? {} : { etcdLogsWallMs: Number(etcd[1]) }),
    ...(kv === null ? {} : { kvLogsWallMs: Number(kv[1]) }),
  };
}
