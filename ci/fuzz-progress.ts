/**
 * What the fuzz driver prints: the progress line (redrawn in place on a TTY, a plain line every
 * tenth of the campaign or half minute in CI logs) and the final summary. Formatting is pure;
 * only ProgressReporter holds state.
 */
import type { FuzzPlan } from './fuzz-options.js';
import type { FuzzStatus, SeedOutcome } from './fuzz-protocol.js';

export interface FuzzProgress {
  readonly done: number;
  readonly total: number;
  readonly failed: number;
  readonly elapsedMs: number;
}

export function formatDuration(ms: number): string {
  const totalSeconds = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

export function seedsPerSecond(done: number, elapsedMs: number): number {
  return elapsedMs <= 0 ? 0 : (done * 1000) / elapsedMs;
}

export function progressLine(p: FuzzProgress): string {
  const rate = seedsPerSecond(p.done, p.elapsedMs);
  const eta = p.done === 0 || rate === 0 ? '?' : formatDuration(((p.total - p.done) / rate) * 1000);
  const percent = p.total === 0 ? 100 : Math.floor((p.done * 100) / p.total);
  const barWidth = 20;
  const filled = Math.round((barWidth * percent) / 100);
  const bar = '#'.repeat(filled) + '.'.repeat(barWidth - filled);
  return `[${bar}] ${p.done}/${p.total} (${percent}%) failed ${p.failed}, ${rate.toFixed(2)} seeds/s, elapsed ${formatDuration(p.elapsedMs)}, ETA ${eta}`;
}

const PLAIN_EVERY_MS = 30_000;

/** Decides when to print: on a TTY redraw at most every 100 ms; otherwise plain lines, sparingly. */
export class ProgressReporter {
  private lastDrawMs: number;
  private lastTenth = 0;
  private lastDone = -1;
  private drawn = false;

  constructor(
    private readonly write: (text: string) => void,
    private readonly tty: boolean,
    startMs = 0,
  ) {
    // Plain mode waits a full interval before its first line; a TTY draws at once.
    this.lastDrawMs = tty ? -Infinity : startMs;
  }

  update(p: FuzzProgress, nowMs: number, force = false): void {
    if (this.tty) {
      if (!force && nowMs - this.lastDrawMs < 100 && p.done < p.total) return;
      this.write(`\r\x1b[K${progressLine(p)}`);
      this.drawn = true;
      this.lastDrawMs = nowMs;
      return;
    }
    const tenth = p.total === 0 ? 10 : Math.floor((p.done * 10) / p.total);
    const moved = p.done !== this.lastDone;
    if ((moved && (force || tenth > this.lastTenth)) || nowMs - this.lastDrawMs >= PLAIN_EVERY_MS) {
      this.write(`progress: ${progressLine(p)}\n`);
      this.lastTenth = tenth;
      this.lastDone = p.done;
      this.lastDrawMs = nowMs;
    }
  }

  /** Prints whole lines (failures, the summary) without tearing the TTY progress line. */
  line(text: string): void {
    if (this.tty && this.drawn) this.write('\r\x1b[K');
    this.write(text + '\n');
    this.drawn = false;
    if (this.tty) this.lastDrawMs = -Infinity;
  }
}

export interface FuzzSummary {
  readonly planned: number;
  readonly outcomes: readonly SeedOutcome[];
  readonly wallMs: number;
  /** Why some seeds did not run to the end, if any did not. */
  readonly stoppedBy: 'budget' | 'interrupt' | undefined;
  /** Seeds never started, and (when interrupted) those killed in flight; ascending. */
  readonly notRun: readonly number[];
}

export function failuresOf(summary: Pick<FuzzSummary, 'outcomes'>): SeedOutcome[] {
  return summary.outcomes.filter((o) => o.status !== 'pass');
}

export function countByStatus(outcomes: readonly SeedOutcome[]): Map<FuzzStatus, number> {
  const counts = new Map<FuzzStatus, number>();
  for (const o of outcomes) counts.set(o.status, (counts.get(o.status) ?? 0) + 1);
  return counts;
}

export function formatSummary(plan: FuzzPlan, campaign: string, summary: FuzzSummary, slowestCount = 5): string[] {
  const failures = failuresOf(summary);
  const failedBy = [...countByStatus(failures)].map(([status, n]) => `${status} ${n}`).join(', ');
  const lines = [
    '== fuzz summary ==',
    `seeds run ${summary.outcomes.length} of ${summary.planned}: passed ${summary.outcomes.length - failures.length}, failed ${failures.length}${failedBy ? ` (${failedBy})` : ''}`,
    `wall ${formatDuration(summary.wallMs)}, ${seedsPerSecond(summary.outcomes.length, summary.wallMs).toFixed(2)} seeds/s with ${plan.jobs} job(s), safety phase ${plan.safetyMs} ms per seed`,
  ];
  if (summary.stoppedBy !== undefined) {
    const why = summary.stoppedBy === 'budget' ? `time budget of ${formatDuration(plan.timeBudgetMs ?? 0)} ran out` : 'interrupted';
    const range = summary.notRun.length > 0 ? `seeds ${summary.notRun[0]}..${summary.notRun[summary.notRun.length - 1]}` : 'none';
    lines.push(`${why}: ${summary.notRun.length} seed(s) not run (${range})`);
  }
  const unchecked = summary.outcomes.filter((o) => o.linearizability === 'unknown').map((o) => o.seed);
  if (unchecked.length > 0) {
    const shown = unchecked.slice(0, 10).join(', ') + (unchecked.length > 10 ? ', ...' : '');
    lines.push(`linearizability unknown (checker deadline) on ${unchecked.length} seed(s), counted as passed: ${shown}`);
  }
  const slowest = [...summary.outcomes].sort((a, b) => b.wallMs - a.wallMs || a.seed - b.seed).slice(0, slowestCount);
  if (slowest.length > 0) lines.push(`slowest: ${slowest.map((o) => `${o.seed} ${(o.wallMs / 1000).toFixed(2)}s`).join(', ')}`);
  for (const f of failures) {
    lines.push(`FAILED seed ${f.seed}: ${f.status} — ${f.message}`);
    if (f.savedDir !== undefined) lines.push(`  saved to ${f.savedDir}/`);
    lines.push(`  reproduce: ${f.reproduce}`);
    for (const s of f.schedules ?? []) lines.push(`  ${s}`);
  }
  lines.push(`campaign: ${campaign}`);
  if (failures.length > 0) lines.push(`result: FAIL (${failures.length} failing seed(s))`);
  else lines.push(summary.stoppedBy === 'interrupt' ? 'result: INTERRUPTED (no failure among the seeds that ran)' : 'result: PASS');
  return lines;
}
