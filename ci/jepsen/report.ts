/**
 * After the run: check the history, write history.jsonl, report.html (the checker's timeline
 * plus the fault timeline and the summary), summary.json and summary.txt.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatText, renderHtml, runCheck } from '../../checker/index.js';
import type { ModelName } from '../../checker/index.js';
import { encodeJsonl } from '../../histories/index.js';
import type { Op } from '../../histories/index.js';
import type { ClientStats } from './clients.js';
import type { FaultRecord } from './nemesis-driver.js';

export interface Summary {
  readonly target: string;
  readonly workload: string;
  readonly model: ModelName;
  readonly nodes: number;
  readonly nemesis: readonly string[];
  readonly net: string;
  /** Network namespaces the run created (all deleted by the end of the run). */
  readonly namespaces: readonly string[];
  readonly seed: number;
  readonly verdict: 'valid' | 'invalid' | 'unknown';
  readonly workloadS: number;
  readonly ops: ClientStats;
  /** Completed `ok` client operations per second of workload. */
  readonly okPerS: number;
  readonly faultsApplied: number;
  readonly faults: readonly FaultRecord[];
  /** ok operations in the recovery phase (after every fault was healed). */
  readonly recoveryOk: number;
  /** Seconds from the heal to the first ok op; null if none came within --recovery-max. */
  readonly recoveredAfterS: number | null;
  readonly checkMs: number;
  readonly outDir: string;
  readonly notes: readonly string[];
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function summaryText(s: Summary): string {
  const byF = Object.entries(s.ops.byF).map(([f, c]) => `${f} ${c.ok}/${c.fail}/${c.info}`).join(', ');
  return [
    `jepsen: ${s.target}, ${s.nodes} nodes, workload ${s.workload} (${s.model}), nemesis ${s.nemesis.join(',') || 'none'}, net ${s.net}, seed ${s.seed}`,
    `verdict: ${s.verdict}`,
    `ops: ${s.ops.invoked} invoked, ${s.ops.ok} ok, ${s.ops.fail} fail, ${s.ops.info} info; ${s.ops.errors} of the fail/info were failed requests, the rest answers (ok/fail/info by f: ${byF})`,
    `throughput: ${s.okPerS.toFixed(1)} ok ops/s over ${s.workloadS.toFixed(1)} s; ${s.recoveryOk} ok in the recovery phase, first ${s.recoveredAfterS === null ? 'never' : `${s.recoveredAfterS.toFixed(1)} s after the heal`}`,
    `faults applied: ${s.faultsApplied}`,
    ...s.faults.map((f) => `  ${(f.atMs / 1000).toFixed(1).padStart(6)}s ${f.applied ? ' ' : '!'} ${f.action}: ${f.notes.join('; ')}`),
    ...s.notes.map((n) => `note: ${n}`),
    `checked in ${(s.checkMs / 1000).toFixed(1)} s; files in ${s.outDir} (history.jsonl, report.html, summary.json, logs/)`,
  ].join('\n');
}

function faultTable(s: Summary): string {
  const rows = s.faults.map((f) => `<tr><td>${(f.atMs / 1000).toFixed(1)} s</td><td>${esc(f.action)}</td><td>${f.applied ? 'applied' : 'not applied'}</td><td>${esc(f.notes.join('; '))}</td></tr>`).join('');
  return `<section><h2>Run summary</h2><pre>${esc(summaryText(s))}</pre>
<h2>Fault timeline</h2><table border="1" cellpadding="3" style="border-collapse:collapse"><tr><th>time</th><th>action</th><th>result</th><th>detail</th></tr>${rows}</table>
<p>Nemesis ops are also in history.jsonl (process "nemesis") at their place among the client ops.</p></section>`;
}

export interface CheckOutcome {
  readonly verdict: 'valid' | 'invalid' | 'unknown';
  readonly model: ModelName;
  readonly checkMs: number;
  readonly text: string;
}

/** Checks and writes every file; `summaryOf` fills the summary once the verdict is known. */
export function checkAndWrite(outDir: string, history: readonly Op[], model: ModelName, timeoutMs: number, summaryOf: (c: CheckOutcome) => Summary): { summary: Summary; text: string } {
  writeFileSync(join(outDir, 'history.jsonl'), encodeJsonl(history));
  const started = Date.now();
  const result = runCheck(history, model, undefined, { timeoutMs });
  const checkMs = Date.now() - started;
  const text = formatText(result.report, result.describe);
  const summary = summaryOf({ verdict: result.report.verdict, model: result.model, checkMs, text });
  const title = `${summary.target} ${summary.workload} (${summary.nemesis.join(',') || 'no faults'})`;
  const html = renderHtml(result.report, result.operations, result.describe, title).replace('</body>', `${faultTable(summary)}\n</body>`);
  writeFileSync(join(outDir, 'report.html'), html);
  writeFileSync(join(outDir, 'check.txt'), `${text}\n`);
  writeFileSync(join(outDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(join(outDir, 'summary.txt'), `${summaryText(summary)}\n`);
  return { summary, text };
}
