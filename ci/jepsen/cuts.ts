/**
 * A partition of the vocabulary as the set of directed links it cuts. The network layer turns
 * each cut link (from, to) into a black-hole route in `from`'s namespace towards `to`.
 */
import type { NodeName, Partition } from '../../nemesis/index.js';

export interface Cut {
  readonly from: NodeName;
  readonly to: NodeName;
}

function both(a: readonly NodeName[], b: readonly NodeName[]): Cut[] {
  const cuts: Cut[] = [];
  for (const x of a) for (const y of b) if (x !== y) cuts.push({ from: x, to: y }, { from: y, to: x });
  return cuts;
}

/** Directed links a partition cuts, without duplicates; `leader` resolves isolate-leader. */
export function cutsOf(p: Partition, nodes: readonly NodeName[], leader: NodeName | undefined): Cut[] {
  let cuts: Cut[];
  switch (p.kind) {
    case 'halves':
      cuts = both(p.sides[0], p.sides[1]);
      break;
    case 'isolate-leader':
      cuts = leader === undefined ? [] : both([leader], nodes.filter((n) => n !== leader));
      break;
    case 'bridge':
      cuts = both(p.left, p.right);
      break;
    case 'ring': {
      // Each node keeps only its two neighbours in the ring order.
      const n = p.order.length;
      const neighbours = (i: number, j: number): boolean => (i + 1) % n === j || (j + 1) % n === i;
      cuts = [];
      p.order.forEach((a, i) => p.order.forEach((b, j) => {
        if (i !== j && !neighbours(i, j)) cuts.push({ from: a, to: b });
      }));
      break;
    }
    case 'one-way':
      // A route can only drop what a node sends: `from` stops reaching `to`. Over TCP this
      // also starves the replies, so a one-way cut behaves close to a two-way one.
      cuts = p.from.flatMap((a) => p.to.filter((b) => b !== a).map((b) => ({ from: a, to: b })));
      break;
  }
  const seen = new Set<string>();
  return cuts.filter((c) => {
    const k = `${c.from}>${c.to}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
