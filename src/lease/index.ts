export {
  Lessor,
  LessorNotPrimaryError,
  minLeaseTtlSeconds,
  MAX_LEASE_TTL_SECONDS,
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  DEFAULT_MIN_LEASE_TTL_SECONDS,
  LEASE_REVOKE_RATE_PER_SECOND,
  EXPIRED_LEASE_RETRY_INTERVAL_MS,
  MAX_CHECKPOINT_BATCH,
} from './lessor.js';
export type { LessorOptions, LeasePersistence, LeaseCheckpoint, LeaseInfo, TimeToLive, RenewResult } from './lessor.js';
export { encodeLeaseRecord, decodeLeaseRecord, leaseRecordKey, encodeLeaseSnapshot, decodeLeaseSnapshot } from './codec.js';
export type { LeaseRecord, LeaseSnapshotEntry } from './codec.js';
export { createLeaseIdGenerator } from './id.js';
