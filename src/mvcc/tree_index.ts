/**
 * All key indexes in key order. Keys are held as latin1 strings (one char per byte): JavaScript
 * string order over chars < 256 equals byte order, which makes the B+ tree and the map cheap.
 * The map answers point lookups (every put and single-key range) in O(1); the tree keeps the
 * order for range scans with O(log n) inserts.
 */
import { assert } from '../util/index.js';
import { BTree } from './btree.js';
import { KeyIndex, type IndexHit } from './key_index.js';
import type { Revision } from './revision.js';

/** Up to this many bytes, one fromCharCode call beats a Buffer wrapper and its latin1 decode. */
const SHORT_KEY_BYTES = 64;

export function keyString(key: Uint8Array): string {
  if (key.length <= SHORT_KEY_BYTES) return String.fromCharCode.apply(null, key as unknown as number[]);
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

export interface IndexEntry extends IndexHit {
  key: Uint8Array;
}

export class TreeIndex {
  private readonly byKey = new Map<string, KeyIndex>();
  private ordered = new BTree<KeyIndex>();
  /** While bulk loading (rebuild on open), new keys skip the tree until endBulkLoad(). */
  private bulk = false;

  size(): number {
    return this.byKey.size;
  }

  getOrCreate(key: Uint8Array): KeyIndex {
    return this.getOrCreateByText(keyString(key), key);
  }

  /** getOrCreate with the key's keyString() already computed (the put path has it). */
  getOrCreateByText(k: string, key: Uint8Array): KeyIndex {
    let ki = this.byKey.get(k);
    if (ki === undefined) {
      ki = new KeyIndex(key.slice());
      this.byKey.set(k, ki);
      if (!this.bulk) assert(this.ordered.set(k, ki), 'key in the tree index order but not in its map');
    }
    return ki;
  }

  find(key: Uint8Array): KeyIndex | undefined {
    return this.byKey.get(keyString(key));
  }

  findByText(k: string): KeyIndex | undefined {
    return this.byKey.get(k);
  }

  put(key: Uint8Array, rev: Revision): void {
    this.getOrCreate(key).put(rev);
  }

  /**
   * Visit key indexes in [key, end). `end` undefined: just `key`. `end` empty: no upper bound
   * (etcd's range_end "\0" after mkGteRange).
   */
  visit(key: Uint8Array, end: Uint8Array | undefined, fn: (ki: KeyIndex) => boolean | void): void {
    if (end === undefined) {
      const ki = this.find(key);
      if (ki !== undefined) fn(ki);
      return;
    }
    const lo = keyString(key);
    const hi = end.length === 0 ? undefined : keyString(end);
    this.ordered.forEachFrom(lo, (k, ki) => {
      if (hi !== undefined && k >= hi) return false;
      return fn(ki) !== false;
    });
  }

  /**
   * Live keys at atRev in [key, end), in key order: the first `limit` (0 = all) as entries, and
   * the count of all of them (etcd counts the whole range even when it returns a few).
   */
  revisions(key: Uint8Array, end: Uint8Array | undefined, atRev: number, limit = 0): { hits: IndexEntry[]; total: number } {
    const hits: IndexEntry[] = [];
    let total = 0;
    this.visit(key, end, (ki) => {
      if (limit > 0 && hits.length >= limit) {
        if (ki.liveAt(atRev)) total++;
        return;
      }
      const hit = ki.get(atRev);
      if (hit === undefined) return;
      total++;
      hits.push({ key: ki.key, ...hit });
    });
    return { hits, total };
  }

  countRevisions(key: Uint8Array, end: Uint8Array | undefined, atRev: number): number {
    let n = 0;
    this.visit(key, end, (ki) => {
      if (ki.liveAt(atRev)) n++;
    });
    return n;
  }

  /** Compact every key; returns the revisions that must stay in the backend. */
  compact(atRev: number): Set<string> {
    const available = new Set<string>();
    const emptied: string[] = [];
    for (const [k, ki] of this.byKey) {
      ki.compact(atRev, available);
      if (ki.isEmpty()) emptied.push(k);
    }
    if (emptied.length > 0) {
      for (const k of emptied) this.byKey.delete(k);
      const keys: string[] = [];
      const kis: KeyIndex[] = [];
      this.ordered.forEachFrom(undefined, (k, ki) => {
        if (!ki.isEmpty()) {
          keys.push(k);
          kis.push(ki);
        }
      });
      this.ordered = BTree.fromSorted(keys, kis);
    }
    assert(this.ordered.size() === this.byKey.size, 'tree index order and map disagree');
    return available;
  }

  keep(atRev: number): Set<string> {
    const available = new Set<string>();
    for (const ki of this.byKey.values()) ki.keep(atRev, available);
    return available;
  }

  beginBulkLoad(): void {
    assert(this.byKey.size === 0, 'bulk load into a non-empty index');
    this.bulk = true;
  }

  /** Sort once after loading: inserting keys one by one in revision order would be quadratic. */
  endBulkLoad(): void {
    this.bulk = false;
    const keys = [...this.byKey.keys()].sort();
    const kis = keys.map((k) => this.byKey.get(k) as KeyIndex);
    this.ordered = BTree.fromSorted(keys, kis);
    assert(this.ordered.size() === this.byKey.size, 'tree index order and map disagree');
    // A freshly loaded index is checked in full: a corrupt backend must stop the node here.
    for (const ki of kis) ki.checkWellFormed();
  }

  /** Structural check of the order against the map (tests). */
  checkWellFormed(): void {
    this.ordered.checkWellFormed();
    assert(this.ordered.size() === this.byKey.size, 'tree index order and map disagree');
    this.ordered.forEachFrom(undefined, (k, ki) => assert(this.byKey.get(k) === ki, 'tree index order and map disagree on a key'));
  }

  clear(): void {
    this.byKey.clear();
    this.ordered.clear();
  }
}
