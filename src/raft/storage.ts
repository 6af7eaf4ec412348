import { assert } from '../util/index.js';
import { NO_NODE } from '../util/index.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';

/**
 * Why a storage read failed. Raft treats 'compacted' as "send a snapshot instead" and
 * 'unavailable' as "not there yet"; 'snapOutOfDate' rejects a snapshot older than the one held.
 */
export type StorageErrorCode = 'compacted' | 'unavailable' | 'snapOutOfDate';

export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(readonly code: StorageErrorCode, detail: string) {
    super(`raft storage: ${code}: ${detail}`);
  }
}

export function isStorageError(e: unknown, code?: StorageErrorCode): e is StorageError {
  return e instanceof StorageError && (code === undefined || e.code === code);
}

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: NO_NODE, commit: 0 };
export const EMPTY_CONF_STATE: ConfState = { voters: [], learners: [] };

/**
 * Bytes an entry counts for against maxSizePerMsgBytes. The fixed overhead keeps a stream of
 * empty entries from being unbounded.
 */
export function entrySizeBytes(e: Entry): number {
  return e.data.length + 16;
}

/** Cuts `entries` to the longest prefix within `maxBytes`, but always keeps at least one. */
export function limitSize(entries: readonly Entry[], maxBytes: number): readonly Entry[] {
  if (entries.length === 0) return entries;
  let size = entrySizeBytes(entries[0] as Entry);
  let n = 1;
  for (; n < entries.length; n++) {
    size += entrySizeBytes(entries[n] as Entry);
    if (size > maxBytes) break;
  }
  return n === entries.length ? entries : entries.slice(0, n);
}

/**
 * The stable part of the Raft log, in memory. The node loop keeps it in step with the WAL:
 * it applies each Ready's snapshot, appends its entries and sets its hard state here after
 * persisting them, and on restart refills it from the WAL before creating the RaftNode.
 *
 * ents[0] is a dummy entry holding the index and term of the last compacted entry (the
 * snapshot's), so term(firstIndex - 1) still answers.
 */
export class MemoryStorage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot = {
    meta: { index: 0, term: 0, confState: EMPTY_CONF_STATE },
    data: new Uint8Array(0),
  };
  private ents: Entry[] = [{ term: 0, index: 0, type: 'normal', data: new Uint8Array(0) }];

  /**
   * Gives a brand-new member the founding configuration of the cluster, as an implicit
   * snapshot at index 0 (term 0, empty data). Nothing needs persisting: on restart the node
   * loop calls it again from the same flags (like etcd's --initial-cluster) when the WAL holds
   * no snapshot. Every member, including ones added later, must bootstrap with the same
   * founding voters: the configuration is that plus the confChange entries from index 1 on
   * (or a later snapshot's ConfState, which replaces it).
   */
  bootstrap(confState: ConfState): void {
    assert(this.lastIndex() === 0 && this.snap.meta.index === 0, 'bootstrap needs an empty storage');
    assert(this.hardState.term === 0, 'bootstrap needs an empty hard state');
    this.snap = { meta: { index: 0, term: 0, confState }, data: this.snap.data };
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.snap.meta.confState };
  }

  setHardState(hs: HardState): void {
    assert(hs.term >= this.hardState.term, () => `hard state term went back ${this.hardState.term} -> ${hs.term}`);
    this.hardState = hs;
  }

  private get offset(): number {
    return (this.ents[0] as Entry).index;
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  lastIndex(): number {
    return this.offset + this.ents.length - 1;
  }

  /** Entries in [lo, hi), cut to maxBytes (at least one entry). */
  entries(lo: number, hi: number, maxBytes = Number.POSITIVE_INFINITY): readonly Entry[] {
    if (lo <= this.offset) throw new StorageError('compacted', `entries from ${lo}, first is ${this.firstIndex()}`);
    assert(lo <= hi, () => `entries: lo ${lo} > hi ${hi}`);
    if (hi > this.lastIndex() + 1) {
      throw new StorageError('unavailable', `entries to ${hi}, last is ${this.lastIndex()}`);
    }
    // Find the cut before copying: a far-behind follower must not cost a copy of the whole log.
    const start = lo - this.offset;
    let end = start;
    let sizeBytes = 0;
    while (end < hi - this.offset) {
      sizeBytes += entrySizeBytes(this.ents[end] as Entry);
      if (end > start && sizeBytes > maxBytes) break;
      end++;
    }
    return this.ents.slice(start, end);
  }

  term(index: number): number {
    if (index < this.offset) throw new StorageError('compacted', `term of ${index}, first is ${this.firstIndex()}`);
    if (index > this.lastIndex()) throw new StorageError('unavailable', `term of ${index}, last is ${this.lastIndex()}`);
    return (this.ents[index - this.offset] as Entry).term;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log with `snap` (a follower catching up from the leader's snapshot). */
  applySnapshot(snap: Snapshot): void {
    if (snap.meta.index <= this.snap.meta.index && this.snap.meta.index > 0) {
      throw new StorageError('snapOutOfDate', `snapshot ${snap.meta.index} <= held ${this.snap.meta.index}`);
    }
    assert(snap.meta.index >= this.snap.meta.index, 'applySnapshot: older than the held snapshot');
    this.snap = snap;
    this.ents = [{ term: snap.meta.term, index: snap.meta.index, type: 'normal', data: new Uint8Array(0) }];
  }

  /** Records a snapshot of the state machine at `index` (<= applied) for sending to slow followers. */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.meta.index) {
      throw new StorageError('snapOutOfDate', `snapshot at ${index} <= held ${this.snap.meta.index}`);
    }
    assert(index <= this.lastIndex(), () => `createSnapshot ${index} beyond last index ${this.lastIndex()}`);
    const term = (this.ents[index - this.offset] as Entry).term;
    this.snap = { meta: { index, term, confState }, data };
    return this.snap;
  }

  /** Drops entries before `index`; entry `index` becomes the dummy. */
  compact(index: number): void {
    if (index <= this.offset) throw new StorageError('compacted', `compact ${index}, already at ${this.offset}`);
    assert(index <= this.lastIndex(), () => `compact ${index} beyond last index ${this.lastIndex()}`);
    const at = index - this.offset;
    const dummy = this.ents[at] as Entry;
    this.ents = [{ term: dummy.term, index: dummy.index, type: 'normal', data: new Uint8Array(0) }, ...this.ents.slice(at + 1)];
    assert(this.offset === index, 'compact: offset mismatch');
  }

  /**
   * Appends entries that directly follow (or overwrite a suffix of) the log. Entries already
   * compacted are ignored; a conflicting suffix is truncated.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = (entries[entries.length - 1] as Entry).index;
    if (last < first) return;
    let es = entries;
    if (first > (es[0] as Entry).index) es = es.slice(first - (es[0] as Entry).index);
    const at = (es[0] as Entry).index - this.offset;
    assert(at <= this.ents.length, () => `append gap: entry ${(es[0] as Entry).index} after last ${this.lastIndex()}`);
    for (let i = 1; i < es.length; i++) {
      assert((es[i] as Entry).index === (es[i - 1] as Entry).index + 1, 'append: entries not contiguous');
    }
    // Truncate in place and push: appends are the hot path and the log can be long.
    this.ents.length = at;
    for (const e of es) this.ents.push(e);
    assert(this.lastIndex() === (es[es.length - 1] as Entry).index, 'append: last index mismatch');
  }
}
