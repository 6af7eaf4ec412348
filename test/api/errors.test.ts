import { describe, expect, it } from 'vitest';
import { EtcdError, Errors, GrpcCode, etcdError, isEtcdError, lookupEtcdError, type EtcdErrorName } from '../../src/api/index.js';

describe('etcd error table', () => {
  it('carries the exact messages and codes etcd sends', () => {
    const expected: [EtcdErrorName, number, string][] = [
      ['Compacted', GrpcCode.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'],
      ['FutureRev', GrpcCode.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision'],
      ['EmptyKey', GrpcCode.INVALID_ARGUMENT, 'etcdserver: key is not provided'],
      ['TooManyOps', GrpcCode.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request'],
      ['DuplicateKey', GrpcCode.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request'],
      ['RequestTooLarge', GrpcCode.INVALID_ARGUMENT, 'etcdserver: request is too large'],
      ['NoSpace', GrpcCode.RESOURCE_EXHAUSTED, 'etcdserver: mvcc: database space exceeded'],
      ['KeyNotFound', GrpcCode.INVALID_ARGUMENT, 'etcdserver: key not found'],
      ['LeaseNotFound', GrpcCode.NOT_FOUND, 'etcdserver: requested lease not found'],
      ['LeaseExist', GrpcCode.FAILED_PRECONDITION, 'etcdserver: lease already exists'],
      ['LeaseTTLTooLarge', GrpcCode.OUT_OF_RANGE, 'etcdserver: too large lease TTL'],
      ['NoLeader', GrpcCode.UNAVAILABLE, 'etcdserver: no leader'],
      ['Timeout', GrpcCode.UNAVAILABLE, 'etcdserver: request timed out'],
      ['LeaderChanged', GrpcCode.UNAVAILABLE, 'etcdserver: leader changed'],
      ['NotCapable', GrpcCode.UNAVAILABLE, 'etcdserver: not capable'],
      ['LearnerNotReady', GrpcCode.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member which is in sync with leader'],
      ['NotSupportedForLearner', GrpcCode.UNAVAILABLE, 'etcdserver: rpc not supported for learner'],
      ['TooManyLearners', GrpcCode.FAILED_PRECONDITION, 'etcdserver: too many learner members in cluster'],
      ['MemberNotFound', GrpcCode.NOT_FOUND, 'etcdserver: member not found'],
      ['PermissionDenied', GrpcCode.PERMISSION_DENIED, 'etcdserver: permission denied'],
      ['InvalidAuthToken', GrpcCode.UNAUTHENTICATED, 'etcdserver: invalid auth token'],
      ['Corrupt', GrpcCode.DATA_LOSS, 'etcdserver: corrupt cluster'],
    ];
    for (const [name, code, message] of expected) {
      expect(Errors[name]).toEqual({ code, message });
    }
  });

  it('has unique messages, all prefixed "etcdserver: ", and a reverse lookup', () => {
    const names = Object.keys(Errors) as EtcdErrorName[];
    const messages = names.map((n) => Errors[n].message);
    expect(new Set(messages).size).toBe(messages.length);
    for (const n of names) {
      expect(Errors[n].message.startsWith('etcdserver: ')).toBe(true);
      expect(lookupEtcdError(Errors[n].message)?.name).toBe(n);
    }
    expect(lookupEtcdError('etcdserver: something else')).toBeUndefined();
  });

  it('builds throwable errors that match their table entry', () => {
    const e = etcdError('Compacted');
    expect(e).toBeInstanceOf(EtcdError);
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe(11);
    expect(isEtcdError(e, 'Compacted')).toBe(true);
    expect(isEtcdError(e, 'FutureRev')).toBe(false);
    expect(isEtcdError(new Error(e.message))).toBe(false);
  });
});
