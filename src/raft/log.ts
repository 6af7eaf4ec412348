import { assert } from '../util/index.js';
import type { Entry, Snapshot } from './types.js';
import { type MemoryStorage, isStorageError, limitSize } from './storage.js';

/**
 * Entries and a snapshot that Raft has accepted but the node loop has not yet persisted.
 * entries[i] has index offset + i.
 */
class Unstable {
  snapshot: Snapshot | undefined = undefined;
  entries: Entry[] = [];
  constructor(public offset: number) {}

  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.meta.index + 1;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot === undefined ? undefined : this.snapshot.meta.index;
  }

  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot !== undefined && this.snapshot.meta.index === i) return this.snapshot.meta.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return (this.entries[i - this.offset] as Entry).term;
  }

  stableTo(i: number, t: number): void {
    const gt = this.maybeTerm(i);
    // Only drop entries the caller persisted: a newer leader may have replaced them since.
    if (gt === t && i >= this.offset) {
      this.entries = this.entries.slice(i + 1 - this.offset);
      this.offset = i + 1;
    }
  }

  stableSnapTo(i: number): void {
    if (this.snapshot !== undefined && this.snapshot.meta.index === i) this.snapshot = undefined;
  }

  restore(s: Snapshot): void {
    this.offset = s.meta.index + 1;
    this.entries = [];
    this.snapshot = s;
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    const after = (ents[0] as Entry).index;
    if (after === this.offset + this.entries.length) {
      for (const e of ents) this.entries.push(e);
    } else if (after <= this.offset) {
      // Replaces everything unstable; the storage part past `after` is overwritten when persisted.
      this.offset = after;
      this.entries = ents.slice();
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(ents);
    }
  }

  slice(lo: number, hi: number): Entry[] {
    assert(lo >= this.offset && hi <= this.offset + this.entries.length, () => `unstable slice [${lo},${hi}) out of [${this.offset},${this.offset + this.entries.length})`);
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}

/** The Raft log: storage (persisted) plus unstable (accepted, not yet persisted). */
export class RaftLog {
  readonly unstable: Unstable;
  /** Highest index known to be committed on a quorum. */
  committed: number;
  /** Highest index handed to the node loop for applying. */
  applied: number;

  constructor(readonly storage: MemoryStorage) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Term of entry i, or undefined when it is compacted or beyond the log. */
  term(i: number): number | undefined {
    const dummy = this.firstIndex() - 1;
    if (i < dummy || i > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (isStorageError(e, 'compacted') || isStorageError(e, 'unavailable')) return undefined;
      throw e;
    }
  }

  /** Term of entry i; 0 when out of range (as a log that does not have it). */
  termOrZero(i: number): number {
    return this.term(i) ?? 0;
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    assert(t !== undefined, 'last term must be readable');
    return t;
  }

  matchTerm(i: number, t: number): boolean {
    const got = this.term(i);
    return got !== undefined && got === t;
  }

  /** Raft's "at least as up-to-date" rule for granting votes (§5.4.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Follower side of AppendEntries: returns the last new index when the entry at `index`
   * has term `logTerm`, else undefined (a rejection).
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      assert(ci > this.committed, () => `conflict at ${ci} would overwrite committed ${this.committed}`);
      this.append(ents.slice(ci - (index + 1)));
    }
    const last = ents[ents.length - 1];
    // Log Matching: after the append our log holds exactly the leader's entries up to lastNew.
    assert(last === undefined || this.term(last.index) === last.term, 'log does not match the leader after append');
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = (ents[0] as Entry).index - 1;
    assert(after >= this.committed, () => `append after ${after} would truncate committed ${this.committed}`);
    assert(after <= this.lastIndex(), () => `append after ${after} leaves a gap past ${this.lastIndex()}`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * First index in `ents` whose term differs from ours, or that we lack; 0 if all match.
   * Also checks the Log Matching property on what does match.
   */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /** Largest index <= index whose term is <= term (the fast-backtracking probe point). */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    for (; i > 0; i--) {
      const t = this.term(i);
      if (t === undefined || t <= term) break;
    }
    return i;
  }

  commitTo(toCommit: number): void {
    if (toCommit <= this.committed) return;
    assert(toCommit <= this.lastIndex(), () => `commit ${toCommit} beyond last index ${this.lastIndex()}`);
    this.committed = toCommit;
  }

  /** Leader: commit maxIndex only if it is from the current term (§5.4.2, figure 8). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.termOrZero(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    assert(i <= this.committed && i >= this.applied, () => `applied ${i} outside [${this.applied}, ${this.committed}]`);
    this.applied = i;
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  unstableEntries(): readonly Entry[] {
    return this.unstable.entries.slice();
  }

  nextCommittedEntries(): readonly Entry[] {
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed + 1 <= lo) return [];
    return this.slice(lo, this.committed + 1);
  }

  hasNextCommittedEntries(): boolean {
    return this.committed + 1 > Math.max(this.applied + 1, this.firstIndex());
  }

  /** Entries from i on, up to maxBytes; undefined when i is compacted (send a snapshot). */
  entriesFrom(i: number, maxBytes: number): readonly Entry[] | undefined {
    if (i > this.lastIndex()) return [];
    if (i < this.firstIndex()) return undefined;
    return this.slice(i, this.lastIndex() + 1, maxBytes);
  }

  /** Entries [lo, hi) from storage and unstable; asserts they are not compacted. */
  slice(lo: number, hi: number, maxBytes = Number.POSITIVE_INFINITY): readonly Entry[] {
    assert(lo >= this.firstIndex() && hi <= this.lastIndex() + 1 && lo <= hi, () => `slice [${lo},${hi}) outside [${this.firstIndex()},${this.lastIndex() + 1})`);
    if (lo === hi) return [];
    let out: Entry[] = [];
    const uOff = this.unstable.offset;
    if (lo < uOff) {
      const stored = this.storage.entries(lo, Math.min(hi, uOff), maxBytes);
      out = stored.slice();
      // Storage cut the batch short: do not add unstable entries after a gap.
      if (stored.length < Math.min(hi, uOff) - lo) return out;
    }
    if (hi > uOff) out = out.concat(this.unstable.slice(Math.max(lo, uOff), hi));
    return limitSize(out, maxBytes);
  }

  /** The snapshot to send a follower: a pending one, else storage's. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  restore(s: Snapshot): void {
    assert(s.meta.index > this.committed, () => `restore snapshot ${s.meta.index} <= committed ${this.committed}`);
    this.committed = s.meta.index;
    this.unstable.restore(s);
  }
}
