import type { Operation, Value } from '../../histories/index.js';

export const WW = 1;
export const WR = 2;
export const RW = 4;
export const PROCESS = 8;
export const REALTIME = 16;
const DATA = WW | WR | RW;

export type EdgeKind = 'ww' | 'wr' | 'rw' | 'process' | 'realtime';
const KIND_BITS: ReadonlyArray<[number, EdgeKind]> = [[WW, 'ww'], [WR, 'wr'], [RW, 'rw'], [PROCESS, 'process'], [REALTIME, 'realtime']];

export interface Edge {
  readonly from: Operation;
  readonly to: Operation;
  readonly kind: EdgeKind;
  /** Why the edge exists, e.g. "key 3: appended 5 then 6". */
  readonly why: string;
}

export interface Anomaly {
  /** G0, G1a, G1b, G1c, G-single, G2-item (with -process / -realtime), lost-update, internal... */
  readonly name: string;
  readonly ops: readonly Operation[];
  /** For cycle anomalies: the cycle, edge by edge, ending where it started. */
  readonly cycle?: readonly Edge[];
  readonly explanation: string;
}

/** Dependency graph between transactions, edges labelled by kind with the first reason. */
export class DepGraph {
  private readonly out = new Map<number, Map<number, number>>();
  private readonly reasons = new Map<string, string>();
  readonly byId = new Map<number, Operation>();

  add(from: Operation, to: Operation, bit: number, why: string): void {
    if (from.id === to.id) return;
    this.byId.set(from.id, from);
    this.byId.set(to.id, to);
    let m = this.out.get(from.id);
    if (m === undefined) {
      m = new Map();
      this.out.set(from.id, m);
    }
    m.set(to.id, (m.get(to.id) ?? 0) | bit);
    const rk = `${from.id}>${to.id}>${bit}`;
    if (!this.reasons.has(rk)) this.reasons.set(rk, why);
  }

  edges(from: number): Map<number, number> | undefined {
    return this.out.get(from);
  }

  edge(from: number, to: number, bit: number): Edge {
    const kind = (KIND_BITS.find(([b]) => b === bit) ?? [0, 'ww'])[1];
    return {
      from: this.byId.get(from) as Operation,
      to: this.byId.get(to) as Operation,
      kind,
      why: this.reasons.get(`${from}>${to}>${bit}`) ?? '',
    };
  }

  /** Strongly connected components with more than one node (Tarjan, iterative). */
  sccs(): number[][] {
    const index = new Map<number, number>();
    const low = new Map<number, number>();
    const onStack = new Set<number>();
    const stack: number[] = [];
    const result: number[][] = [];
    let counter = 0;
    for (const root of this.byId.keys()) {
      if (index.has(root)) continue;
      const work: Array<{ v: number; it: Iterator<number> }> = [];
      const visit = (v: number): void => {
        index.set(v, counter);
        low.set(v, counter++);
        stack.push(v);
        onStack.add(v);
        work.push({ v, it: (this.out.get(v) ?? new Map<number, number>()).keys() });
      };
      visit(root);
      while (work.length > 0) {
        const top = work[work.length - 1] as { v: number; it: Iterator<number> };
        const nx = top.it.next();
        if (!nx.done) {
          const w = nx.value;
          if (!index.has(w)) visit(w);
          else if (onStack.has(w)) low.set(top.v, Math.min(low.get(top.v) as number, index.get(w) as number));
          continue;
        }
        work.pop();
        const parent = work[work.length - 1];
        if (parent !== undefined) low.set(parent.v, Math.min(low.get(parent.v) as number, low.get(top.v) as number));
        if (low.get(top.v) === index.get(top.v)) {
          const comp: number[] = [];
          let w: number;
          do {
            w = stack.pop() as number;
            onStack.delete(w);
            comp.push(w);
          } while (w !== top.v);
          if (comp.length > 1) result.push(comp);
        }
      }
    }
    return result;
  }

  /**
   * Shortest path from `start` to `goal` inside `members`, using only edges with a bit in
   * `allowed`; returns the edges (each labelled with one allowed bit, data kinds preferred).
   */
  path(start: number, goal: number, members: ReadonlySet<number>, allowed: number): Edge[] | undefined {
    const parent = new Map<number, [number, number]>();
    const queue = [start];
    const seen = new Set([start]);
    for (let qi = 0; qi < queue.length; qi++) {
      const v = queue[qi] as number;
      if (v === goal) {
        const edges: Edge[] = [];
        for (let x = goal; x !== start; ) {
          const [p, bit] = parent.get(x) as [number, number];
          edges.push(this.edge(p, x, bit));
          x = p;
        }
        return edges.reverse();
      }
      for (const [w, mask] of this.out.get(v) ?? []) {
        if (seen.has(w) || !members.has(w) || (mask & allowed) === 0) continue;
        seen.add(w);
        parent.set(w, [v, lowestBit(mask & allowed)]);
        queue.push(w);
      }
    }
    return undefined;
  }
}

function lowestBit(mask: number): number {
  return mask & -mask;
}

interface CycleSpec {
  readonly name: string;
  /** Edge kind the cycle must contain (the search starts with one such edge). */
  readonly seed: number;
  /** Edge kinds allowed on the way back. */
  readonly back: number;
}

// Searched in this order; the first spec that finds a cycle in a component names it.
const SPECS: readonly CycleSpec[] = [
  { name: 'G0', seed: WW, back: WW },
  { name: 'G1c', seed: WR, back: WW | WR },
  { name: 'G-single', seed: RW, back: WW | WR },
  { name: 'G2-item', seed: RW, back: DATA },
];

function suffix(cycle: readonly Edge[]): string {
  if (cycle.some((e) => e.kind === 'realtime')) return '-realtime';
  if (cycle.some((e) => e.kind === 'process')) return '-process';
  return '';
}

function findCycle(g: DepGraph, comp: ReadonlySet<number>, spec: CycleSpec, extra: number): Edge[] | undefined {
  const seeds = spec.seed === WW ? WW | extra : spec.seed;
  for (const a of comp) {
    for (const [b, mask] of g.edges(a) ?? []) {
      if (!comp.has(b) || (mask & seeds) === 0) continue;
      const back = g.path(b, a, comp, spec.back | extra);
      if (back !== undefined) return [g.edge(a, b, lowestBit(mask & seeds)), ...back];
    }
  }
  return undefined;
}

function describeCycle(cycle: readonly Edge[], describe: (op: Operation) => string): string {
  return cycle.map((e) => `  T${e.from.id} [${describe(e.from)}] -${e.kind}-> T${e.to.id}${e.why === '' ? '' : ` (${e.why})`}`).join('\n');
}

/**
 * Names one cycle per strongly connected component: the first of G0, G1c, G-single, G2-item
 * over data dependencies alone, else the same searches with process and then real-time order
 * allowed (names suffixed as Elle does).
 */
export function cycleAnomalies(g: DepGraph, describe: (op: Operation) => string): Anomaly[] {
  const found: Anomaly[] = [];
  for (const comp of g.sccs()) {
    const members = new Set(comp);
    let cycle: Edge[] | undefined;
    let name = '';
    for (const extra of [0, PROCESS, PROCESS | REALTIME]) {
      for (const spec of SPECS) {
        cycle = findCycle(g, members, spec, extra);
        if (cycle !== undefined) {
          name = spec.name;
          break;
        }
      }
      if (cycle !== undefined) break;
    }
    if (cycle === undefined) continue;
    const full = name + suffix(cycle);
    found.push({
      name: full,
      ops: cycle.map((e) => e.from),
      cycle,
      explanation: `${full} cycle of ${cycle.length} transactions:\n${describeCycle(cycle, describe)}`,
    });
  }
  return found;
}

/** Process order and real-time order edges (real-time transitively reduced, as Elle does). */
export function addOrderEdges(g: DepGraph, txns: readonly Operation[]): void {
  const lastOfProcess = new Map<string, Operation>();
  const byCall = [...txns].sort((a, b) => a.callIndex - b.callIndex);
  for (const t of byCall) {
    const k = String(t.process);
    const prev = lastOfProcess.get(k);
    if (prev !== undefined) g.add(prev, t, PROCESS, `process ${k} ran T${prev.id} then T${t.id}`);
    lastOfProcess.set(k, t);
  }
  for (const a of byCall) {
    if (a.returnIndex === Infinity) continue;
    let frontier = Infinity;
    for (const b of byCall) {
      if (b.callIndex <= a.returnIndex) continue;
      if (b.callIndex > frontier) break;
      g.add(a, b, REALTIME, `T${a.id} completed before T${b.id} began`);
      frontier = Math.min(frontier, b.returnIndex);
    }
  }
}

/** Micro-op of a transaction: [f, key, value]. */
export type Mop = readonly [f: string, key: Value, value: Value];

export function mopsOf(v: Value | undefined): Mop[] {
  if (!Array.isArray(v)) return [];
  return v.map((m) => {
    if (!Array.isArray(m) || m.length < 2) throw new Error(`transaction micro-op must be [f, key, value]: ${JSON.stringify(m)}`);
    return [String(m[0]), m[1] as Value, (m[2] ?? null) as Value] as const;
  });
}

export function keyText(k: Value): string {
  return typeof k === 'string' ? k : JSON.stringify(k);
}

export function describeTxn(op: Operation): string {
  const mops = mopsOf(op.status === 'ok' ? op.output : op.input);
  const body = mops.map(([f, k, v]) => `${f} ${keyText(k)} ${JSON.stringify(v)}`).join(', ');
  return op.status === 'ok' ? body : `${body} (${op.status})`;
}
