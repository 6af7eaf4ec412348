export { GrpcCode, EtcdError, Errors, etcdError, lookupEtcdError, isEtcdError } from './errors.js';
export type { GrpcCodeNumber, EtcdErrorSpec, EtcdErrorName } from './errors.js';
