/**
 * `npm run sim -- --seed N [--nodes 3|5] [--time ms] [--no-faults] [--check-determinism]`
 *
 * Runs one seeded simulation, prints the seed and everything it chose, the outcome and the trace
 * hash, and exits 0 pass / 127 crash / 128 liveness / 129 correctness. A failing run is saved to
 * histories/runs/<seed>/ with the one command that reproduces it. This file may read the wall
 * clock (to report speed) and write files; nothing it does feeds back into the run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { firstDivergence } from './loop.js';
import { EXIT_CODES, WORKLOAD_NAMES, runSimulation } from './run.js';
import type { SimRunOptions, SimRunResult, WorkloadName } from './run.js';
import { reproduceCommand, saveFailure } from './report.js';
import type { FileSink } from './report.js';

const NODE_FILES: FileSink = {
  mkdirp: (dir) => mkdirSync(dir, { recursive: true }),
  write: (path, text) => writeFileSync(path, text),
};

const USAGE = `usage: npm run sim -- [--seed N] [--nodes 3|5] [--time ms] [--clients N] [--workload register|kv|watch|lease|lock] [--membership] [--no-faults] [--check-determinism]`;

function parseOptions(argv: string[]): { run: SimRunOptions; checkDeterminism: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string' },
      nodes: { type: 'string' },
      time: { type: 'string' },
      clients: { type: 'string' },
      workload: { type: 'string' },
      'no-faults': { type: 'boolean', default: false },
      membership: { type: 'boolean', default: false },
      'check-determinism': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer, got ${values.seed}`);
  const nodes = values.nodes === undefined ? undefined : Number(values.nodes);
  if (nodes !== undefined && nodes !== 3 && nodes !== 5) throw new Error(`--nodes must be 3 or 5, got ${values.nodes}`);
  const workload = values.workload ?? 'register';
  if (!(WORKLOAD_NAMES as readonly string[]).includes(workload)) throw new Error(`--workload must be one of ${WORKLOAD_NAMES.join('|')}, got ${workload}`);
  const run: SimRunOptions = {
    seed,
    workload: workload as WorkloadName,
    ...(values.membership ? { membership: true } : {}),
    ...(nodes === undefined ? {} : { nodes }),
    ...(values.time === undefined ? {} : { safetyMs: positive('--time', values.time) }),
    ...(values.clients === undefined ? {} : { clients: positive('--clients', values.clients) }),
    noFaults: values['no-faults'],
  };
  return { run, checkDeterminism: values['check-determinism'] };
}

function positive(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${flag} must be a positive integer, got ${text}`);
  return n;
}

function summary(result: SimRunResult, wallMs: number): string {
  const simSeconds = result.virtualMs / 1000;
  return [
    `result: ${result.status.toUpperCase()} — ${result.message.split('\n')[0]}`,
    `ops completed ${result.opsCompleted}, committed entries ${result.committedEntries}, leader terms ${result.leaderTerms}, nemesis actions ${result.nemesisActions.length}`,
    `linearizability: ${result.linearizability?.verdict ?? 'not checked'}`,
    ...(result.verdict ? [result.verdict.summary, ...result.verdict.findings.slice(0, 10).map((f) => `finding: ${f}`)] : []),
    `events ${result.events}, virtual ${simSeconds.toFixed(1)}s, wall ${(wallMs / 1000).toFixed(2)}s (${(simSeconds / Math.max(wallMs / 1000, 1e-3)).toFixed(1)} simulated s per wall s)`,
    `trace hash ${result.traceHash}`,
  ].join('\n');
}

async function main(): Promise<number> {
  const { run, checkDeterminism } = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const result = await runSimulation(run);
  const wallMs = Date.now() - started;
  console.log(result.profileText);
  console.log(summary(result, wallMs));
  if (checkDeterminism) {
    const again = await runSimulation(run);
    if (again.traceHash !== result.traceHash) {
      const at = firstDivergence(result.loop, again.loop);
      console.log(`DETERMINISM FAILURE: second run trace hash ${again.traceHash}`);
      if (at) console.log(`first divergence at event #${at.eventIndex}:\n  run 1: ${at.a ?? '(not in trace log)'}\n  run 2: ${at.b ?? '(not in trace log)'}`);
      return EXIT_CODES.crash;
    }
    console.log(`determinism: second run gave the same trace hash ${again.traceHash}`);
  }
  if (result.status !== 'pass') {
    console.log(result.message);
    const dir = saveFailure(run, result, NODE_FILES);
    console.log(`saved to ${dir}/`);
    console.log(`reproduce: ${reproduceCommand(run)}`);
  }
  return EXIT_CODES[result.status];
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    console.error(USAGE);
    process.exit(2);
  },
);
