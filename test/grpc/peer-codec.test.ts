import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FrameParser, PeerCodecError, checkMessage, decodeBatch, encodeBatch, frame } from '../../src/grpc/index.js';
import { emptyMessage } from '../../src/raft/index.js';
import type { Entry, Message, MessageType } from '../../src/raft/index.js';
import { nodeId } from '../../src/util/index.js';

const A = nodeId('00000000000000aa');
const B = nodeId('00000000000000bb');

const entry = (index: number, term: number, data: string, type: Entry['type'] = 'normal'): Entry => ({
  index,
  term,
  type,
  data: new TextEncoder().encode(data),
});

const WIRE_TYPES: MessageType[] = [
  'prop', 'app', 'appResp', 'vote', 'voteResp', 'preVote', 'preVoteResp', 'snap', 'heartbeat',
  'heartbeatResp', 'transferLeader', 'timeoutNow', 'readIndex', 'readIndexResp',
];

const arbMessage: fc.Arbitrary<Message> = fc
  .record({
    type: fc.constantFrom(...WIRE_TYPES),
    term: fc.nat({ max: 2 ** 40 }),
    logTerm: fc.nat({ max: 2 ** 40 }),
    index: fc.nat({ max: 2 ** 50 }),
    commit: fc.nat({ max: 2 ** 50 }),
    reject: fc.boolean(),
    rejectHint: fc.nat(),
    hintTerm: fc.nat(),
    context: fc.uint8Array({ maxLength: 20 }),
    entries: fc.array(fc.record({ term: fc.nat(), type: fc.constantFrom<Entry['type']>('normal', 'confChange'), data: fc.uint8Array({ maxLength: 40 }) }), { maxLength: 5 }),
    snapshot: fc.option(fc.record({ index: fc.nat(), term: fc.nat(), data: fc.uint8Array({ maxLength: 100 }) }), { nil: undefined }),
  })
  .map((r) => {
    const base: Message = {
      ...emptyMessage({ type: r.type, from: A, to: B }),
      term: r.term,
      logTerm: r.logTerm,
      index: r.index,
      commit: r.commit,
      reject: r.reject,
      rejectHint: r.rejectHint,
      hintTerm: r.hintTerm,
      context: r.context,
      entries: r.entries.map((e, i) => ({ ...e, index: r.index + 1 + i })),
    };
    if (r.snapshot === undefined) return base;
    const confState = { voters: [A, B], learners: [nodeId('00000000000000cc')] };
    return { ...base, snapshot: { meta: { index: r.snapshot.index, term: r.snapshot.term, confState }, data: r.snapshot.data } };
  });

describe('peer codec', () => {
  it('round-trips every wire message kind with entries and snapshots', () => {
    fc.assert(
      fc.property(fc.array(arbMessage, { maxLength: 8 }), (messages) => {
        expect(decodeBatch(encodeBatch(messages))).toEqual(messages);
      }),
      { numRuns: 200 },
    );
  });

  it('encodes a batch of heartbeats compactly', () => {
    const beats = [1, 2, 3].map((i) => ({ ...emptyMessage({ type: 'heartbeat', from: A, to: B }), term: 7, commit: 1000 + i }));
    const bytes = encodeBatch(beats);
    expect(bytes.length).toBeLessThan(3 * 60);
    expect(decodeBatch(bytes).map((m) => m.commit)).toEqual([1001, 1002, 1003]);
  });

  it('refuses garbage with PeerCodecError only, never another error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeBatch(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(PeerCodecError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a valid batch with one byte flipped or cut short, never crashing', () => {
    const batch = encodeBatch([{ ...emptyMessage({ type: 'app', from: A, to: B }), term: 3, index: 4, entries: [entry(5, 3, 'x'), entry(6, 3, 'y')] }]);
    for (let cut = 0; cut < batch.length; cut++) expect(() => decodeBatch(batch.subarray(0, cut))).toThrow(PeerCodecError);
    fc.assert(
      fc.property(fc.nat({ max: batch.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const copy = Buffer.from(batch);
        copy[at] = (copy[at] as number) ^ xor;
        try {
          decodeBatch(copy);
        } catch (error) {
          expect(error).toBeInstanceOf(PeerCodecError);
        }
      }),
    );
  });

  it('rejects local message kinds and wrong magic', () => {
    const hup = encodeBatch([{ ...emptyMessage({ type: 'heartbeat', from: A, to: B }), term: 1 }]);
    const patched = Buffer.from(hup);
    // type code of the first message: magic(2) version(1) count(1) length(1) -> type at 5
    patched[5] = 0; // 'hup'
    expect(() => decodeBatch(patched)).toThrow(/local message type hup/);
    expect(() => decodeBatch(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(/bad magic/);
  });

  it('checkMessage refuses what Raft would assert on', () => {
    const ok = { ...emptyMessage({ type: 'app', from: A, to: B }), term: 2, index: 9, entries: [entry(10, 2, 'a')] };
    expect(() => checkMessage(ok, B)).not.toThrow();
    expect(() => checkMessage(ok, A)).toThrow(/delivered to/);
    expect(() => checkMessage({ ...ok, term: 0 }, B)).toThrow(/without a term/);
    expect(() => checkMessage({ ...ok, entries: [entry(12, 2, 'a')] }, B)).toThrow(/contiguous/);
    expect(() => checkMessage({ ...emptyMessage({ type: 'prop', from: A, to: B }), entries: [entry(0, 0, 'p')] }, B)).not.toThrow();
    expect(() => checkMessage({ ...emptyMessage({ type: 'snap', from: A, to: B }), term: 1 }, B)).toThrow(/without a snapshot/);
  });

  it('frame parser reassembles frames split at every byte boundary', () => {
    const payloads = [Buffer.from('one'), Buffer.alloc(0), Buffer.from('three three'), Buffer.alloc(70_000, 7)];
    const stream = Buffer.concat(payloads.map(frame));
    for (const step of [1, 2, 3, 5, 4096, stream.length]) {
      const parser = new FrameParser(1 << 20);
      const out: Buffer[] = [];
      for (let at = 0; at < stream.length; at += step) out.push(...parser.push(stream.subarray(at, at + step)));
      expect(out.map((b) => b.toString('hex'))).toEqual(payloads.map((b) => b.toString('hex')));
    }
  });

  it('frame parser refuses an oversized frame before buffering it', () => {
    const parser = new FrameParser(1024);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(1025);
    expect(() => parser.push(head)).toThrow(PeerCodecError);
  });
});
