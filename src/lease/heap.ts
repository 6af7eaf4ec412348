/**
 * A binary min-heap of (timeMs, id, seq) items, etcd's LeaseQueue. Updates are lazy: a new item is
 * pushed and the owner remembers the seq of its current one, so stale items are recognised and
 * dropped when they reach the top instead of being searched for. Ties on time break on the id so
 * the pop order, and with it every proposal made from it, is the same on every run.
 */
import { assert } from '../util/index.js';

export interface TimedItem {
  readonly timeMs: number;
  readonly id: bigint;
  readonly seq: number;
}

function less(a: TimedItem, b: TimedItem): boolean {
  if (a.timeMs !== b.timeMs) return a.timeMs < b.timeMs;
  if (a.id !== b.id) return a.id < b.id;
  return a.seq < b.seq;
}

export class TimedHeap {
  private items: TimedItem[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): TimedItem | undefined {
    return this.items[0];
  }

  push(item: TimedItem): void {
    assert(!Number.isNaN(item.timeMs), 'heap item time is NaN');
    this.items.push(item);
    this.siftUp(this.items.length - 1);
  }

  pop(): TimedItem | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined) return undefined;
    if (items.length > 0) {
      items[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  clear(): void {
    this.items = [];
  }

  /** Rebuilds from the items `keep` accepts: bounds the garbage that lazy updates leave behind. */
  compact(keep: (item: TimedItem) => boolean): void {
    const live = this.items.filter(keep);
    this.items = [];
    for (const item of live) this.push(item);
  }

  private siftUp(i: number): void {
    const items = this.items;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const a = items[i] as TimedItem;
      const p = items[parent] as TimedItem;
      if (!less(a, p)) break;
      items[i] = p;
      items[parent] = a;
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const items = this.items;
    const n = items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && less(items[l] as TimedItem, items[m] as TimedItem)) m = l;
      if (r < n && less(items[r] as TimedItem, items[m] as TimedItem)) m = r;
      if (m === i) return;
      const tmp = items[i] as TimedItem;
      items[i] = items[m] as TimedItem;
      items[m] = tmp;
      i = m;
    }
  }
}
