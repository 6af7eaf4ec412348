import { Applier, encodePayload } from '../../src/apply/index.js';
import type { ApplyResult, InternalRequest } from '../../src/apply/index.js';
import type { AuthInfo, AuthRequest } from '../../src/auth/index.js';
import { ManualClock } from '../util/manual-clock.js';

export { ManualClock };
import { MemoryBackend } from '../../src/mvcc/index.js';

/** An applier over a memory backend, fed entries by hand as the node loop would. */
export class ApplierHarness {
  readonly clock = new ManualClock();
  readonly backend = new MemoryBackend();
  readonly applier: Applier;
  private index = 0;

  constructor(applier?: (backend: MemoryBackend, clock: ManualClock) => Applier) {
    this.applier = applier ? applier(this.backend, this.clock) : new Applier(this.backend, { clock: this.clock });
  }

  apply(request: InternalRequest): ApplyResult {
    const result = this.applier.apply(++this.index, 1, encodePayload(request));
    this.applier.flush();
    return result;
  }

  /** An admin request as `as` (undefined: internal, unchecked). */
  admin(request: AuthRequest, as?: AuthInfo): ApplyResult {
    return this.apply(as === undefined ? { auth: request } : { auth: request, header: { username: as.username, authRevision: as.revision } });
  }

  /** Applies and fails the test on a refusal. */
  must(request: AuthRequest, as?: AuthInfo): unknown {
    const r = this.admin(request, as);
    if (!r.ok) throw new Error(`refused: ${r.error.message}`);
    return r.response;
  }

  lastIndex(): number {
    return this.index;
  }
}

export const errorOf = (r: ApplyResult): string | undefined => (r.ok ? undefined : r.error.message);
