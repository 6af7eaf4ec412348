import { crc32c } from '../src/util/index.js';
import { Applier, decodePayload } from '../src/apply/index.js';
import type { ApplyResult } from '../src/apply/index.js';
import { MemoryBackend } from '../src/mvcc/index.js';
import type { Clock } from '../src/env/index.js';
import type { ApplyObserver, SimMachine, StateObserver } from './cluster.js';

/** Sees every applied request (decoded), e.g. to time lease revokes on the virtual clock. */
export type RequestObserver = (index: number, request: Record<string, unknown>) => void;

/** Every this many applied indexes the state hash is reported for the cross-member comparison. */
const STATE_HASH_EVERY_ENTRIES = 16;

/**
 * The real applier (src/apply over src/mvcc) on the in-memory backend, observed so the
 * simulator checks that every member applies the same sequence and reaches the same state.
 * The backend is volatile: a crash loses it and the member rebuilds from snapshot + WAL, which
 * is what a member with a lost or wiped db does in etcd.
 */
export class KvMachine implements SimMachine<ApplyResult> {
  readonly applier: Applier;

  constructor(
    private readonly onApply: ApplyObserver,
    clock: Clock,
    private readonly onState?: StateObserver,
    private readonly onRequest?: RequestObserver,
  ) {
    this.applier = new Applier(new MemoryBackend(), { clock });
  }

  appliedIndex(): number {
    return this.applier.appliedIndex();
  }

  apply(index: number, term: number, payload: Uint8Array): ApplyResult {
    this.onApply(index, term, crc32c(payload));
    const result = this.applier.apply(index, term, payload);
    if (this.onState === undefined && this.onRequest === undefined) return result;
    const request = decodePayload<Record<string, unknown>>(payload);
    this.onRequest?.(index, request);
    // Hashing walks the whole store, so it is sampled; lease revokes and compactions are always
    // compared because they delete keys the clients did not name.
    const special = 'leaseRevoke' in request || 'compaction' in request;
    if (special || index % STATE_HASH_EVERY_ENTRIES === 0) this.onState?.(index, this.stateHash());
    return result;
  }

  applyEmpty(index: number, term: number): void {
    this.onApply(index, term, 0);
    this.applier.applyEmpty(index, term);
  }

  snapshot(): Uint8Array {
    return this.applier.snapshot();
  }

  restore(index: number, term: number, data: Uint8Array): void {
    this.applier.restore(index, term, data);
    this.onState?.(index, this.stateHash());
  }

  flush(): void {
    this.applier.flush();
  }

  stateHash(): number {
    return this.applier.store.hash().hash;
  }
}
