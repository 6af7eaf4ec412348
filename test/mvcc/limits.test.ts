import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_QUOTA_BYTES,
  checkQuota,
  checkRequestSize,
  costTxn,
  quotaAvailable,
  quotaCost,
} from '../../src/mvcc/index.js';
import { isEtcdError } from '../../src/api/index.js';
import { b } from './helpers.js';

describe('limits', () => {
  it('request size: up to 1.5 MiB passes, one byte more is "request is too large"', () => {
    expect(DEFAULT_MAX_REQUEST_BYTES).toBe(1572864);
    expect(() => checkRequestSize(DEFAULT_MAX_REQUEST_BYTES)).not.toThrow();
    expect(() => checkRequestSize(DEFAULT_MAX_REQUEST_BYTES + 1)).toThrow('etcdserver: request is too large');
    expect(() => checkRequestSize(11, 10)).toThrow('etcdserver: request is too large');
  });

  it("costs requests as etcd's quota does", () => {
    expect(quotaCost({ put: { key: b('abc'), value: b('12345') } })).toBe(256 + 8);
    expect(quotaCost({ leaseGrant: true })).toBe(64);
    const txn = {
      success: [{ requestPut: { key: b('a'), value: b('1') } }, { requestRange: { key: b('x') } }],
      failure: [{ requestPut: { key: b('bb'), value: b('22') } }, { requestPut: { key: b('c'), value: b('') } }],
    };
    expect(costTxn(txn)).toBe(Math.max(258, 260 + 257));
  });

  it('NOSPACE when backend size + cost reaches the quota; 0 = 2 GiB default; negative disables', () => {
    const put = { put: { key: b('k'), value: b('v') } };
    expect(quotaAvailable(1000, put, 1000 + 258 + 1)).toBe(true);
    expect(quotaAvailable(1000, put, 1000 + 258)).toBe(false);
    expect(quotaAvailable(DEFAULT_QUOTA_BYTES - 259, put)).toBe(true);
    expect(quotaAvailable(DEFAULT_QUOTA_BYTES, put)).toBe(false);
    expect(quotaAvailable(DEFAULT_QUOTA_BYTES * 10, put, -1)).toBe(true);
    try {
      checkQuota(DEFAULT_QUOTA_BYTES, put);
      expect.unreachable();
    } catch (e) {
      expect(isEtcdError(e, 'NoSpace')).toBe(true);
      expect((e as { code: number }).code).toBe(8);
    }
  });
});
