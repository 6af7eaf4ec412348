import { assert } from '../util/index.js';
import type { Disk } from '../env/index.js';
import type { Entry, HardState, Snapshot } from '../raft/types.js';
import type { WalMetadata, WalSnapshotMarker } from './codec.js';
import type { WalRepair } from './reader.js';
import { SnapStore, type SnapSkip } from './snap.js';
import { Wal } from './wal.js';

export interface NodeStorageOptions {
  readonly walDir?: string;
  readonly snapDir?: string;
  readonly segmentSizeBytes?: number;
  /** Snapshot files kept after a local snapshot; the WAL is kept back to the oldest. */
  readonly snapshotsToKeep?: number;
}

export interface NodeStorageBoot {
  readonly storage: NodeStorage;
  /** True when no WAL existed and a new one was created with the given metadata. */
  readonly created: boolean;
  readonly metadata: WalMetadata;
  /** The newest snapshot the WAL vouches for; Raft restores from it. */
  readonly snapshot?: Snapshot;
  readonly hardState: HardState;
  /** Entries after the snapshot. */
  readonly entries: readonly Entry[];
  readonly repaired?: WalRepair;
  /** Snapshot files that failed their checks and were set aside. */
  readonly snapSkipped: readonly SnapSkip[];
}

/** What the node loop persists from a Raft Ready (step 1, before sending). */
export interface PersistBatch {
  readonly hardState?: HardState;
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot;
  readonly mustSync: boolean;
}

/**
 * The WAL plus the snapshot files, in the order etcd persists them. A snapshot file is always
 * durable before its WAL marker, so a marker never points at a missing file; on boot only
 * snapshots with a marker are used, so a file written just before a crash is ignored.
 */
export class NodeStorage {
  private constructor(
    readonly wal: Wal,
    readonly snaps: SnapStore,
    private readonly snapshotsToKeep: number,
  ) {}

  /** Opens the member's storage, creating an empty WAL with `metadata` if there is none. */
  static boot(disk: Disk, metadata: WalMetadata, options: NodeStorageOptions = {}): NodeStorageBoot {
    const walDir = options.walDir ?? 'member/wal';
    const snaps = new SnapStore(disk, options.snapDir ?? 'member/snap');
    const walOptions = options.segmentSizeBytes ? { segmentSizeBytes: options.segmentSizeBytes } : {};
    const keep = options.snapshotsToKeep ?? 3;
    if (!Wal.exists(disk, walDir)) {
      const wal = Wal.create(disk, walDir, metadata, walOptions);
      const storage = new NodeStorage(wal, snaps, keep);
      return { storage, created: true, metadata, hardState: wal.hardState(), entries: [], snapSkipped: [] };
    }
    const markers = Wal.snapshotMarkers(disk, walDir);
    const loaded = snaps.loadNewest((m) => markers.some((k) => k.index === m.index && k.term === m.term));
    const from: WalSnapshotMarker = loaded.snapshot ? loaded.snapshot.meta : { index: 0, term: 0 };
    const opened = Wal.open(disk, walDir, { index: from.index, term: from.term }, walOptions);
    return {
      storage: new NodeStorage(opened.wal, snaps, keep),
      created: false,
      metadata: opened.metadata,
      ...(loaded.snapshot ? { snapshot: loaded.snapshot } : {}),
      hardState: opened.hardState,
      entries: opened.entries,
      ...(opened.repaired ? { repaired: opened.repaired } : {}),
      snapSkipped: loaded.skipped,
    };
  }

  /**
   * Persists one Ready: an installed snapshot (file, then a marker that replaces the log),
   * then entries and hard state, fsynced when `mustSync`.
   */
  persist(batch: PersistBatch): void {
    if (batch.snapshot) {
      this.snaps.save(batch.snapshot);
      this.wal.saveSnapshotMarker(batch.snapshot.meta, { replacesLog: true });
    }
    this.wal.save(batch.hardState, batch.entries, batch.mustSync);
  }

  /**
   * Saves a snapshot of the node's own applied state, then drops old snapshot files and the
   * WAL segments before the oldest file kept: if the newest file later turns out corrupt,
   * boot falls back to an older one, and the WAL must still reach back to it.
   */
  saveLocalSnapshot(snapshot: Snapshot): void {
    assert(
      snapshot.meta.index <= this.wal.hardState().commit,
      () => `local snapshot ${snapshot.meta.index} is beyond commit ${this.wal.hardState().commit}`,
    );
    this.snaps.save(snapshot);
    this.wal.saveSnapshotMarker(snapshot.meta);
    this.snaps.purge(this.snapshotsToKeep);
    const kept = this.snaps.list();
    const oldest = kept[kept.length - 1];
    assert(oldest !== undefined, 'no snapshot file after saving one');
    this.wal.releaseTo(oldest.index);
  }

  close(): void {
    this.wal.close();
  }
}
