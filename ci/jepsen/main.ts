/**
 * `npm run jepsen -- --nodes 3 --time 60 --workload register --nemesis kill,pause,partition
 *   [--target tsetcd|etcd] [--compare] [--seed N] [--out dir]` and `npm run jepsen -- --cleanup`.
 * See docs/jepsen.md.
 */
import { join } from 'node:path';
import { cleanupLeftovers } from './net.js';
import { parseArgs, USAGE, UsageError } from './options.js';
import type { JepsenOptions } from './options.js';
import { summaryText } from './report.js';
import { abortActiveRuns, runJepsen } from './runner.js';
import type { RunResult } from './runner.js';

function compareTable(a: RunResult, b: RunResult): string {
  const width = Math.max(22, a.summary.outDir.length + 2);
  const row = (label: string, f: (r: RunResult) => string): string => `${label.padEnd(16)}${f(a).padEnd(width)}${f(b)}`;
  return [
    row('', (r) => r.summary.target),
    row('verdict', (r) => r.summary.verdict),
    row('ok ops/s', (r) => r.summary.okPerS.toFixed(1)),
    row('ok/fail/info', (r) => `${r.summary.ops.ok}/${r.summary.ops.fail}/${r.summary.ops.info}`),
    row('faults applied', (r) => String(r.summary.faultsApplied)),
    row('recovery ok ops', (r) => String(r.summary.recoveryOk)),
    row('out', (r) => r.summary.outDir),
  ].join('\n');
}

async function run(options: JepsenOptions, compare: boolean): Promise<number> {
  if (!compare) {
    const r = await runJepsen(options);
    console.log(`\n${r.checkText.split('\n').slice(0, 40).join('\n')}\n\n${summaryText(r.summary)}`);
    return r.exitCode;
  }
  const results: RunResult[] = [];
  for (const target of ['tsetcd', 'etcd'] as const) {
    console.log(`\n=== ${target} ===`);
    const out = options.out === undefined ? undefined : join(options.out, target);
    results.push(await runJepsen({ ...options, target, out }));
  }
  const [a, b] = results as [RunResult, RunResult];
  console.log(`\n${compareTable(a, b)}`);
  return Math.max(a.exitCode, b.exitCode);
}

async function main(): Promise<void> {
  let command;
  try {
    command = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`jepsen: ${error.message}\n${USAGE}`);
    process.exit(3);
  }
  if (command.kind === 'help') {
    console.log(USAGE);
    return;
  }
  if (command.kind === 'cleanup') {
    const n = await cleanupLeftovers(console.log);
    console.log(`removed ${n} leftover namespace(s)/link(s)`);
    return;
  }
  // Under npm/npx a Ctrl-C may close our output before the teardown has finished: keep going.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  let interrupted = false;
  const onSignal = (signal: string): void => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: tearing down members, routes and namespaces...`);
    void abortActiveRuns().finally(() => process.exit(130));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  const code = await run(command.options, command.options.compare);
  process.exit(code);
}

main().catch(async (error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  await abortActiveRuns();
  process.exit(3);
});
