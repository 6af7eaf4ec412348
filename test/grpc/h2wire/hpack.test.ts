import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import http2 from 'node:http2';
import net from 'node:net';
import { HpackDecoder, HpackEncoder, HpackError } from '../../../src/grpc/h2wire/hpack.js';
import { STATIC_TABLE } from '../../../src/grpc/h2wire/hpack-static.js';
import { frame } from './raw-client.js';
import {
  EOS_SYMBOL,
  HUFFMAN_CODES,
  HUFFMAN_LENGTHS,
  huffmanDecode,
  huffmanEncode,
  HuffmanError,
} from '../../../src/grpc/h2wire/huffman.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** What a JS string becomes on the wire, read back as latin1 (the encoder's documented rule). */
const octets = (s: string): string =>
  /[^\u0000-\u00ff]/.test(s) ? Buffer.from(s, 'utf8').toString('latin1') : s;

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

// ---- against node:http2 (nghttp2): a raw socket server that speaks just enough HTTP/2 ----

const FRAME_HEADERS = 0x1;
const FRAME_SETTINGS = 0x4;
const FRAME_PING = 0x6;
const FRAME_GOAWAY = 0x7;
const FRAME_CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
const SETTING_HEADER_TABLE_SIZE = 0x1;
const PREFACE_BYTES = 24;
const FRAME_PAYLOAD_MAX = 16384;

/** A HEADERS frame and as many CONTINUATION frames as the block needs. */
function headerFrames(streamId: number, block: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let off = 0; off === 0 || off < block.length; off += FRAME_PAYLOAD_MAX) {
    const part = block.subarray(off, off + FRAME_PAYLOAD_MAX);
    const last = off + FRAME_PAYLOAD_MAX >= block.length;
    const type = off === 0 ? FRAME_HEADERS : FRAME_CONTINUATION;
    const flags = (off === 0 ? FLAG_END_STREAM : 0) | (last ? FLAG_END_HEADERS : 0);
    frames.push(frame(type, flags, streamId, part));
  }
  return frames;
}

interface RawServerOptions {
  decoderMaxTableBytes: number;
  /** Sent in our SETTINGS as SETTINGS_HEADER_TABLE_SIZE when given. */
  advertisedTableBytes?: number;
  /** Decoded request fields in, response fields out. */
  respond(fields: string[]): string[];
}

interface RawServer {
  readonly port: number;
  /** Errors thrown while handling frames (a decode error also resets the connection). */
  readonly errors: unknown[];
  /** Rejects at the first error: raced against client waits, since an HTTP/2 client that
   * sent GOAWAY stops reading and would leave its requests pending forever. */
  readonly failed: Promise<never>;
  fail(err: unknown): void;
  /** SETTINGS_HEADER_TABLE_SIZE values the client sent, in order. */
  readonly peerTableSizes: number[];
  readonly requestBlocks: Buffer[];
  readonly requestFields: string[][];
  readonly responseBlocks: Buffer[];
  continuationFramesIn: number;
  close(): Promise<void>;
}

function startRawServer(options: RawServerOptions): Promise<RawServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    serveConnection(socket, options, state);
  });
  let rejectFailed: (err: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    rejectFailed = reject;
  });
  failed.catch(() => {});
  const state: RawServer = {
    port: 0,
    errors: [],
    failed,
    fail(err) {
      state.errors.push(err);
      rejectFailed(err);
    },
    peerTableSizes: [],
    requestBlocks: [],
    requestFields: [],
    responseBlocks: [],
    continuationFramesIn: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      (state as { port: number }).port = (server.address() as net.AddressInfo).port;
      resolve(state);
    });
  });
}

function serveConnection(socket: net.Socket, options: RawServerOptions, state: RawServer): void {
  const decoder = new HpackDecoder(options.decoderMaxTableBytes);
  const encoder = new HpackEncoder();
  let pending = Buffer.alloc(0);
  let prefaceSeen = false;
  let headerStreamId = 0;
  let headerParts: Buffer[] = [];
  const settings = Buffer.alloc(options.advertisedTableBytes === undefined ? 0 : 6);
  if (options.advertisedTableBytes !== undefined) {
    settings.writeUInt16BE(SETTING_HEADER_TABLE_SIZE, 0);
    settings.writeUInt32BE(options.advertisedTableBytes, 2);
  }
  socket.write(frame(FRAME_SETTINGS, 0, 0, settings));

  const finishHeaders = (): void => {
    const block = Buffer.concat(headerParts);
    state.requestBlocks.push(block);
    const fields = decoder.decode(block);
    state.requestFields.push(fields);
    const response = encoder.encode(options.respond(fields), () => true);
    state.responseBlocks.push(response);
    for (const f of headerFrames(headerStreamId, response)) socket.write(f);
  };
  const onFrame = (type: number, flags: number, streamId: number, payload: Buffer): void => {
    if (type === FRAME_SETTINGS && (flags & FLAG_ACK) === 0) {
      for (let off = 0; off + 6 <= payload.length; off += 6) {
        if (payload.readUInt16BE(off) !== SETTING_HEADER_TABLE_SIZE) continue;
        const bytes = payload.readUInt32BE(off + 2);
        state.peerTableSizes.push(bytes);
        encoder.setPeerMaxTableBytes(bytes);
      }
      socket.write(frame(FRAME_SETTINGS, FLAG_ACK, 0, Buffer.alloc(0)));
    } else if (type === FRAME_GOAWAY) {
      // A client that rejects our header block (COMPRESSION_ERROR) sends GOAWAY and then waits
      // for the server to go: close, so its pending requests fail instead of hanging.
      const code = payload.readUInt32BE(4);
      if (code !== 0) state.fail(new Error(`client sent GOAWAY with error code ${code}`));
      socket.destroy();
    } else if (type === FRAME_PING && (flags & FLAG_ACK) === 0) {
      socket.write(frame(FRAME_PING, FLAG_ACK, 0, payload));
    } else if (type === FRAME_HEADERS) {
      let p = payload;
      if ((flags & FLAG_PADDED) !== 0) p = p.subarray(1, p.length - p[0]!);
      if ((flags & FLAG_PRIORITY) !== 0) p = p.subarray(5);
      headerStreamId = streamId;
      headerParts = [p];
      if ((flags & FLAG_END_HEADERS) !== 0) finishHeaders();
    } else if (type === FRAME_CONTINUATION) {
      state.continuationFramesIn++;
      headerParts.push(payload);
      if ((flags & FLAG_END_HEADERS) !== 0) finishHeaders();
    }
  };
  socket.on('data', (chunk: Buffer) => {
    try {
      pending = Buffer.concat([pending, chunk]);
      if (!prefaceSeen) {
        if (pending.length < PREFACE_BYTES) return;
        prefaceSeen = true;
        pending = pending.subarray(PREFACE_BYTES);
      }
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        const payload = pending.subarray(9, 9 + length);
        onFrame(pending[3]!, pending[4]!, pending.readUInt32BE(5) & 0x7fffffff, payload);
        pending = pending.subarray(9 + length);
      }
    } catch (err) {
      state.fail(err);
      socket.destroy();
    }
  });
}

/** Seeded so a failure replays; the seed is in the test name. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A header value of random octets (printable ASCII and 0xa0-0xff), no edge spaces. */
function randomValue(rand: () => number, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) {
    const r = rand();
    s += String.fromCharCode(r < 0.8 ? 0x21 + Math.floor(rand() * 94) : 0xa0 + Math.floor(rand() * 96));
  }
  return s;
}

const UNICODE_WORDS = ['héllo', 'wörld', '世界', 'καλημέρα', 'привет', '🙂', 'naïve', 'ü', '東京'];

function requestHeaders(rand: () => number, i: number): [string, string][] {
  const words: string[] = [];
  for (let n = 1 + Math.floor(rand() * 6); n > 0; n--) words.push(UNICODE_WORDS[Math.floor(rand() * UNICODE_WORDS.length)]!);
  const fields: [string, string][] = [
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ['grpc-accept-encoding', 'identity,deflate,gzip'],
    ['user-agent', 'grpc-node-js/1.14.0'],
    ['x-seq', String(i)],
    ['x-repeat', ['alpha', 'beta', 'gamma'][i % 3]!],
    // UTF-8 text travels as its octets: node writes a header string as latin1.
    ['x-utf8', Buffer.from(words.join(' '), 'utf8').toString('latin1')],
    ['x-random', randomValue(rand, 1 + Math.floor(rand() * 60))],
  ];
  if (i % 4 === 1) fields.push(['x-long', randomValue(rand, 200 + Math.floor(rand() * 1500))]);
  if (i % 17 === 5) fields.push(['x-huge', randomValue(rand, 20000)]);
  if (i % 5 === 2) fields.push(['authorization', `Bearer ${randomValue(rand, 30)}`]);
  return fields;
}

function connect(port: number): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.once('error', reject);
    // Requests wait for the server's SETTINGS, so the client's encoder honours our table size.
    client.once('remoteSettings', () => resolve(client));
  });
}

function request(client: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders): Promise<http2.IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    const req = client.request(headers, { endStream: true });
    req.once('response', (h) => resolve(h));
    req.once('error', reject);
    // A stream reset or a session torn down by a COMPRESSION_ERROR ends here, not in a hang.
    req.once('close', () => reject(new Error(`stream closed before a response (rst code ${req.rstCode})`)));
    req.resume();
  });
}

function settle(client: http2.ClientHttp2Session, headerTableSize: number): Promise<void> {
  return new Promise((resolve, reject) => {
    client.settings({ headerTableSize }, (err) => (err ? reject(err) : resolve()));
    client.once('close', () => reject(new Error('session closed before the SETTINGS ack')));
  });
}

const closeClient = (client: http2.ClientHttp2Session, server: RawServer): Promise<void> =>
  new Promise((resolve) => {
    if (client.closed || client.destroyed) return resolve();
    if (server.errors.length > 0) {
      client.destroy();
      return resolve();
    }
    client.close(() => resolve());
  });

describe('against node:http2 (nghttp2)', () => {
  for (const [seed, tableBytes] of [
    [1, 4096],
    [2, 512],
  ] as const) {
    it(`decodes what nghttp2 encodes: Huffman, dynamic table, eviction (seed ${seed}, table ${tableBytes})`, async () => {
      const rand = prng(seed);
      const server = await startRawServer({
        decoderMaxTableBytes: tableBytes,
        ...(tableBytes === 4096 ? {} : { advertisedTableBytes: tableBytes }),
        respond: (fields) => [':status', '200', 'x-echo-count', String(fields.length / 2)],
      });
      const client = await connect(server.port).catch(async (err: unknown) => {
        await server.close();
        throw err;
      });
      try {
        let sentBytes = 0;
        const sent: [string, string][][] = [];
        for (let i = 0; i < 50; i++) {
          const fields = requestHeaders(rand, i);
          sent.push(fields);
          const path = `/etcdserverpb.KV/Range/${i}`;
          const headers: http2.OutgoingHttpHeaders = { ':method': 'POST', ':path': path };
          for (const [n, v] of fields) headers[n] = v;
          (headers as Record<symbol, unknown>)[http2.sensitiveHeaders] = ['authorization'];
          const response = await Promise.race([request(client, headers), server.failed]);
          expect(server.errors).toEqual([]);
          expect(server.requestFields.length).toBe(i + 1);
          const decoded = server.requestFields[i]!;
          const pseudo = new Map<string, string>();
          const regular: [string, string][] = [];
          for (let k = 0; k < decoded.length; k += 2) {
            if (decoded[k]!.startsWith(':')) pseudo.set(decoded[k]!, decoded[k + 1]!);
            else regular.push([decoded[k]!, decoded[k + 1]!]);
          }
          expect(pseudo).toEqual(
            new Map([
              [':method', 'POST'],
              [':path', path],
              [':scheme', 'http'],
              [':authority', `127.0.0.1:${server.port}`],
            ]),
          );
          expect(regular).toEqual(fields);
          const utf8 = regular.find(([n]) => n === 'x-utf8')![1];
          expect(Buffer.from(utf8, 'latin1').toString('utf8')).toMatch(/^[^\uFFFD]+$/u);
          expect(response['x-echo-count']).toBe(String(fields.length + 4));
          sentBytes += fields.reduce((sum, [n, v]) => sum + n.length + v.length + 32, 0);
        }
        expect(sentBytes).toBeGreaterThan(8 * tableBytes); // enough to churn the table many times
        expect(server.continuationFramesIn).toBeGreaterThan(0);
        // The sensitive header goes out never-indexed: 0001 1111 then 23 - 15 = 8 (static
        // name 23 is authorization).
        expect(server.requestBlocks[2]!.includes(Buffer.from([0x1f, 0x08]))).toBe(true);
        // Request 3 repeats every field of request 0 but :path, x-seq, x-utf8 and x-random: those
        // 8 fields must come out of the tables as one byte each (the changing ones cost at most
        // their octets plus 4 bytes of prefix and length).
        const changing = [`/etcdserverpb.KV/Range/3`, ...sent[3]!.filter(([n]) => /^x-(seq|utf8|random)$/.test(n)).map(([, v]) => v)];
        expect(changing.length).toBe(4);
        // nghttp2 Huffman-codes literals when that is shorter, as for this first-seen value.
        expect(server.requestBlocks[0]!.includes(huffmanEncode(Buffer.from('application/grpc')))).toBe(true);
        const bound = 8 + changing.reduce((sum, v) => sum + v.length + 4, 0);
        expect(server.requestBlocks[3]!.length).toBeLessThanOrEqual(bound);
      } finally {
        await closeClient(client, server);
        await server.close();
      }
      expect(server.errors).toEqual([]);
    });
  }
});

/** The response the raw server sends for request i: gRPC's fields plus varied ones. */
function responseFields(i: number): string[] {
  const rand = prng(1000 + i);
  const fields = [
    ...[':status', '200', 'content-type', 'application/grpc+proto'],
    ...['grpc-accept-encoding', 'identity,deflate,gzip', 'grpc-encoding', 'identity'],
    ...['x-resp-seq', String(i), 'x-resp-repeat', ['one', 'two'][i % 2]!],
    ...['x-resp-random', randomValue(rand, 1 + Math.floor(rand() * 80))],
  ];
  if (i % 3 === 0) fields.push('x-resp-long', randomValue(rand, 300 + Math.floor(rand() * 1500)));
  if (i === 7) fields.push('x-resp-huge', randomValue(rand, 20000));
  return fields;
}

describe('against node:http2 (nghttp2): our encoder', () => {
  it('node sees exactly the headers we encode, across table size changes', async () => {
    const server = await startRawServer({
      decoderMaxTableBytes: 4096,
      respond: (fields) => {
        const seq = fields[fields.indexOf('x-seq') + 1]!;
        return responseFields(Number(seq));
      },
    });
    const client = await connect(server.port).catch(async (err: unknown) => {
      await server.close();
      throw err;
    });
    const tableSizeAt = new Map([
      [20, 256],
      [30, 0],
      [35, 100],
      [40, 4096],
    ]);
    const firstAfterChange: number[] = [];
    try {
      for (let i = 0; i < 50; i++) {
        const newSize = tableSizeAt.get(i);
        if (newSize !== undefined) {
          await Promise.race([settle(client, newSize), server.failed]);
          firstAfterChange.push(server.responseBlocks.length);
        }
        const response = await Promise.race([
          request(client, { ':method': 'POST', ':path': '/x', 'x-seq': String(i) }),
          server.failed,
        ]);
        expect(server.errors).toEqual([]);
        const expected = responseFields(i);
        const got: Record<string, string | number> = {};
        for (const [n, v] of Object.entries(response)) got[n] = v as string | number;
        const want: Record<string, string | number> = {};
        for (let k = 0; k < expected.length; k += 2) want[expected[k]!] = expected[k + 1]!;
        want[':status'] = 200; // node gives :status as a number
        expect(got).toEqual(want);
      }
      expect(server.peerTableSizes).toEqual([256, 0, 100, 4096]);
      // The second response's four gRPC fields are one byte each: :status 200 static, then
      // three dynamic entries.
      const second = server.responseBlocks[1]!;
      expect(second[0]).toBe(0x88);
      expect([...second.subarray(1, 4)].every((b) => b > 0x80 + 61)).toBe(true);
      // After each SETTINGS change the next block opens with a dynamic table size update.
      for (const index of firstAfterChange) {
        const first = server.responseBlocks[index]![0]!;
        expect(first & 0xe0).toBe(0x20);
      }
    } finally {
      await closeClient(client, server);
      await server.close();
    }
    expect(server.errors).toEqual([]);
  });
});
