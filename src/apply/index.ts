export { Applier } from './applier.js';
export type { ApplyResult, ApplierOptions } from './applier.js';
export { encodePayload, decodePayload } from './codec.js';
export type {
  InternalRequest,
  RequestHeader,
  AlarmRequest,
  AlarmType,
  AlarmMember,
  LeaseGrantRequest,
  LeaseRevokeRequest,
  LeaseCheckpointRequest,
} from './requests.js';
export { checkTxn as checkTxnPermission, checkLeaseKeys as checkLeasePermission, authInfoOf } from './auth-apply.js';
