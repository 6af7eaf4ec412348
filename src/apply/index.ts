export { Applier } from './applier.js';
export type { ApplyResult } from './applier.js';
export { encodePayload, decodePayload } from './codec.js';
export type { InternalRequest, AlarmRequest, AlarmType, AlarmMember } from './requests.js';
