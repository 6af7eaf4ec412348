/**
 * An ordered map from strings to values: a B+ tree whose leaves are chained left to right, as
 * etcd's treeIndex uses a B-tree. Insert is O(log n) with a copy of at most NODE_MAX slots; an
 * ordered scan from any key is one descent and then a walk along the leaf chain. The key index
 * needs no single-key delete (compaction rebuilds the tree from the survivors in O(n), which it
 * pays anyway to visit every key), so there is none: nodes never underflow.
 */
import { assert } from '../util/index.js';

/** Slots per node. 64 keeps the per-insert copy small and the tree 3-4 levels deep at 1M keys. */
const NODE_MAX = 64;
/** Fill of the leaves a bulk build makes: room for a few inserts before the first split. */
const BULK_FILL = 48;

interface Leaf<V> {
  readonly leaf: true;
  keys: string[];
  vals: V[];
  next: Leaf<V> | undefined;
}

interface Branch<V> {
  readonly leaf: false;
  /** keys[i] is the smallest key under children[i]. */
  keys: string[];
  children: Array<Node<V>>;
}

type Node<V> = Leaf<V> | Branch<V>;

/** First slot whose key is >= k. */
function lowerBound(keys: readonly string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] as string) < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The child of a branch that holds k (or would): the last whose smallest key is <= k. */
function childIndex(keys: readonly string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] as string) <= k) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? 0 : lo - 1;
}

function emptyLeaf<V>(): Leaf<V> {
  return { leaf: true, keys: [], vals: [], next: undefined };
}

export class BTree<V> {
  private root: Node<V> = emptyLeaf<V>();
  private count = 0;

  /** nodeMax below the default only makes deep trees out of few keys, for tests. */
  constructor(private readonly nodeMax = NODE_MAX) {
    assert(Number.isInteger(nodeMax) && nodeMax >= 4, 'b-tree node size must be an integer >= 4');
  }

  size(): number {
    return this.count;
  }

  /** Inserts or replaces; true if the key was new. */
  set(k: string, v: V): boolean {
    const before = this.count;
    const split = this.insertInto(this.root, k, v);
    if (split !== undefined) {
      const left = this.root;
      assert(left.keys.length > 0 && split.keys.length > 0, 'b-tree split produced an empty half');
      this.root = { leaf: false, keys: [left.keys[0] as string, split.keys[0] as string], children: [left, split] };
    }
    return this.count > before;
  }

  get(k: string): V | undefined {
    const leaf = this.findLeaf(k);
    const i = lowerBound(leaf.keys, k);
    return leaf.keys[i] === k ? leaf.vals[i] : undefined;
  }

  /** Visits entries with key >= from (every entry if from is undefined) in key order; stops when fn returns false. */
  forEachFrom(from: string | undefined, fn: (k: string, v: V) => boolean | void): void {
    let leaf: Leaf<V> | undefined = from === undefined ? this.firstLeaf() : this.findLeaf(from);
    let i = from === undefined ? 0 : lowerBound(leaf.keys, from);
    while (leaf !== undefined) {
      const { keys, vals } = leaf;
      for (; i < keys.length; i++) if (fn(keys[i] as string, vals[i] as V) === false) return;
      leaf = leaf.next;
      i = 0;
    }
  }

  clear(): void {
    this.root = emptyLeaf<V>();
    this.count = 0;
  }

  /** Replaces the content with entries already in strictly increasing key order, in O(n). */
  static fromSorted<V>(keys: readonly string[], vals: readonly V[], nodeMax = NODE_MAX): BTree<V> {
    assert(keys.length === vals.length, 'b-tree bulk build: keys and values differ in length');
    const t = new BTree<V>(nodeMax);
    for (let i = 1; i < keys.length; i++) assert((keys[i - 1] as string) < (keys[i] as string), 'b-tree bulk build: keys not increasing');
    const fill = nodeMax === NODE_MAX ? BULK_FILL : Math.max(2, Math.floor((nodeMax * 3) / 4));
    if (keys.length === 0) return t;
    let level: Array<Node<V>> = [];
    let prev: Leaf<V> | undefined;
    for (let at = 0; at < keys.length; at += fill) {
      const leaf: Leaf<V> = { leaf: true, keys: keys.slice(at, at + fill), vals: vals.slice(at, at + fill), next: undefined };
      if (prev !== undefined) prev.next = leaf;
      prev = leaf;
      level.push(leaf);
    }
    while (level.length > 1) {
      const up: Array<Node<V>> = [];
      for (let at = 0; at < level.length; at += fill) {
        const children = level.slice(at, at + fill);
        up.push({ leaf: false, keys: children.map((c) => c.keys[0] as string), children });
      }
      level = up;
    }
    t.root = level[0] as Node<V>;
    t.count = keys.length;
    return t;
  }

  /** Full structural check (tests and after bulk loads): order, fill, separators, leaf chain, count. */
  checkWellFormed(): void {
    const leaves: Array<Leaf<V>> = [];
    const depths = new Set<number>();
    const walk = (n: Node<V>, depth: number, lo: string | undefined, hi: string | undefined): void => {
      assert(n === this.root || n.keys.length > 0, 'b-tree: empty non-root node');
      assert(n.keys.length <= this.nodeMax, 'b-tree: overfull node');
      for (let i = 0; i < n.keys.length; i++) {
        const k = n.keys[i] as string;
        assert(i === 0 || (n.keys[i - 1] as string) < k, 'b-tree: keys not increasing');
        assert((lo === undefined || k >= lo) && (hi === undefined || k < hi), 'b-tree: key outside its parent separators');
      }
      if (n.leaf) {
        assert(n.keys.length === n.vals.length, 'b-tree: leaf keys and values differ');
        depths.add(depth);
        leaves.push(n);
        return;
      }
      assert(n.children.length === n.keys.length && n.children.length > 0, 'b-tree: branch arity');
      n.children.forEach((c, i) => {
        assert(c.keys[0] === n.keys[i], 'b-tree: separator is not the child minimum');
        walk(c, depth + 1, n.keys[i], i + 1 < n.keys.length ? n.keys[i + 1] : hi);
      });
    };
    walk(this.root, 0, undefined, undefined);
    assert(depths.size === 1, 'b-tree: leaves at different depths');
    leaves.forEach((l, i) => assert(l.next === leaves[i + 1], 'b-tree: leaf chain broken'));
    assert(leaves.reduce((n, l) => n + l.keys.length, 0) === this.count, 'b-tree: count drifted');
  }

  private firstLeaf(): Leaf<V> {
    let n = this.root;
    while (!n.leaf) n = n.children[0] as Node<V>;
    return n;
  }

  private findLeaf(k: string): Leaf<V> {
    let n = this.root;
    while (!n.leaf) n = n.children[childIndex(n.keys, k)] as Node<V>;
    return n;
  }

  /** Inserts under n; returns the new right sibling when n split. */
  private insertInto(n: Node<V>, k: string, v: V): Node<V> | undefined {
    if (n.leaf) {
      const i = lowerBound(n.keys, k);
      if (n.keys[i] === k) {
        n.vals[i] = v;
        return undefined;
      }
      n.keys.splice(i, 0, k);
      n.vals.splice(i, 0, v);
      this.count++;
      return n.keys.length > this.nodeMax ? this.splitLeaf(n) : undefined;
    }
    const i = childIndex(n.keys, k);
    const child = n.children[i] as Node<V>;
    const split = this.insertInto(child, k, v);
    // A key below everything goes to the first child and becomes its (and so our) minimum.
    if (i === 0) n.keys[0] = child.keys[0] as string;
    if (split === undefined) return undefined;
    n.keys.splice(i + 1, 0, split.keys[0] as string);
    n.children.splice(i + 1, 0, split);
    if (n.keys.length <= this.nodeMax) return undefined;
    const half = n.keys.length >>> 1;
    const right: Branch<V> = { leaf: false, keys: n.keys.slice(half), children: n.children.slice(half) };
    n.keys.length = half;
    n.children.length = half;
    return right;
  }

  private splitLeaf(n: Leaf<V>): Leaf<V> {
    const half = n.keys.length >>> 1;
    const right: Leaf<V> = { leaf: true, keys: n.keys.slice(half), vals: n.vals.slice(half), next: n.next };
    n.keys.length = half;
    n.vals.length = half;
    n.next = right;
    assert((n.keys[half - 1] as string) < (right.keys[0] as string), 'b-tree: leaf split out of order');
    return right;
  }
}
