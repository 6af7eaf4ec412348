import type { ConfChange, ConfState, Entry } from '../raft/types.js';

/**
 * What the node loop applies committed entries to. The real server's applier (mvcc, leases,
 * auth) implements it; the simulator also uses a small register machine. `apply` must be
 * deterministic: every member applies the same entries in the same order to the same result.
 */
export interface StateMachine<R> {
  /** Index of the last entry applied (the consistent index); 0 for a fresh machine. */
  appliedIndex(): number;
  /** Applies one normal entry's payload; returns the result handed to the proposer. */
  apply(index: number, term: number, payload: Uint8Array): R;
  /** Records that an entry without a client payload (no-op, conf change) was applied. */
  applyEmpty(index: number, term: number): void;
  /**
   * Optional: applies a committed confChange entry (the membership record lives in the state
   * machine, so it is persisted and carried in snapshots). `confState` is Raft's configuration
   * after the change. Without it the node loop calls applyEmpty for conf changes.
   */
  applyConfChange?(index: number, term: number, change: ConfChange, confState: ConfState): void;
  /** Whole state at appliedIndex(), for a Raft snapshot. */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot taken at `index`. */
  restore(index: number, term: number, data: Uint8Array): void;
  /** Makes applied state durable (a real backend commits its batch here). */
  flush(): void;
}

export type { ConfChange, ConfState, Entry };
