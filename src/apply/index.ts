export { Applier } from './applier.js';
export type { ApplyResult, ApplierOptions } from './applier.js';
export { encodePayload, decodePayload } from './codec.js';
export type {
  InternalRequest,
  AlarmRequest,
  AlarmType,
  AlarmMember,
  LeaseGrantRequest,
  LeaseRevokeRequest,
  LeaseCheckpointRequest,
} from './requests.js';
