/**
 * Lease ids as etcd's server picks them (idutil.Generator): the member id's low 16 bits, then 40
 * bits of the start time in ms, then an 8-bit counter, the counter carrying into the time bits;
 * the result masked to a positive int64. Unique across members (prefix) and restarts (time), and
 * deterministic given (memberId, startMs): the simulator passes virtual time.
 */
import { assert } from '../util/index.js';

const TS_BITS = 40n;
const COUNT_BITS = 8n;
const SUFFIX_BITS = TS_BITS + COUNT_BITS;
const SUFFIX_MASK = (1n << SUFFIX_BITS) - 1n;
const POSITIVE_INT64_MASK = (1n << 63n) - 1n;

export function createLeaseIdGenerator(memberId: bigint, startMs: number): () => bigint {
  assert(Number.isSafeInteger(startMs) && startMs >= 0, 'startMs must be a non-negative integer');
  const prefix = (memberId & 0xffffn) << SUFFIX_BITS;
  let suffix = (BigInt(startMs) & ((1n << TS_BITS) - 1n)) << COUNT_BITS;
  return () => {
    suffix = (suffix + 1n) & SUFFIX_MASK;
    const id = (prefix | suffix) & POSITIVE_INT64_MASK;
    assert(id > 0n, 'lease id generator produced 0');
    return id;
  };
}
