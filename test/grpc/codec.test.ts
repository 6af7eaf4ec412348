import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MESSAGES, ProtoDecodeError, MAX_DEPTH, COPY_BYTES_MAX,
  encodePutRequest, decodePutRequest, encodeRangeRequest, encodeCompare, decodeCompare,
  encodeWatchCreateRequest, decodeWatchCreateRequest, encodeResponseHeader, decodeResponseHeader,
  decodeRangeResponse, decodeMember, encodeTxnRequest, decodeTxnRequest, encodeKeyValue,
  encodeStatusRequest, decodeStatusRequest,
} from '../../src/grpc/index.js';
import type { FieldSchema, MessageSchema, TxnRequestInit } from '../../src/grpc/index.js';
import { utf8 } from '../../src/util/index.js';
import { toHexString } from './helpers.js';

/** Generous: CI shares two cores with other suites, and these tests spawn processes or loop. */
const SLOW_MACHINE_TIMEOUT_MS = 60_000;

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('known encodings', () => {
  it('PutRequest with key and value', () => {
    const bytes = encodePutRequest({ key: utf8('foo'), value: utf8('bar') });
    expect(toHexString(bytes)).toBe('0a03666f6f' + '1203626172');
    expect(decodePutRequest(bytes)).toEqual({
      key: utf8('foo'), value: utf8('bar'), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false,
    });
  });

  it('negative int64 is a ten-byte two\'s complement varint', () => {
    const bytes = encodePutRequest({ key: utf8('a'), lease: -1n });
    expect(toHexString(bytes)).toBe('0a0161' + '18ffffffffffffffffff01');
    expect(decodePutRequest(bytes).lease).toBe(-1n);
  });

  it('range_end "\\0" (all keys from key) is one zero byte, not omitted', () => {
    expect(toHexString(encodeRangeRequest({ key: utf8('a'), rangeEnd: new Uint8Array([0]) }))).toBe('0a0161120100');
  });

  it('Compare writes the oneof at its field number and range_end as field 64', () => {
    const bytes = encodeCompare({
      result: 1, target: 2, key: utf8('k'), targetUnion: { case: 'modRevision', value: 5n }, rangeEnd: utf8('z'),
    });
    expect(toHexString(bytes)).toBe('0801' + '1002' + '1a016b' + '3005' + '820401' + '7a');
    expect(decodeCompare(bytes).targetUnion).toEqual({ case: 'modRevision', value: 5n });
  });

  it('a oneof member holding its default value is still written (presence)', () => {
    const bytes = encodeCompare({ targetUnion: { case: 'version', value: 0n } });
    expect(toHexString(bytes)).toBe('2000');
    expect(decodeCompare(bytes).targetUnion).toEqual({ case: 'version', value: 0n });
  });

  it('repeated enums are packed, and the unpacked form is accepted too', () => {
    expect(toHexString(encodeWatchCreateRequest({ filters: [0, 1] }))).toBe('2a020001');
    expect(decodeWatchCreateRequest(hex('2800 2801')).filters).toEqual([0, 1]);
  });

  it('uint64 uses all 64 bits', () => {
    const max = (1n << 64n) - 1n;
    const bytes = encodeResponseHeader({ memberId: max, clusterId: (1n << 53n) + 1n });
    expect(decodeResponseHeader(bytes)).toMatchObject({ memberId: max, clusterId: (1n << 53n) + 1n });
    expect(toHexString(bytes).endsWith('10ffffffffffffffffff01')).toBe(true);
  });

  it('an empty message is zero bytes, and defaults are omitted', () => {
    expect(encodeStatusRequest({}).length).toBe(0);
    expect(decodeStatusRequest(new Uint8Array(0))).toEqual({});
    expect(encodeKeyValue({ key: new Uint8Array(0), version: 0n, lease: 0n }).length).toBe(0);
  });

  it('lengths of 128 bytes and more take a multi-byte varint (child shifted in place)', () => {
    const value = new Uint8Array(300).fill(7);
    const bytes = encodeTxnRequest({ success: [{ request: { case: 'requestPut', value: { key: utf8('k'), value } } }] });
    const put = decodeTxnRequest(bytes).success[0]?.request;
    expect(put?.case === 'requestPut' && put.value.value).toEqual(value);
  });

  it('short bytes fields are private copies, long ones zero-copy views; never Buffers', () => {
    const long = new Uint8Array(COPY_BYTES_MAX + 1).fill(9);
    const bytes = encodePutRequest({ key: utf8('foo'), value: long });
    const decoded = decodePutRequest(bytes);
    expect(Buffer.isBuffer(decoded.key)).toBe(false);
    expect(Buffer.isBuffer(decoded.value)).toBe(false);
    expect(decoded.value.buffer).toBe(bytes.buffer);
    bytes.fill(0);
    expect(decoded.key).toEqual(utf8('foo'));
    expect(decoded.value.every((b) => b === 0)).toBe(true);
  });

  it('refuses to encode an int64 outside its range', () => {
    expect(() => encodePutRequest({ lease: 1n << 63n })).toThrow(RangeError);
  });
});

describe('malformed input is rejected with ProtoDecodeError', () => {
  const cases: Array<[string, string, (b: Uint8Array) => unknown]> = [
    ['length past the end', '0a05666f', decodePutRequest],
    ['field number 0', '0001', decodePutRequest],
    ['group wire type', '0b', decodePutRequest],
    ['known field with the wrong wire type', '0801', decodePutRequest],
    ['varint longer than 10 bytes', '18ffffffffffffffffffff01', decodePutRequest],
    ['truncated varint', '1880', decodePutRequest],
    ['varint inside a child running past the child', '0a020896' + '01', decodeRangeResponse],
    ['invalid UTF-8 in a string', '1202c328', decodeMember],
    ['truncated fixed64 unknown field', '7901020304', decodePutRequest],
  ];
  for (const [name, bytes, decode] of cases) {
    it(name, () => {
      expect(() => decode(hex(bytes))).toThrow(ProtoDecodeError);
    });
  }

  it('nesting deeper than MAX_DEPTH', () => {
    let txn: TxnRequestInit = {};
    for (let i = 0; i < MAX_DEPTH + 5; i++) txn = { success: [{ request: { case: 'requestTxn', value: txn } }] };
    const bytes = encodeTxnRequest(txn);
    expect(() => decodeTxnRequest(bytes)).toThrow(/nested deeper/);
  });

  it('unknown fields of every wire type are skipped', () => {
    // field 99 varint, field 98 fixed64, field 97 length-delimited, field 96 fixed32, then key.
    const bytes = hex('98062a' + '9106 0102030405060708' + '8a0602abcd' + '8506 01020304' + '0a0161');
    expect(decodePutRequest(bytes).key).toEqual(utf8('a'));
  });
});

// ---------------------------------------------------------------------------------------------
// Schema-driven round trips: every message type, random values, decode(encode(x)) == x.

const MAX_NESTING = 3;

function scalarArb(kind: FieldSchema['kind']): fc.Arbitrary<unknown> {
  switch (kind) {
    case 'int64':
      return fc.oneof(fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }));
    case 'uint64':
      return fc.oneof(fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }));
    case 'int32':
    case 'enum':
      return fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }));
    case 'uint32':
      return fc.integer({ min: 0, max: 2 ** 32 - 1 });
    case 'bool':
      return fc.boolean();
    case 'string':
      return fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 80 }));
    case 'bytes':
      return fc.oneof(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 300 }));
    case 'message':
      throw new Error('not a scalar');
  }
}

function defaultOf(field: FieldSchema): unknown {
  if (field.repeated) return [];
  switch (field.kind) {
    case 'int64': case 'uint64': return 0n;
    case 'int32': case 'uint32': case 'enum': return 0;
    case 'bool': return false;
    case 'string': return '';
    case 'bytes': return new Uint8Array(0);
    case 'message': return undefined;
  }
}

function valueArb(field: FieldSchema, depth: number): fc.Arbitrary<unknown> {
  if (field.kind !== 'message') return scalarArb(field.kind);
  return messageArb(MESSAGES[field.type as string] as MessageSchema, depth + 1);
}

/** Values in decoded form: every field present, exactly what decode must return. */
function messageArb(schema: MessageSchema, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  const oneofs = new Map<string, FieldSchema[]>();
  for (const f of schema.fields) {
    if (f.oneof !== undefined) {
      oneofs.set(f.oneof, [...(oneofs.get(f.oneof) ?? []), f]);
      continue;
    }
    const tooDeep = f.kind === 'message' && depth >= MAX_NESTING;
    if (f.repeated) parts[f.jsonName] = tooDeep ? fc.constant([]) : fc.array(valueArb(f, depth), { maxLength: 3 });
    else if (f.kind === 'message') parts[f.jsonName] = tooDeep ? fc.constant(undefined) : fc.option(valueArb(f, depth), { nil: undefined });
    else parts[f.jsonName] = fc.oneof(fc.constant(defaultOf(f)), valueArb(f, depth));
  }
  for (const [name, members] of oneofs) {
    const choices = members
      .filter((f) => f.kind !== 'message' || depth < MAX_NESTING)
      .map((f) => valueArb(f, depth).map((value) => ({ case: f.jsonName, value })));
    parts[name] = choices.length === 0 ? fc.constant(undefined) : fc.option(fc.oneof(...choices), { nil: undefined });
  }
  return fc.record(parts) as fc.Arbitrary<Record<string, unknown>>;
}

describe('every generated message round-trips', { timeout: SLOW_MACHINE_TIMEOUT_MS }, () => {
  const schemas = Object.values(MESSAGES);

  it('covers all messages of the five packages', () => {
    expect(schemas.length).toBe(115);
    expect(Object.keys(MESSAGES)).toContain('v3electionpb.LeaderKey');
    expect(Object.keys(MESSAGES)).toContain('authpb.Role');
  });

  for (const schema of schemas) {
    it(schema.fullName, () => {
      fc.assert(
        fc.property(messageArb(schema, 0), (value) => {
          const bytes = schema.encode(value as never);
          expect(schema.decode(bytes)).toEqual(value);
          // Canonical: encoding the decoded value again gives the same bytes.
          expect(toHexString(schema.encode(schema.decode(bytes) as never))).toBe(toHexString(bytes));
        }),
        { numRuns: 40 },
      );
    });
  }
});

describe('decoders never throw anything but ProtoDecodeError', { timeout: SLOW_MACHINE_TIMEOUT_MS }, () => {
  const schemas = Object.values(MESSAGES);

  it('on random bytes', () => {
    fc.assert(
      fc.property(fc.constantFrom(...schemas), fc.uint8Array({ maxLength: 64 }), (schema, bytes) => {
        try {
          schema.decode(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(ProtoDecodeError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('on valid encodings with bytes flipped or cut', () => {
    const txn = encodeTxnRequest({
      compare: [{ key: utf8('k'), targetUnion: { case: 'value', value: utf8('v') }, rangeEnd: utf8('z') }],
      success: [{ request: { case: 'requestPut', value: { key: utf8('k'), value: utf8('v'), lease: -5n } } }],
      failure: [{ request: { case: 'requestRange', value: { key: utf8('a'), limit: 10n } } }],
    });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(txn.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(txn.length),
        (flips, cut) => {
          const bytes = Uint8Array.from(txn).subarray(0, cut);
          for (const [at, value] of flips) if (at < bytes.length) bytes[at] = value;
          try {
            decodeTxnRequest(bytes);
          } catch (error) {
            expect(error).toBeInstanceOf(ProtoDecodeError);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
