import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Entry, HardState } from '../../src/raft/types.js';
import { Wal } from '../../src/wal/index.js';
import type { WalSnapshotMarker } from '../../src/wal/index.js';
import type { Disk } from '../../src/env/index.js';
import { createRand } from '../../src/util/index.js';
import { SimDiskDevice } from '../../sim/index.js';
import { CountdownDisk, CrashDisk, META, SimulatedCrash, WAL_DIR, entry, tempRoot } from './helpers.js';

/**
 * Random saves, syncs, snapshots, clean restarts and crashes (unsynced bytes dropped, a random
 * part of them kept as a torn write). After each restart the WAL must read back the state after
 * some prefix of the records written, and that prefix must contain every synced record.
 */

type Op =
  | {
      kind: 'save';
      count: number;
      back: number;
      termBump: boolean;
      withHardState: boolean;
      commitAdvance: number;
      sync: boolean;
      dataBytes: number;
    }
  | { kind: 'crash'; keepFraction: number }
  | { kind: 'restart' }
  | { kind: 'snapshot' }
  | { kind: 'install'; ahead: number; termBump: boolean; sync: boolean }
  | { kind: 'crashDuring'; afterCalls: number };

type ModelRecord =
  | { kind: 'entry'; entry: Entry }
  | { kind: 'hardState'; hardState: HardState }
  | { kind: 'marker'; marker: WalSnapshotMarker; replacesLog: boolean };

interface ModelState {
  log: Entry[]; // log[i] has index i + 1
  hardState: HardState;
  marker: WalSnapshotMarker;
}

function replay(records: readonly ModelRecord[], count: number): ModelState {
  const state: ModelState = {
    log: [],
    hardState: { term: 0, vote: '' as HardState['vote'], commit: 0 },
    marker: { index: 0, term: 0 },
  };
  for (const record of records.slice(0, count)) {
    if (record.kind === 'entry') {
      state.log.length = record.entry.index - 1;
      state.log.push(record.entry);
    } else if (record.kind === 'hardState') {
      state.hardState = record.hardState;
    } else {
      state.marker = record.marker;
      // An installed snapshot drops the log; entries at or below it are never compared.
      if (record.replacesLog) state.log = new Array<Entry>(record.marker.index).fill(entry(0, 0));
    }
  }
  return state;
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('save' as const),
      count: fc.integer({ min: 0, max: 6 }),
      back: fc.integer({ min: 0, max: 4 }),
      termBump: fc.boolean(),
      withHardState: fc.boolean(),
      commitAdvance: fc.integer({ min: 0, max: 6 }),
      sync: fc.boolean(),
      dataBytes: fc.integer({ min: 0, max: 300 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('crash' as const), keepFraction: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'snapshot' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('install' as const),
      ahead: fc.integer({ min: -3, max: 5 }),
      termBump: fc.boolean(),
      sync: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('crashDuring' as const), afterCalls: fc.integer({ min: 1, max: 8 }) }),
  },
);

const SEGMENT_BYTES = 2048;

/** A disk that can crash: returns the disk the restarted process sees. */
interface Crashable {
  readonly disk: Disk;
  crash(keepFraction: number): Disk;
  dispose(): void;
}

const OPTIONS = { segmentSizeBytes: SEGMENT_BYTES };

class Harness {
  readonly disk: CountdownDisk;
  wal: Wal;
  records: ModelRecord[] = [];
  syncedCount = 0;

  constructor(readonly target: Crashable) {
    this.disk = new CountdownDisk(target.disk);
    this.wal = Wal.create(this.disk, WAL_DIR, META, OPTIONS);
  }

  crash(keepFraction: number): void {
    this.disk.budget = undefined;
    this.disk.inner = this.target.crash(keepFraction);
    this.reopen();
  }

  /**
   * Runs a WAL call whose records may reach the disk. The records join the model first: if
   * the process dies midway they may or may not have landed, which reopen() decides.
   */
  private attempt(records: readonly ModelRecord[], call: () => void, syncs: boolean): boolean {
    this.records.push(...records);
    try {
      call();
    } catch (error) {
      if (!(error instanceof SimulatedCrash)) throw error;
      this.crash(0);
      return false;
    }
    if (syncs) this.syncedCount = this.records.length;
    return true;
  }

  save(op: Extract<Op, { kind: 'save' }>): void {
    const now = replay(this.records, this.records.length);
    const lastIndex = now.log.length;
    const term = now.hardState.term + (op.termBump || now.hardState.term === 0 ? 1 : 0);
    const floor = Math.max(now.hardState.commit, now.marker.index);
    const first = Math.max(lastIndex + 1 - op.back, floor + 1);
    const newEntries: Entry[] = [];
    for (let i = 0; i < op.count; i++) newEntries.push(entry(first + i, term, op.dataBytes));
    const newLast = op.count > 0 ? first + op.count - 1 : lastIndex;
    let hardState: HardState | undefined;
    if (op.withHardState || term !== now.hardState.term) {
      const commit = Math.max(now.hardState.commit, Math.min(now.hardState.commit + op.commitAdvance, newLast));
      hardState = { term, commit, vote: (term % 3 === 0 ? '' : `n${term}`) as HardState['vote'] };
    }
    const records: ModelRecord[] = newEntries.map((e) => ({ kind: 'entry', entry: e }));
    if (hardState) records.push({ kind: 'hardState', hardState });
    this.attempt(records, () => this.wal.save(hardState, newEntries, op.sync), op.sync);
  }

  /** A snapshot of the node's own state at its commit index, then release of old segments. */
  snapshot(): void {
    const now = replay(this.records, this.records.length);
    const index = now.hardState.commit;
    if (index <= now.marker.index) return;
    const marker = { index, term: (now.log[index - 1] as Entry).term };
    const record: ModelRecord = { kind: 'marker', marker, replacesLog: false };
    if (!this.attempt([record], () => this.wal.saveSnapshotMarker(marker), true)) return;
    this.attempt([], () => this.wal.releaseTo(index), false);
  }

  /** A snapshot from the leader, then the hard state of the same Ready (maybe not synced). */
  install(op: Extract<Op, { kind: 'install' }>): void {
    const now = replay(this.records, this.records.length);
    const index = Math.max(now.log.length + op.ahead, now.hardState.commit, now.marker.index, 1);
    let term = Math.max(1, now.hardState.term + (op.termBump ? 1 : 0));
    // At the commit index the snapshot is of committed entries: its term is already known.
    let snapTerm = term;
    if (index === now.marker.index) snapTerm = now.marker.term;
    else if (index <= now.hardState.commit) snapTerm = (now.log[index - 1] as Entry).term;
    term = Math.max(term, snapTerm);
    const marker = { index, term: snapTerm };
    const record: ModelRecord = { kind: 'marker', marker, replacesLog: true };
    if (!this.attempt([record], () => this.wal.saveSnapshotMarker(marker, { replacesLog: true }), true)) {
      return;
    }
    const vote = (term === now.hardState.term ? now.hardState.vote : '') as HardState['vote'];
    const hardState = { term, vote, commit: index };
    this.attempt([{ kind: 'hardState', hardState }], () => this.wal.save(hardState, [], op.sync), op.sync);
  }

  restart(): void {
    if (this.attempt([], () => this.wal.close(), false)) this.reopen();
  }

  crashAfter(calls: number): void {
    this.disk.budget = calls;
  }

  /** The newest snapshot the model wrote that the WAL vouches for, as a server would pick. */
  private restorePoint(): WalSnapshotMarker {
    const durable = Wal.snapshotMarkers(this.disk, WAL_DIR);
    let best: WalSnapshotMarker = { index: 0, term: 0 };
    for (const r of this.records) {
      if (r.kind !== 'marker') continue;
      if (durable.some((m) => m.index === r.marker.index && m.term === r.marker.term)) best = r.marker;
    }
    return best;
  }

  /** Reopens and checks the result against every admissible prefix; adopts the match. */
  reopen(): void {
    let latest: WalSnapshotMarker;
    let opened: ReturnType<typeof Wal.open>;
    try {
      latest = this.restorePoint();
      opened = Wal.open(this.disk, WAL_DIR, latest, OPTIONS);
    } catch (error) {
      if (!(error instanceof SimulatedCrash)) throw error;
      this.crash(0); // died while repairing: start over
      return;
    }
    const matched = this.matchPrefix(latest, opened);
    expect(
      matched,
      `reopen gave ${opened.entries.length} entries (last ${opened.entries.at(-1)?.index}), ` +
        `hs ${JSON.stringify(opened.hardState)}; records ${this.records.length}, synced ${this.syncedCount}`,
    ).toBeDefined();
    this.records = this.records.slice(0, matched);
    // A hard state lifted on open is derived from durable records: adopt it, as Raft would.
    const replayed = replay(this.records, this.records.length).hardState;
    if (replayed.term !== opened.hardState.term || replayed.commit !== opened.hardState.commit) {
      this.records.push({ kind: 'hardState', hardState: opened.hardState });
    }
    this.syncedCount = this.records.length;
    this.wal = opened.wal;
  }

  private matchPrefix(latest: WalSnapshotMarker, opened: ReturnType<typeof Wal.open>): number | undefined {
    for (let count = this.records.length; count >= this.syncedCount; count--) {
      const state = replay(this.records, count);
      if (state.marker.index !== latest.index) continue;
      // Open lifts a hard state older than the snapshot or the last entry (torn saves).
      const lastTerm = state.log.length > latest.index ? (state.log[state.log.length - 1] as Entry).term : 0;
      if (state.hardState.commit < latest.index || state.hardState.term < Math.max(latest.term, lastTerm)) {
        const term = Math.max(state.hardState.term, latest.term, lastTerm);
        const vote = (term === state.hardState.term ? state.hardState.vote : '') as HardState['vote'];
        state.hardState = { term, vote, commit: Math.max(state.hardState.commit, latest.index) };
      }
      const expected = state.log.slice(latest.index);
      if (sameState(expected, state.hardState, opened.entries, opened.hardState)) return count;
    }
    return undefined;
  }
}

function sameState(
  expectedEntries: readonly Entry[],
  expectedHs: HardState,
  entries: readonly Entry[],
  hardState: HardState,
): boolean {
  if (expectedEntries.length !== entries.length) return false;
  if (expectedHs.term !== hardState.term || expectedHs.vote !== hardState.vote) return false;
  if (expectedHs.commit !== hardState.commit) return false;
  for (let i = 0; i < entries.length; i++) {
    const a = expectedEntries[i] as Entry;
    const b = entries[i] as Entry;
    if (a.index !== b.index || a.term !== b.term || a.type !== b.type) return false;
    if (Buffer.compare(Buffer.from(a.data), Buffer.from(b.data)) !== 0) return false;
  }
  return true;
}

function realDisk(root: string): Crashable {
  const disk = new CrashDisk(root);
  return {
    disk,
    crash(keepFraction) {
      disk.crash((_path, unsynced) => Math.floor(unsynced * keepFraction));
      return disk;
    },
    dispose: () => disk.inner.close(),
  };
}

function simDisk(seed: number): Crashable {
  // SimDisk's own fault model: lost unsynced data and metadata, torn tails of appends.
  const device = new SimDiskDevice(createRand(seed), { tornWriteProb: 0.7 });
  return {
    disk: device.open(),
    crash() {
      device.crash();
      return device.open();
    },
    dispose() {},
  };
}

function runOps(target: Crashable, ops: readonly Op[]): void {
  const harness = new Harness(target);
  for (const op of ops) {
    if (op.kind === 'save') harness.save(op);
    else if (op.kind === 'snapshot') harness.snapshot();
    else if (op.kind === 'install') harness.install(op);
    else if (op.kind === 'restart') harness.restart();
    else if (op.kind === 'crashDuring') harness.crashAfter(op.afterCalls);
    else harness.crash(op.keepFraction);
  }
  harness.crash(0);
  target.dispose();
}

let root: string;
let cleanup: () => void;
let runNo = 0;
beforeEach(() => {
  ({ root, cleanup } = tempRoot('walprop'));
});
afterEach(() => cleanup());

const NUM_RUNS = Number(process.env['WAL_PROP_RUNS'] ?? 60);
/** Replay a failure: WAL_PROP_SEED=<seed> WAL_PROP_PATH=<path> as fast-check printed them. */
const REPLAY = process.env['WAL_PROP_SEED']
  ? { seed: Number(process.env['WAL_PROP_SEED']), path: process.env['WAL_PROP_PATH'] ?? '', endOnFailure: true }
  : {};

describe('Wal crash property', () => {
  it('reopens to a prefix containing every synced record (real files)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 30 }), (ops) => {
        runOps(realDisk(`${root}/run${runNo++}`), ops);
      }),
      { numRuns: NUM_RUNS, ...REPLAY },
    );
  });

  it('reopens to a prefix containing every synced record (SimDisk fault model)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), fc.nat(), (ops, seed) => {
        runOps(simDisk(seed), ops);
      }),
      { numRuns: NUM_RUNS * 4, ...REPLAY },
    );
  });
});
