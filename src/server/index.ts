export { ServerNode } from './node.js';
export { isLearnerReady, LEARNER_READY_FRACTION } from './learner-ready.js';
export type { NodeConfig, NodeObservation } from './node.js';
export type { StateMachine } from './state-machine.js';
export { NodeRequestError } from './errors.js';
export type { NodeFailureReason } from './errors.js';
export { encodeEnvelope, decodeEnvelope, ENVELOPE_HEADER_BYTES } from './envelope.js';
export type { RequestId } from './envelope.js';
export {
  MemberRegistry,
  MembershipMachine,
  encodeMemberContext,
  decodeMemberContext,
  encodeMemberRequest,
  decodeMemberRequest,
  isMemberRequest,
} from './membership.js';
export type { Member, MetaStore, MemberRequest, MembershipEvent } from './membership.js';
