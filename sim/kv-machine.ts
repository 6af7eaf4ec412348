import { crc32c } from '../src/util/index.js';
import { Applier } from '../src/apply/index.js';
import type { ApplyResult } from '../src/apply/index.js';
import { MemoryBackend } from '../src/mvcc/index.js';
import type { Clock } from '../src/env/index.js';
import type { ApplyObserver, SimMachine } from './cluster.js';

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
  ) {
    this.applier = new Applier(new MemoryBackend(), { clock });
  }

  appliedIndex(): number {
    return this.applier.appliedIndex();
  }

  apply(index: number, term: number, payload: Uint8Array): ApplyResult {
    this.onApply(index, term, crc32c(payload));
    return this.applier.apply(index, term, payload);
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
  }

  flush(): void {
    this.applier.flush();
  }

  stateHash(): number {
    return this.applier.store.hash().hash;
  }
}
