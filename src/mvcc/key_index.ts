/**
 * The per-key index, with etcd's keyIndex semantics. A key's life is a list of generations; a
 * generation runs from a create to a tombstone (delete). The last generation is empty when the key
 * is currently deleted. Compaction drops whole generations that ended before the compaction
 * revision, and within the surviving generation all but the latest revision <= it. A tombstone at
 * exactly the compaction revision is kept (etcd 3.5.15+ and 3.4.33+, etcd-io/etcd#18089: a watcher
 * resuming at the compact revision must still see that delete); older etcd dropped it. A generation's
 * `ver` and `created` are never rewritten, so versions stay right after compaction.
 */
import { assert } from '../util/index.js';
import { compareRev, revGreater, type Revision } from './revision.js';

export interface Generation {
  /** Number of puts (and the tombstone) this generation has seen, compacted ones included. */
  ver: number;
  created: Revision;
  revs: Revision[];
}

export interface IndexHit {
  modified: Revision;
  created: Revision;
  version: number;
}

const ZERO: Revision = { main: 0, sub: 0 };

export class KeyIndex {
  modified: Revision = ZERO;
  generations: Generation[] = [{ ver: 0, created: ZERO, revs: [] }];

  constructor(readonly key: Uint8Array) {}

  isEmpty(): boolean {
    return this.generations.length === 1 && this.lastGen().revs.length === 0;
  }

  private lastGen(): Generation {
    const g = this.generations[this.generations.length - 1];
    assert(g !== undefined, 'key index without generations');
    return g;
  }

  put(rev: Revision): void {
    assert(revGreater(rev, this.modified), () => `put rev ${rev.main}.${rev.sub} not after ${this.modified.main}.${this.modified.sub}`);
    const g = this.lastGen();
    if (g.revs.length === 0) g.created = rev;
    g.revs.push(rev);
    g.ver++;
    this.modified = rev;
  }

  /** Rebuild from the backend: the first surviving revision of a generation carries its create and version. */
  restore(created: Revision, modified: Revision, version: number): void {
    const g = this.lastGen();
    assert(g.revs.length === 0, 'restore into a non-empty generation');
    assert(version >= 1 && created.main <= modified.main, 'restored generation ill-formed');
    g.created = created;
    g.ver = version;
    g.revs.push(modified);
    this.modified = modified;
  }

  /**
   * Rebuild from the backend: a tombstone kept at exactly the compaction revision whose puts were
   * compacted away. It is all that is left of its generation, as compact() leaves it.
   */
  restoreTombstone(rev: Revision): void {
    const g = this.lastGen();
    assert(g.revs.length === 0, 'restored tombstone into a non-empty generation');
    g.created = rev;
    g.ver = 1;
    g.revs.push(rev);
    this.modified = rev;
    this.generations.push({ ver: 0, created: ZERO, revs: [] });
  }

  tombstone(rev: Revision): void {
    assert(!this.isEmpty(), 'tombstone on an empty key index');
    assert(this.lastGen().revs.length > 0, 'tombstone on a deleted key');
    this.put(rev);
    this.generations.push({ ver: 0, created: ZERO, revs: [] });
  }

  /** The generation live at `atRev`, or undefined if the key did not exist then. */
  private findGeneration(atRev: number): Generation | undefined {
    const last = this.generations.length - 1;
    for (let i = last; i >= 0; i--) {
      const g = this.generations[i] as Generation;
      if (g.revs.length === 0) continue;
      if (i !== last && (g.revs[g.revs.length - 1] as Revision).main <= atRev) return undefined;
      if ((g.revs[0] as Revision).main <= atRev) return g;
    }
    return undefined;
  }

  /** Whether the key existed at atRev (get() without building the answer). */
  liveAt(atRev: number): boolean {
    return this.findGeneration(atRev) !== undefined;
  }

  get(atRev: number): IndexHit | undefined {
    const g = this.findGeneration(atRev);
    if (g === undefined) return undefined;
    for (let n = g.revs.length - 1; n >= 0; n--) {
      const r = g.revs[n] as Revision;
      if (r.main <= atRev) {
        const version = g.ver - (g.revs.length - n - 1);
        assert(version >= 1, 'computed version below 1');
        return { modified: r, created: g.created, version };
      }
    }
    return undefined;
  }

  /** Walk newest to oldest; index of the first revision with main <= atRev, recording it. */
  private doCompact(atRev: number, available: Set<string>): { genIdx: number; revIndex: number } {
    let genIdx = 0;
    while (genIdx < this.generations.length - 1) {
      const g = this.generations[genIdx] as Generation;
      if ((g.revs[g.revs.length - 1] as Revision).main >= atRev) break;
      genIdx++;
    }
    const g = this.generations[genIdx] as Generation;
    for (let n = g.revs.length - 1; n >= 0; n--) {
      const r = g.revs[n] as Revision;
      if (r.main <= atRev) {
        available.add(revKey(r));
        return { genIdx, revIndex: n };
      }
    }
    return { genIdx, revIndex: -1 };
  }

  compact(atRev: number, available: Set<string>): void {
    assert(!this.isEmpty(), 'compact on an empty key index');
    let { genIdx, revIndex } = this.doCompact(atRev, available);
    const g = this.generations[genIdx] as Generation;
    if (g.revs.length > 0) {
      if (revIndex !== -1) g.revs = g.revs.slice(revIndex);
      if (g.revs.length === 1 && genIdx !== this.generations.length - 1 && (g.revs[0] as Revision).main < atRev) {
        available.delete(revKey(g.revs[0] as Revision));
        genIdx++;
      }
    }
    this.generations = this.generations.slice(genIdx);
    this.checkWellFormed();
  }

  /** What compaction at atRev would keep, without changing anything (used by hashKV). */
  keep(atRev: number, available: Set<string>): void {
    if (this.isEmpty()) return;
    const { genIdx, revIndex } = this.doCompact(atRev, available);
    const g = this.generations[genIdx] as Generation;
    if (g.revs.length > 0 && revIndex === g.revs.length - 1 && genIdx !== this.generations.length - 1 && (g.revs[revIndex] as Revision).main < atRev) {
      available.delete(revKey(g.revs[revIndex] as Revision));
    }
  }

  /** Generations are ordered, non-empty except the last, and revisions strictly increase. */
  checkWellFormed(): void {
    let prev: Revision | undefined;
    this.generations.forEach((g, i) => {
      const last = i === this.generations.length - 1;
      assert(last || g.revs.length > 0, 'empty generation before the last');
      for (const r of g.revs) {
        assert(prev === undefined || compareRev(r, prev) > 0, 'key index revisions not increasing');
        prev = r;
      }
      if (g.revs.length > 0) assert(g.ver >= g.revs.length, 'generation version below its revision count');
    });
  }
}

/** A revision as a map key. */
export function revKey(r: Revision): string {
  return `${r.main}_${r.sub}`;
}
