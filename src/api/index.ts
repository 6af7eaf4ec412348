export { GrpcCode, EtcdError, Errors, etcdError, lookupEtcdError, isEtcdError } from './errors.js';
export type { GrpcCodeNumber, EtcdErrorSpec, EtcdErrorName } from './errors.js';
export { KvApi, translateNodeError } from './kv.js';
export type { KvApiOptions } from './kv.js';
export { MaintenanceApi, SERVER_VERSION, CLUSTER_VERSION } from './maintenance.js';
export type { MemberInfo, StatusInfo } from './maintenance.js';
export { ClusterApi, validPeerUrls } from './cluster.js';
export type { ClusterApiOptions } from './cluster.js';
