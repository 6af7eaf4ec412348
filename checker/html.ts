import type { Operation } from '../histories/index.js';
import type { LinearizabilityReport, PartitionReport } from './linear/check.js';
import { failingWindow, type CheckReport, type Describe } from './report.js';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

interface Section {
  readonly title: string;
  readonly verdict: string;
  readonly ops: readonly Operation[];
  /** op id -> class: "stuck", "conflict", "anomaly". */
  readonly marks: ReadonlyMap<number, string>;
  /** op id -> 1-based position in the longest linearization. */
  readonly order: ReadonlyMap<number, number>;
  readonly notes: readonly string[];
}

const ROW_PX = 24;

/** One timeline: a row per process, a bar per op from invocation to completion. */
function renderSection(s: Section, describe: Describe): string {
  const processes = [...new Set(s.ops.map((o) => String(o.process)))].sort((a, b) => (Number(a) - Number(b)) || (a < b ? -1 : 1));
  const row = new Map(processes.map((p, i) => [p, i]));
  // Compress positions to ranks of events so dense and sparse stretches both stay readable.
  const points = [...new Set(s.ops.flatMap((o) => [o.callIndex, o.returnIndex === Infinity ? -1 : o.returnIndex]).filter((x) => x >= 0))].sort((a, b) => a - b);
  const rank = new Map(points.map((p, i) => [p, i]));
  const span = Math.max(1, points.length);
  const bars = s.ops.map((o) => {
    const x0 = ((rank.get(o.callIndex) ?? 0) / span) * 100;
    const x1 = o.returnIndex === Infinity ? 100 : (((rank.get(o.returnIndex) ?? 0) + 1) / span) * 100;
    const cls = ['op', o.status, s.marks.get(o.id) ?? ''].join(' ').trim();
    const n = s.order.get(o.id);
    const label = `${n === undefined ? '' : `#${n} `}${describe(o)}`;
    const title = `op ${o.invoke.index} · process ${String(o.process)} · ${o.status}${n === undefined ? '' : ` · linearized #${n}`}\n${describe(o)}`;
    return `<div class="${cls}" data-op="${o.invoke.index}" title="${esc(title)}" style="left:${x0.toFixed(3)}%;width:${Math.max(0.2, x1 - x0).toFixed(3)}%;top:${(row.get(String(o.process)) ?? 0) * ROW_PX}px">${esc(label)}</div>`;
  });
  const labels = processes.map((p, i) => `<div class="proc" style="top:${i * ROW_PX}px">${esc(p)}</div>`).join('');
  const height = processes.length * ROW_PX + 4;
  const notes = s.notes.map((n) => `<li>${esc(n)}</li>`).join('');
  return `<section><h2>${esc(s.title)} <span class="v ${esc(s.verdict)}">${esc(s.verdict)}</span></h2>${notes === '' ? '' : `<ul>${notes}</ul>`}
<div class="tl"><div class="procs" style="height:${height}px">${labels}</div><div class="lane" style="height:${height}px">${bars.join('')}</div></div></section>`;
}

function linearSections(r: LinearizabilityReport, describe: Describe): Section[] {
  // Failing and unknown parts first; valid parts are summarised, not drawn, past the first few.
  const parts = [...r.partitions].sort((a, b) => rankVerdict(a.verdict) - rankVerdict(b.verdict));
  return parts.slice(0, Math.max(8, parts.filter((p) => p.verdict !== 'ok').length)).map((p) => {
    const marks = new Map<number, string>();
    for (const o of p.concurrent) marks.set(o.id, 'conflict');
    for (const o of p.doomed) marks.set(o.id, 'stuck');
    if (p.stuck !== undefined) marks.set(p.stuck.id, 'stuck');
    for (const o of p.minimal ?? []) marks.set(o.id, `${marks.get(o.id) ?? ''} core`.trim());
    const order = new Map(p.longest.map((o, i) => [o.id, i + 1]));
    const notes: string[] = [];
    if (p.stuck !== undefined) notes.push(`Cannot linearize op ${p.stuck.invoke.index}: ${describe(p.stuck)} (red); competing ops in orange.`);
    notes.push(`Longest linearization: ${p.longest.length} of ${p.ops.length} ops (numbers #1..#${p.longest.length}), final state ${p.longestState}.`);
    for (const o of p.doomed) notes.push(`Every next step makes op ${o.invoke.index} impossible: ${describe(o)} (red).`);
    if (p.minimal !== undefined) notes.push(`Smallest set of results that cannot all hold, whatever the other ops did (bold outline): ops ${p.minimal.map((o) => o.invoke.index).join(', ')}.`);
    else if (p.verdict === 'fail') notes.push(`Failing window: ops ${failingWindow(p).map((o) => o.invoke.index).join(', ')}.`);
    if (p.reason !== undefined) notes.push(`Unknown: ${p.reason} after ${p.stats.steps} steps.`);
    const verdict = p.verdict === 'ok' ? 'linearizable' : p.verdict === 'fail' ? 'not linearizable' : 'unknown';
    const shown = focus(p);
    if (shown.length < p.ops.length) notes.push(`Showing the ${shown.length} ops around the failure (of ${p.ops.length}).`);
    return { title: p.key === '' ? 'history' : `key ${JSON.stringify(p.key)}`, verdict, ops: shown, marks, order, notes };
  });
}

/** For a failure, the ops overlapping the failing window and the last linearized steps. */
function focus(p: PartitionReport): readonly Operation[] {
  if (p.stuck === undefined) return p.ops;
  const window = failingWindow(p);
  const recent = p.longest.slice(-20);
  const from = Math.min(...window.map((o) => o.callIndex), ...recent.map((o) => o.callIndex));
  const to = p.stuck.returnIndex;
  const shown = new Set(p.ops.filter((o) => o.callIndex <= to && o.returnIndex >= from));
  for (const o of [...p.doomed, ...(p.minimal ?? [])]) shown.add(o);
  return p.ops.filter((o) => shown.has(o));
}

function rankVerdict(v: string): number {
  return v === 'fail' ? 0 : v === 'unknown' ? 1 : 2;
}

/** A self-contained HTML page (inline CSS, no scripts or fetches) showing the verdict. */
export function renderHtml(r: CheckReport, ops: readonly Operation[], describe: Describe, title = 'history'): string {
  let sections: Section[];
  if (r.kind === 'linearizability') sections = linearSections(r, describe);
  else {
    const marks = new Map<number, string>();
    const anomalies = r.kind === 'transactional' ? r.anomalies.map((a) => ({ name: a.name, text: a.explanation, ops: a.ops })) : r.anomalies.map((a) => ({ name: a.name, text: a.explanation, ops: a.watcher === undefined ? [] : [a.watcher] }));
    for (const a of anomalies) for (const o of a.ops) marks.set(o.id, 'stuck');
    sections = [{ title: `${r.kind} check`, verdict: r.verdict, ops, marks, order: new Map(), notes: anomalies.slice(0, 200).map((a) => `${a.name}: ${a.text}`) }];
  }
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}: ${esc(r.verdict)}</title><style>
body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#222}
h1{font-size:20px}h2{font-size:15px;margin:18px 0 4px}
.v{padding:1px 6px;border-radius:3px;color:#fff;background:#2a7}.v.invalid,.v.not.linearizable{background:#c22}.v.unknown{background:#a70}
ul{margin:4px 0 8px 18px;padding:0}
.tl{display:flex;border:1px solid #ccc;overflow-x:auto}
.procs{position:relative;width:70px;flex:none;border-right:1px solid #ccc;background:#f6f6f6}
.proc{position:absolute;left:4px;height:${ROW_PX}px;line-height:${ROW_PX}px;font-weight:600}
.lane{position:relative;flex:1;min-width:1000px}
.op{position:absolute;height:${ROW_PX - 4}px;margin-top:2px;line-height:${ROW_PX - 4}px;font-size:11px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;background:#cfe3ff;border:1px solid #6a9be0;border-radius:3px;box-sizing:border-box;padding:0 3px}
.op.info{border-style:dashed;background:#eee}.op.fail{background:#f3f3f3;color:#777}
.op.core{border-width:3px}.op.conflict{background:#ffd9a6;border-color:#e08a00}.op.stuck{background:#ff9c9c;border-color:#c00;font-weight:600}
</style></head><body><h1>${esc(title)} <span class="v ${esc(r.verdict)}">${esc(r.verdict)}</span></h1>
<p>Bars run from invocation to completion, one row per process; dashed bars never completed (outcome unknown). Hover a bar for details.</p>
${sections.map((s) => renderSection(s, describe)).join('\n')}
</body></html>
`;
}
