/**
 * The watch fan-out encoder gives exactly the bytes the generated encoder gives for the same
 * response, whatever mix of fields and events, when the same event objects are shared among
 * many watchers' responses (the cached path), and decodes back to the same response.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeWatchResponse, encodeWatchResponse } from '../../src/grpc/generated/etcdserverpb.js';
import { encodeHubWatchResponse, toEventInit } from '../../src/grpc/watch-encode.js';
import type { KeyValue } from '../../src/mvcc/index.js';
import type { WatchEvent, WatchResponse } from '../../src/watch/index.js';

const bytes = fc.uint8Array({ maxLength: 40 });
const kvArb: fc.Arbitrary<KeyValue> = fc.record({
  key: fc.uint8Array({ minLength: 1, maxLength: 20 }),
  createRevision: fc.integer({ min: 0, max: 2 ** 40 }),
  modRevision: fc.integer({ min: 0, max: 2 ** 40 }),
  version: fc.integer({ min: 0, max: 1000 }),
  value: bytes,
  lease: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
});
const eventArb: fc.Arbitrary<WatchEvent> = fc
  .tuple(fc.constantFrom(0, 1), kvArb, fc.option(kvArb, { nil: undefined }))
  .map(([type, kv, prevKv]) => (prevKv === undefined ? { type: type as 0 | 1, kv } : { type: type as 0 | 1, kv, prevKv }));

function responseArb(events: readonly WatchEvent[]): fc.Arbitrary<WatchResponse> {
  return fc.record({
    header: fc.record({
      clusterId: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      memberId: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      revision: fc.integer({ min: 0, max: 2 ** 40 }),
      raftTerm: fc.integer({ min: 0, max: 1000 }),
    }),
    watchId: fc.integer({ min: -1, max: 1000 }),
    created: fc.boolean(),
    canceled: fc.boolean(),
    compactRevision: fc.integer({ min: 0, max: 1000 }),
    cancelReason: fc.string({ maxLength: 10 }),
    fragment: fc.boolean(),
    events: fc.subarray([...events]),
  });
}

function generated(r: WatchResponse): Buffer {
  return encodeWatchResponse({
    header: { clusterId: r.header.clusterId, memberId: r.header.memberId, revision: BigInt(r.header.revision), raftTerm: BigInt(r.header.raftTerm) },
    watchId: BigInt(r.watchId),
    created: r.created,
    canceled: r.canceled,
    compactRevision: BigInt(r.compactRevision),
    cancelReason: r.cancelReason,
    fragment: r.fragment,
    events: r.events.map(toEventInit),
  });
}

describe('encodeHubWatchResponse', () => {
  it('matches the generated encoder byte for byte, also when events are shared across responses', () => {
    fc.assert(
      fc.property(
        fc.array(eventArb, { maxLength: 6 }).chain((events) => fc.array(responseArb(events), { minLength: 1, maxLength: 5 })),
        (responses) => {
          // Every response of one run shares event objects: the second encoding of an event is the cached one.
          for (const r of responses) {
            const fast = encodeHubWatchResponse(r);
            expect(fast.equals(generated(r))).toBe(true);
            const back = decodeWatchResponse(fast);
            expect(back.watchId).toBe(BigInt(r.watchId));
            expect(back.events.length).toBe(r.events.length);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('one event fanned out to many watchers decodes identically in each response', () => {
    const ev: WatchEvent = {
      type: 0,
      kv: { key: Uint8Array.of(1, 2), createRevision: 5, modRevision: 9, version: 3, value: Uint8Array.of(7, 7, 7), lease: 0n },
    };
    const header = { clusterId: 1n, memberId: 2n, revision: 9, raftTerm: 4 };
    const outs = [0, 1, 2].map((watchId) =>
      decodeWatchResponse(encodeHubWatchResponse({ header, watchId, created: false, canceled: false, compactRevision: 0, cancelReason: '', fragment: false, events: [ev] })),
    );
    expect(outs.map((o) => o.watchId)).toEqual([0n, 1n, 2n]);
    for (const o of outs) {
      expect(o.events[0]?.kv?.modRevision).toBe(9n);
      expect([...(o.events[0]?.kv?.value ?? [])]).toEqual([7, 7, 7]);
    }
  });
});
