/** The schema-driven JSON mapping: jsonpb (gateway) and Go encoding/json (etcdctl -w json). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  JsonMappingError, decodeRangeRequest, decodeTxnResponse, decodeWatchResponse, encodeRangeRequest, encodeTxnResponse,
  encodeWatchResponse, jsonToMessageInit, messageToJson,
} from '../../src/grpc/index.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('messageToJson', () => {
  const txn = decodeTxnResponse(
    encodeTxnResponse({
      header: { clusterId: 14841639068965178418n, memberId: 1n, revision: 7n, raftTerm: 2n },
      succeeded: true,
      responses: [{ response: { case: 'responsePut', value: { header: { revision: 7n } } } }],
    }),
  );
  it('prints Go encoding/json for etcdctl: bare int64, Go names for oneofs', () => {
    expect(messageToJson('etcdserverpb.TxnResponse', txn, 'go')).toBe(
      '{"header":{"cluster_id":14841639068965178418,"member_id":1,"revision":7,"raft_term":2},"succeeded":true,' +
        '"responses":[{"Response":{"ResponsePut":{"header":{"revision":7}}}}]}',
    );
  });
  it('prints jsonpb for the gateway: int64 strings, oneof field names, enum names', () => {
    expect(messageToJson('etcdserverpb.TxnResponse', txn, 'gateway')).toBe(
      '{"header":{"cluster_id":"14841639068965178418","member_id":"1","revision":"7","raft_term":"2"},"succeeded":true,' +
        '"responses":[{"response_put":{"header":{"revision":"7"}}}]}',
    );
    const watch = decodeWatchResponse(encodeWatchResponse({ events: [{ type: 1, kv: { key: b('k'), modRevision: 3n } }] }));
    expect(messageToJson('etcdserverpb.WatchResponse', watch, 'gateway')).toBe('{"events":[{"type":"DELETE","kv":{"key":"aw==","mod_revision":"3"}}]}');
    expect(messageToJson('etcdserverpb.WatchResponse', watch, 'go')).toBe('{"events":[{"type":1,"kv":{"key":"aw==","mod_revision":3}}]}');
  });
});

describe('jsonToMessageInit', () => {
  it('accepts snake_case and camelCase, int64 as numbers or strings, enums by name or number', () => {
    const init = jsonToMessageInit('etcdserverpb.RangeRequest', {
      key: 'Zm9v', range_end: 'Zm9w', limit: '5', revision: 3, sortOrder: 'DESCEND', sort_target: 3, keys_only: true, unknown_field: 1,
    });
    const decoded = decodeRangeRequest(encodeRangeRequest(init));
    expect(decoded.key).toEqual(b('foo'));
    expect(decoded.rangeEnd).toEqual(b('fop'));
    expect(decoded.limit).toBe(5n);
    expect(decoded.revision).toBe(3n);
    expect(decoded.sortOrder).toBe(2);
    expect(decoded.sortTarget).toBe(3);
    expect(decoded.keysOnly).toBe(true);
  });
  it('maps oneof fields to {case, value}', () => {
    const init = jsonToMessageInit('etcdserverpb.RequestOp', { request_put: { key: 'YQ==' } });
    expect(init).toEqual({ request: { case: 'requestPut', value: { key: b('a') } } });
  });
  it('throws JsonMappingError, never anything else, on ill-typed input', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (json) => {
        try {
          const init = jsonToMessageInit('etcdserverpb.TxnRequest', { compare: [json], success: json });
          void init;
        } catch (error) {
          return error instanceof JsonMappingError;
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });
  it('round-trips range requests through gateway JSON', () => {
    const arb = fc.record({
      key: fc.uint8Array({ maxLength: 8 }),
      rangeEnd: fc.uint8Array({ maxLength: 8 }),
      limit: fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
      revision: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
      sortOrder: fc.integer({ min: 0, max: 2 }),
      serializable: fc.boolean(),
      countOnly: fc.boolean(),
    });
    fc.assert(
      fc.property(arb, (r) => {
        const bytes = encodeRangeRequest(r);
        const json = messageToJson('etcdserverpb.RangeRequest', decodeRangeRequest(bytes), 'gateway');
        const again = encodeRangeRequest(jsonToMessageInit('etcdserverpb.RangeRequest', JSON.parse(json)));
        return Buffer.compare(bytes, again) === 0;
      }),
      { numRuns: 300 },
    );
  });
});
