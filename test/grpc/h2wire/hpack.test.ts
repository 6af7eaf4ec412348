import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { HpackDecoder, HpackEncoder, HpackError } from '../../../src/grpc/h2wire/hpack.js';
import { STATIC_TABLE } from '../../../src/grpc/h2wire/hpack-static.js';
import {
  EOS_SYMBOL,
  HUFFMAN_CODES,
  HUFFMAN_LENGTHS,
  huffmanDecode,
  huffmanEncode,
  HuffmanError,
} from '../../../src/grpc/h2wire/huffman.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const pairs = (flat: readonly string[]): [string, string][] => {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
};
/** What a JS string becomes on the wire, read back as latin1 (the encoder's documented rule). */
const octets = (s: string): string =>
  /[^\u0000-\u00ff]/.test(s) ? Buffer.from(s, 'utf8').toString('latin1') : s;
const latin1 = (bytes: number[]): string => Buffer.from(bytes).toString('latin1');

describe('huffman code', () => {
  it('is the RFC 7541 canonical code', () => {
    const code = (ch: string | number): string => {
      const sym = typeof ch === 'number' ? ch : ch.charCodeAt(0);
      return HUFFMAN_CODES[sym]!.toString(2).padStart(HUFFMAN_LENGTHS[sym]!, '0');
    };
    expect(code('0')).toBe('00000');
    expect(code('a')).toBe('00011');
    expect(code(' ')).toBe('010100');
    expect(code(0)).toBe((0x1ff8).toString(2));
    expect(HUFFMAN_LENGTHS[EOS_SYMBOL]).toBe(30);
    expect(HUFFMAN_CODES[EOS_SYMBOL]).toBe(0x3fffffff);
    // Kraft equality: a complete prefix code over 257 symbols.
    let kraft = 0;
    for (let s = 0; s <= EOS_SYMBOL; s++) kraft += 2 ** (30 - HUFFMAN_LENGTHS[s]!);
    expect(kraft).toBe(2 ** 30);
  });

  it('encodes the RFC C.4.1 string and decodes it back', () => {
    const encoded = huffmanEncode(Buffer.from('www.example.com'));
    expect(encoded.toString('hex')).toBe('f1e3c2e5f23a6ba0ab90f4ff');
    expect(huffmanDecode(encoded, 0, encoded.length)).toBe('www.example.com');
  });

  it('round-trips every octet string', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const encoded = huffmanEncode(bytes);
        expect(huffmanDecode(encoded, 0, encoded.length)).toBe(Buffer.from(bytes).toString('latin1'));
      }),
      { numRuns: 300 },
    );
  });

  it('rejects bad padding and EOS', () => {
    // 'a' = 00011 then padding 000: padding not all ones.
    expect(() => huffmanDecode(Buffer.from([0b00011000]), 0, 1)).toThrow(HuffmanError);
    // '0' = 00000, then 11111111 111: padding of 11 bits (longer than 7).
    expect(() => huffmanDecode(Buffer.from([0b00000111, 0b11111111]), 0, 2)).toThrow(HuffmanError);
    // A full byte of ones on its own: 8 bits of padding.
    expect(() => huffmanDecode(Buffer.from([0xff]), 0, 1)).toThrow(HuffmanError);
    // EOS (30 ones) inside the string.
    expect(() => huffmanDecode(Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 4)).toThrow(HuffmanError);
    // Valid: 'a' + 111 padding.
    expect(huffmanDecode(Buffer.from([0b00011111]), 0, 1)).toBe('a');
  });
});

describe('RFC 7541 Appendix C: decoding', () => {
  it('C.2 literal representations', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'))).toEqual([
      'custom-key',
      'custom-header',
    ]);
    expect(d.tableEntries()).toEqual([['custom-key', 'custom-header']]);
    expect(d.tableSizeBytes()).toBe(55);
    const d2 = new HpackDecoder();
    expect(d2.decode(hex('040c 2f73 616d 706c 652f 7061 7468'))).toEqual([':path', '/sample/path']);
    expect(d2.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74'))).toEqual(['password', 'secret']);
    expect(d2.decode(hex('82'))).toEqual([':method', 'GET']);
    expect(d2.tableEntries()).toEqual([]);
  });

  const requests = [
    [':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com'],
    [':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com', 'cache-control', 'no-cache'],
    [
      ...[':method', 'GET', ':scheme', 'https', ':path', '/index.html', ':authority', 'www.example.com'],
      ...['custom-key', 'custom-value'],
    ],
  ];
  const requestTables: [string, string][][] = [
    [[':authority', 'www.example.com']],
    [
      ['cache-control', 'no-cache'],
      [':authority', 'www.example.com'],
    ],
    [
      ['custom-key', 'custom-value'],
      ['cache-control', 'no-cache'],
      [':authority', 'www.example.com'],
    ],
  ];
  const requestSizes = [57, 110, 164];

  it('C.3 requests without Huffman', () => {
    const blocks = [
      '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '8286 84be 5808 6e6f 2d63 6163 6865',
      '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
    ];
    const d = new HpackDecoder();
    blocks.forEach((block, i) => {
      expect(d.decode(hex(block))).toEqual(requests[i]);
      expect(d.tableEntries()).toEqual(requestTables[i]);
      expect(d.tableSizeBytes()).toBe(requestSizes[i]);
    });
  });

  it('C.4 requests with Huffman', () => {
    const blocks = [
      '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
      '8286 84be 5886 a8eb 1064 9cbf',
      '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
    ];
    const d = new HpackDecoder();
    blocks.forEach((block, i) => {
      expect(d.decode(hex(block))).toEqual(requests[i]);
      expect(d.tableEntries()).toEqual(requestTables[i]);
      expect(d.tableSizeBytes()).toBe(requestSizes[i]);
    });
  });

  const date1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
  const date2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
  const loc = 'https://www.example.com';
  const cookie = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
  const responses = [
    [':status', '302', 'cache-control', 'private', 'date', date1, 'location', loc],
    [':status', '307', 'cache-control', 'private', 'date', date1, 'location', loc],
    [
      ...[':status', '200', 'cache-control', 'private', 'date', date2, 'location', loc],
      ...['content-encoding', 'gzip', 'set-cookie', cookie],
    ],
  ];
  const responseTables: [string, string][][] = [
    [
      ['location', loc],
      ['date', date1],
      ['cache-control', 'private'],
      [':status', '302'],
    ],
    [
      [':status', '307'],
      ['location', loc],
      ['date', date1],
      ['cache-control', 'private'],
    ],
    [
      ['set-cookie', cookie],
      ['content-encoding', 'gzip'],
      ['date', date2],
    ],
  ];
  const responseSizes = [222, 222, 215];
  const c5Blocks = [
    `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a
     3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`,
    '4803 3330 37c1 c0bf',
    `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04
     677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49
     553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31`,
  ];

  it('C.5 responses without Huffman, 256-byte table with eviction', () => {
    const d = new HpackDecoder(256);
    c5Blocks.forEach((block, i) => {
      expect(d.decode(hex(block))).toEqual(responses[i]);
      expect(d.tableEntries()).toEqual(responseTables[i]);
      expect(d.tableSizeBytes()).toBe(responseSizes[i]);
    });
  });

  it('C.6 responses with Huffman, 256-byte table with eviction', () => {
    const blocks = [
      `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e
       919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
      '4883 640e ffc1 c0bf',
      `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7
       821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed
       4ee5 b106 3d50 07`,
    ];
    const d = new HpackDecoder(256);
    blocks.forEach((block, i) => {
      expect(d.decode(hex(block))).toEqual(responses[i]);
      expect(d.tableEntries()).toEqual(responseTables[i]);
      expect(d.tableSizeBytes()).toBe(responseSizes[i]);
    });
  });

  it('encoder reproduces C.3 exactly, and C.5 after its size update to 256', () => {
    const e = new HpackEncoder();
    const c3 = [
      '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
      '8286 84be 5808 6e6f 2d63 6163 6865',
      '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
    ];
    requests.forEach((fields, i) => expect(e.encode(fields).toString('hex')).toBe(hex(c3[i]!).toString('hex')));
    const e256 = new HpackEncoder(256);
    responses.forEach((fields, i) => {
      // The first block announces the table size (256 = 31 + 225: 3f e1 01), as the peer's
      // setting differs from the protocol's initial 4096.
      const expected = (i === 0 ? '3fe101' : '') + hex(c5Blocks[i]!).toString('hex');
      expect(e256.encode(fields).toString('hex')).toBe(expected);
      expect(e256.tableEntries()).toEqual(responseTables[i]);
    });
  });
});

describe('encoder', () => {
  const response = [
    ...[':status', '200', 'content-type', 'application/grpc+proto'],
    ...['grpc-accept-encoding', 'identity,deflate,gzip', 'grpc-encoding', 'identity'],
  ];
  const trailers = ['grpc-status', '0', 'grpc-message', 'OK'];

  it('sends a gRPC response and trailers as one byte per field from the second time on', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const first = e.encode(response, () => true);
    expect(first[0]).toBe(0x88); // :status 200 is static index 8
    expect(d.decode(first)).toEqual(response);
    expect(d.decode(e.encode(trailers))).toEqual(trailers);
    for (let i = 0; i < 3; i++) {
      const again = e.encode(response, () => true);
      expect(again.length).toBe(4);
      expect(d.decode(again)).toEqual(response);
      const t = e.encode(trailers);
      expect(t.length).toBe(2);
      expect(d.decode(t)).toEqual(trailers);
    }
  });

  it('never indexes a field whose name is not indexable', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const notMessage = (name: string): boolean => name !== 'grpc-message';
    for (let i = 0; i < 20; i++) {
      const fields = ['grpc-status', '2', 'grpc-message', `error number ${i}`];
      const block = e.encode(fields, notMessage);
      expect(d.decode(block)).toEqual(fields);
    }
    expect(d.tableEntries()).toEqual([['grpc-status', '2']]);
    expect(e.tableEntries()).toEqual([['grpc-status', '2']]);
  });

  it('signals the smallest size when the peer lowers and raises its limit between blocks', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    d.decode(e.encode(['x-a', 'b']));
    e.setPeerMaxTableBytes(0);
    e.setPeerMaxTableBytes(4096);
    const block = e.encode(['x-a', 'b']);
    expect(block.subarray(0, 4).toString('hex')).toBe('203fe11f'); // update 0, then update 4096
    expect(d.decode(block)).toEqual(['x-a', 'b']);
    expect(d.tableEntries()).toEqual([['x-a', 'b']]);
    e.setPeerMaxTableBytes(4096);
    expect(e.encode(['x-a', 'b'])).toEqual(Buffer.from([0xbe])); // no change: no update
  });

  it('writes chars above 0xff as UTF-8 and latin1 chars as single octets', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const fields = ['x-utf8', 'héllo 世界', 'x-latin1', 'caf\u00e9 \u00ff'];
    const decoded = d.decode(e.encode(fields));
    expect(decoded[1]).toBe(Buffer.from('héllo 世界', 'utf8').toString('latin1'));
    expect(Buffer.from(decoded[1]!, 'latin1').toString('utf8')).toBe('héllo 世界');
    expect(decoded[3]).toBe('caf\u00e9 \u00ff');
    // The table entries count octets: the UTF-8 value is 13 octets.
    expect(d.tableSizeBytes()).toBe(6 + 13 + 32 + 8 + 6 + 32);
  });
});

describe('malformed blocks throw HpackError', () => {
  const bad: [string, string, number?][] = [
    ['index 0', '80'],
    ['index past the static table with an empty dynamic table', 'be'],
    ['name index past the table', '7f00 0161'],
    ['truncated integer', 'ff'],
    ['truncated integer continuation', 'ff80'],
    ['integer too large', 'ffffffffff0f'],
    ['integer with too many continuation bytes', 'ff8080808080808000'],
    ['string length past the end', '4005 6162'],
    ['value string missing', '4001 61'],
    ['huffman padding of zeros', '0001 618118'],
    ['huffman padding longer than 7 bits', '0001 618207ff'],
    ['huffman EOS inside the string', '0001 6184ffffffff'],
    ['size update above the limit', '3fe11f', 4095],
    ['size update after a field', '8220'],
    ['size update between fields', '823f0182'],
  ];
  for (const [what, block, max] of bad) {
    it(what, () => {
      const d = new HpackDecoder(max ?? 4096);
      expect(() => d.decode(hex(block))).toThrow(HpackError);
    });
  }

  it('accepts what the bad cases are near to', () => {
    expect(new HpackDecoder().decode(hex('0001 6181 1f'))).toEqual(['a', 'a']);
    expect(new HpackDecoder(4096).decode(hex('3fe11f 82'))).toEqual([':method', 'GET']);
    expect(new HpackDecoder().decode(hex('20 3fe11f 82'))).toEqual([':method', 'GET']);
    // A redundant zero continuation byte is tolerated within the byte limit.
    expect(new HpackDecoder().decode(hex('3fe19f00 82'))).toEqual([':method', 'GET']);
    expect(new HpackDecoder().decode(hex(''))).toEqual([]);
  });

  it('refers to an evicted entry as past the table', () => {
    const d = new HpackDecoder();
    d.decode(hex('400161 0162')); // a: b
    expect(d.decode(hex('be'))).toEqual(['a', 'b']);
    d.decode(hex('20')); // size 0 evicts it
    expect(() => d.decode(hex('be'))).toThrow(HpackError);
  });

  it('random bytes never throw anything but HpackError', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 8 }), (blocks) => {
        const d = new HpackDecoder(256);
        for (const block of blocks) {
          try {
            const fields = d.decode(block);
            expect(fields.length % 2).toBe(0);
          } catch (err) {
            expect(err).toBeInstanceOf(HpackError);
            return;
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('encode then decode (fast-check)', () => {
  const nameArb = fc.oneof(
    fc.constantFrom(...STATIC_TABLE.map((e) => e[0])),
    fc.constantFrom('grpc-status', 'grpc-message', 'x-a', 'x-b', 'x-c'),
    fc.string({ maxLength: 12 }),
    fc.uint8Array({ maxLength: 10 }).map((b) => Buffer.from(b).toString('latin1')),
  );
  const valueArb = fc.oneof(
    fc.constantFrom(...STATIC_TABLE.map((e) => e[1])),
    fc.constantFrom('0', 'OK', 'identity', 'application/grpc'),
    fc.string({ maxLength: 40, unit: 'grapheme' }),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
  );
  const fieldsArb = fc.array(fc.tuple(nameArb, valueArb), { maxLength: 12 }).map((ps) => ps.flat());
  const stepArb = fc.oneof(
    { weight: 6, arbitrary: fc.record({ fields: fieldsArb, indexAll: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ tableBytes: fc.integer({ min: 0, max: 6000 }) }) },
  );

  it('keeps the two tables in sync across many blocks and size changes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 6000 }), fc.array(stepArb, { maxLength: 40 }), (initialBytes, steps) => {
        const e = new HpackEncoder(initialBytes);
        const d = new HpackDecoder(6000);
        for (const step of steps) {
          if ('tableBytes' in step) {
            e.setPeerMaxTableBytes(step.tableBytes);
            continue;
          }
          const indexable = step.indexAll ? undefined : (name: string): boolean => name.length % 2 === 0;
          const block = e.encode(step.fields, indexable);
          expect(d.decode(block)).toEqual(step.fields.map(octets));
          expect(d.tableEntries()).toEqual(e.tableEntries().map(([n, v]) => [octets(n), octets(v)]));
          expect(d.tableSizeBytes()).toBeLessThanOrEqual(d.tableMaxBytes());
        }
      }),
      { numRuns: 300 },
    );
  });
});

export { latin1, pairs };
