/**
 * A fuzz worker process: imports the simulator once, then runs the seeds the driver sends one
 * at a time. A failing run is saved here (its history and trace never cross the IPC channel);
 * the driver gets a small outcome back.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { reproduceCommand, saveFailure } from '../sim/report.js';
import type { FileSink } from '../sim/report.js';
import { runSimulation } from '../sim/run.js';
import { saveSchedules } from '../sim/schedule-save.js';
import { SHRINK_RUNS_MAX } from '../sim/schedule-save.js';
import type { SimRunResult } from '../sim/run.js';
import type { FromWorker, SeedOutcome, ToWorker } from './fuzz-protocol.js';

const NODE_FILES: FileSink = {
  mkdirp: (dir) => mkdirSync(dir, { recursive: true }),
  write: (path, text) => writeFileSync(path, text),
};

function send(message: FromWorker): void {
  process.send?.(message);
}

async function runOne(job: Extract<ToWorker, { kind: 'run' }>): Promise<SeedOutcome> {
  const startedMs = Date.now();
  let result: SimRunResult = await runSimulation(job.run);
  if (job.injectFailure && result.status === 'pass') {
    result = { ...result, status: 'correctness', message: 'injected failure (--inject-failure, a test hook): the run itself passed' };
  }
  const wallMs = Date.now() - startedMs;
  const reproduce = reproduceCommand(job.run);
  const base: SeedOutcome = {
    seed: job.run.seed,
    status: result.status,
    message: result.message.split('\n')[0] ?? '',
    wallMs,
    reproduce,
    traceHash: result.traceHash,
    ...(result.linearizability ? { linearizability: result.linearizability.verdict } : {}),
  };
  if (result.status === 'pass') return base;
  const dir = `${job.outDir.replace(/\/+$/, '')}/${job.run.seed}`;
  NODE_FILES.mkdirp(dir);
  if (job.shrinkBudgetMs > 0) send({ kind: 'shrinking', seed: job.run.seed });
  const shrinkStartedMs = Date.now();
  const budget = job.shrinkBudgetMs > 0 ? { maxRuns: SHRINK_RUNS_MAX, outOfTime: () => Date.now() - shrinkStartedMs > job.shrinkBudgetMs } : undefined;
  const saved = await saveSchedules(dir, NODE_FILES, job.run, result, budget);
  const savedDir = saveFailure(job.run, result, NODE_FILES, job.outDir, [`fuzz campaign: ${job.campaign}`, ...saved.lines]);
  // The shrunk schedule's description spans lines; the summary shows the replay commands only.
  return { ...base, savedDir, schedules: saved.lines.filter((l) => l.includes('npm run sim')) };
}

process.on('message', (message: ToWorker) => {
  if (message.kind === 'exit') {
    process.disconnect();
    return;
  }
  runOne(message).then(
    (outcome) => send({ kind: 'done', outcome }),
    (error: unknown) => {
      // runSimulation classifies what the nodes throw; reaching here is a harness bug, still a failing seed.
      const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
      console.error(`fuzz worker: seed ${message.run.seed} threw outside the simulation: ${text}`);
      send({ kind: 'done', outcome: { seed: message.run.seed, status: 'crash', message: `harness error: ${text.split('\n')[0] ?? ''}`, wallMs: 0, reproduce: reproduceCommand(message.run) } });
    },
  );
});

// The driver is gone (or told us to stop): nothing would receive another outcome.
process.on('disconnect', () => process.exit(0));

send({ kind: 'ready' });
