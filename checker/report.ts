import type { Operation } from '../histories/index.js';
import type { TxnReport } from './elle/list-append.js';
import type { LinearizabilityReport, PartitionReport } from './linear/check.js';
import type { WatchReport } from './watch.js';

export type CheckReport = LinearizabilityReport | TxnReport | WatchReport;
export type Verdict = 'valid' | 'invalid' | 'unknown';

export type Describe = (op: Operation) => string;

export function opLabel(op: Operation, describe: Describe): string {
  const end = op.complete === undefined ? 'never completed' : op.returnIndex === Infinity ? `${op.complete.type} at index ${op.complete.index}, outcome unknown` : `completed at index ${op.complete.index}`;
  return `op ${op.invoke.index} (process ${String(op.process)}, ${end}): ${describe(op)}`;
}

/**
 * The smallest failing part of a key: the ops whose intervals overlap the window in which the
 * stuck op had to take effect, i.e. from the earliest invocation among the unlinearized ops it
 * competed with to the stuck op's return.
 */
export function failingWindow(p: PartitionReport): Operation[] {
  if (p.stuck === undefined) return [];
  const from = Math.min(p.stuck.callIndex, ...p.concurrent.map((o) => o.callIndex));
  const to = p.stuck.returnIndex;
  const window = p.ops.filter((o) => o.callIndex <= to && o.returnIndex >= from);
  return [...window, ...p.doomed.filter((o) => !window.includes(o))];
}

function linearText(r: LinearizabilityReport, describe: Describe): string[] {
  const lines: string[] = [];
  const failing = r.partitions.filter((p) => p.verdict === 'fail');
  const unknown = r.partitions.filter((p) => p.verdict === 'unknown');
  const keyName = (p: PartitionReport): string => (p.key === '' ? 'the history' : `key ${JSON.stringify(p.key)}`);
  lines.push(`${r.partitions.length} part(s) checked with model ${r.model}: ${r.partitions.length - failing.length - unknown.length} linearizable, ${failing.length} not, ${unknown.length} unknown (${r.elapsedMs} ms)`);
  for (const p of failing) {
    lines.push('', `${keyName(p)} is not linearizable (${p.ops.length} ops; longest linearization ${p.longest.length} ops, ending in state ${p.longestState}).`);
    if (p.stuck !== undefined) lines.push(`  cannot linearize ${opLabel(p.stuck, describe)}`);
    for (const o of p.concurrent) lines.push(`  nor, instead, ${opLabel(o, describe)}`);
    for (const o of p.doomed) lines.push(`  every next step leaves no way to reach the result of ${opLabel(o, describe)}`);
    if (p.minimal !== undefined) {
      lines.push(`  these ${p.minimal.length} results cannot all hold, even if every other op of the key up to there may or may not have happened (ops the model drops, like failed writes, stay dropped):`);
      for (const o of p.minimal) lines.push(`    ${opLabel(o, describe)}`);
    } else {
      const window = failingWindow(p);
      lines.push(`  failing window (${window.length} ops):`);
      for (const o of window) lines.push(`    ${opLabel(o, describe)}`);
    }
  }
  for (const p of unknown) {
    lines.push('', `${keyName(p)}: unknown (${p.reason ?? 'gave up'}); explored ${p.stats.steps} steps, ${p.stats.cacheSize} configurations, longest linearization ${p.stats.maxDepth} of ${p.ops.length} ops.`);
  }
  return lines;
}

export function reportVerdict(r: CheckReport): Verdict {
  return r.verdict;
}

/** Human-readable report: the verdict, then the smallest failing parts. */
export function formatText(r: CheckReport, describe: Describe): string {
  const lines = [`verdict: ${r.verdict}`];
  if (r.kind === 'linearizability') lines.push(...linearText(r, describe));
  else if (r.kind === 'transactional') {
    lines.push(`${r.txnCount} transactions checked (${r.workload}); anomalies: ${r.anomalyTypes.join(', ') || 'none'}`);
    for (const a of r.anomalies) lines.push('', `${a.name}: ${a.explanation}`, ...a.ops.map((o) => `    ${opLabel(o, describe)}`));
  } else {
    lines.push(`${r.watchers} watchers, ${r.eventsChecked} events checked; anomalies: ${r.anomalyTypes.join(', ') || 'none'}`);
    for (const a of r.anomalies) lines.push(`${a.name}: ${a.explanation}`);
  }
  return lines.join('\n') + '\n';
}
