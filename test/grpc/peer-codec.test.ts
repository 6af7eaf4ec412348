import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FrameParser, PeerCodecError, checkMessage, decodeBatch, encodeBatch, encodeFrame, frame } from '../../src/grpc/index.js';
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

  it('encodeFrame is frame(encodeBatch()) in one buffer', () => {
    fc.assert(
      fc.property(fc.array(arbMessage, { maxLength: 8 }), (messages) => {
        expect(encodeFrame(messages).toString('hex')).toBe(frame(encodeBatch(messages)).toString('hex'));
      }),
      { numRuns: 100 },
    );
  });

  it('keeps the wire bytes of the first encoder (members of both versions interoperate)', () => {
    const enc = new TextEncoder();
    const messages: Message[] = [
      {
        ...emptyMessage({ type: 'app', from: A, to: B }), term: 3, logTerm: 2, index: 200, commit: 150, context: enc.encode('ctx'),
        entries: [entry(201, 3, 'x'.repeat(300)), entry(202, 3, 'cc', 'confChange')],
      },
      { ...emptyMessage({ type: 'appResp', from: B, to: A }), term: 3, index: 202, reject: true, rejectHint: 190, hintTerm: 2 },
      { ...emptyMessage({ type: 'snap', from: A, to: B }), term: 4, snapshot: { meta: { index: 99, term: 2, confState: { voters: [A, B], learners: [] } }, data: enc.encode('snapdata') } },
    ];
    // Bytes written by the encoder before it sized its buffer up front (commit 0666c2c).
    const golden = '000001fb54520103ea0203103030303030303030303030303030616110303030303030303030303030303062620302c80196010000000363747802b0020003c901787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878060103ca0163632e04103030303030303030303030303030626210303030303030303030303030303061610300ca010001be010200005b09103030303030303030303030303030616110303030303030303030303030303062620400000002000000002e6302021030303030303030303030303030306161103030303030303030303030303030626200736e617064617461';
    expect(encodeFrame(messages).toString('hex')).toBe(golden);
    expect(decodeBatch(Buffer.from(golden, 'hex').subarray(4))).toEqual(messages);
  });

  it('decoded messages own their bytes: reusing the input buffer changes nothing', () => {
    const messages: Message[] = [{ ...emptyMessage({ type: 'app', from: A, to: B }), term: 1, index: 4, entries: [entry(5, 1, 'payload'.repeat(20))], context: new Uint8Array([1, 2]) }];
    const bytes = encodeBatch(messages);
    const decoded = decodeBatch(bytes);
    bytes.fill(0xee);
    expect(decoded).toEqual(messages);
    for (const e of decoded[0]?.entries ?? []) expect(Buffer.isBuffer(e.data)).toBe(false);
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
