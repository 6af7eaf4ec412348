/**
 * What a failing run leaves behind: histories/runs/<seed>/ with config.json, history.jsonl,
 * trace.txt and report.txt, and the one command that replays it. Shared by the single-seed CLI
 * (sim/main.ts) and the fuzz driver (ci/fuzz.ts) so both save the same thing.
 *
 * This module builds the files' contents only; the caller hands in a FileSink that writes them,
 * because sim/ stays free of node:fs (the determinism lint) and the CLIs own the real disk.
 */
import { encodeJsonl } from '../histories/index.js';
import { EXIT_CODES } from './run.js';
import type { SimRunOptions, SimRunResult } from './run.js';

/** Where failing runs go, relative to the repository root. */
export const RUNS_DIR = 'histories/runs';

/** The two file operations saving a run needs; sim/main.ts and ci/ pass node:fs-backed ones. */
export interface FileSink {
  mkdirp(dir: string): void;
  write(path: string, text: string): void;
}

/** The `npm run sim` command that replays `run` exactly (same seed, same overrides). */
export function reproduceCommand(run: SimRunOptions): string {
  const parts = ['npm run sim --', `--seed ${run.seed}`];
  if (run.nodes !== undefined) parts.push(`--nodes ${run.nodes}`);
  if (run.safetyMs !== undefined) parts.push(`--time ${run.safetyMs}`);
  if (run.clients !== undefined) parts.push(`--clients ${run.clients}`);
  if (run.workload !== undefined && run.workload !== 'register') parts.push(`--workload ${run.workload}`);
  if (run.membership) parts.push('--membership');
  if (run.noFaults) parts.push('--no-faults');
  if (run.opsMax !== undefined) parts.push(`--ops ${run.opsMax}`);
  if (run.quiet !== undefined && run.quiet.length > 0) parts.push(`--quiet ${run.quiet.join(',')}`);
  if (run.inject !== undefined) parts.push(`--inject ${run.inject}`);
  return parts.join(' ');
}

/** The failing run's files by name; `extraReport` lines go at the end of report.txt. */
export function failureFiles(run: SimRunOptions, result: SimRunResult, extraReport: readonly string[] = [], reproduce = reproduceCommand(run)): ReadonlyMap<string, string> {
  const report = [
    `status: ${result.status} (exit ${EXIT_CODES[result.status]})`,
    `message: ${result.message}`,
    `reproduce: ${reproduce}`,
    '',
    result.profileText,
    '',
    'cluster at the end:',
    result.clusterState,
    '',
    'nemesis actions:',
    ...result.nemesisActions,
    ...(extraReport.length > 0 ? ['', ...extraReport] : []),
  ].join('\n');
  return new Map([
    ['config.json', JSON.stringify({ options: run, profile: result.profile }, null, 2) + '\n'],
    ['history.jsonl', encodeJsonl(result.history)],
    ['trace.txt', result.trace.join('\n') + '\n'],
    ['report.txt', report + '\n'],
  ]);
}

/** Writes histories/runs/<seed>/ (under `rootDir`) and returns the directory; `reproduce` replaces the seed command (schedule replays). */
export function saveFailure(
  run: SimRunOptions,
  result: SimRunResult,
  sink: FileSink,
  rootDir: string = RUNS_DIR,
  extraReport: readonly string[] = [],
  reproduce = reproduceCommand(run),
): string {
  const dir = `${rootDir.replace(/\/+$/, '')}/${run.seed}`;
  sink.mkdirp(dir);
  for (const [name, text] of failureFiles(run, result, extraReport, reproduce)) sink.write(`${dir}/${name}`, text);
  return dir;
}
