import { describe, expect, it } from 'vitest';
import { decodeEnvelope, encodeEnvelope } from '../../src/server/envelope.js';

describe('entry envelope', () => {
  it('is the epoch and sequence as big-endian u32s, then the payload', () => {
    const payload = Uint8Array.of(9, 8, 7);
    const data = encodeEnvelope({ epoch: 0x01020304, seq: 0xfffffffe }, payload);
    expect([...data]).toEqual([1, 2, 3, 4, 0xff, 0xff, 0xff, 0xfe, 9, 8, 7]);
    payload[0] = 0; // the envelope holds a copy
    expect(data[8]).toBe(9);
  });

  it('decodes what it encodes, also from a view that does not start its buffer', () => {
    const views = Array.from({ length: 50 }, (_, i) => {
      const data = encodeEnvelope({ epoch: i * 7919, seq: 2 ** 32 - 1 - i }, new Uint8Array(i).fill(i));
      // Entries arrive from peers as views into a larger frame buffer.
      const frame = new Uint8Array(data.length + 13);
      frame.set(data, 5);
      return frame.subarray(5, 5 + data.length);
    });
    views.forEach((v, i) => {
      const { id, payload } = decodeEnvelope(v);
      expect(id).toEqual({ epoch: i * 7919, seq: 2 ** 32 - 1 - i });
      expect([...payload]).toEqual(new Array(i).fill(i));
    });
  });

  it('refuses data too short to hold an envelope', () => {
    expect(() => decodeEnvelope(new Uint8Array(7))).toThrow(/no envelope/);
  });
});
