/** tsetcdctl's pure parts: argument parsing, Go formatting, key ranges, txn syntax. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GLOBAL_FLAGS, parseArgs, parseGoDurationMs } from '../../src/cli/ctl/flags.js';
import { CtlError, ExitCode, errorText } from '../../src/cli/ctl/io.js';
import { GET_FLAGS, argify, getRequest, parseCompare, parseLeaseId, parseRequestOp, prefixEnd } from '../../src/cli/ctl/kv.js';
import { goDuration, hexEscaped, hexId16, hexIdSpaced, humanizeBytes } from '../../src/cli/ctl/print.js';
import { Compare_CompareResult, Compare_CompareTarget, GrpcCode, RangeRequest_SortOrder, RangeRequest_SortTarget } from '../../src/grpc/index.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('parseArgs', () => {
  const specs = { ...GLOBAL_FLAGS, ...GET_FLAGS };
  it('takes --f=v, --f v, bare booleans, short -w and interspersed positionals', () => {
    const a = parseArgs(['get', '--limit', '3', 'k', '--prefix', '-w', 'json', '--rev=7', '--keys-only=false'], specs);
    expect(a.positionals).toEqual(['get', 'k']);
    expect(a.values.get('limit')).toBe('3');
    expect(a.values.get('prefix')).toBe('true');
    expect(a.values.get('write-out')).toBe('json');
    expect(a.values.get('rev')).toBe('7');
    expect(a.values.get('keys-only')).toBe('false');
    expect(a.values.get('endpoints')).toBe('127.0.0.1:2379');
  });
  it('keeps everything after -- as is', () => {
    const a = parseArgs(['watch', 'k', '--', 'echo', '--prefix'], specs);
    expect(a.positionals).toEqual(['watch', 'k']);
    expect(a.afterDashDash).toEqual(['echo', '--prefix']);
  });
  it('rejects unknown flags, missing values and bad numbers with pflag wording', () => {
    expect(() => parseArgs(['--nope'], specs)).toThrow('unknown flag: --nope');
    expect(() => parseArgs(['--limit'], specs)).toThrow('flag needs an argument: --limit');
    expect(() => parseArgs(['--limit=x'], specs)).toThrow('invalid argument "x" for "--limit" flag');
    expect(() => parseArgs(['--dial-timeout=5'], specs)).toThrow('time: invalid duration "5"');
  });
  it('parses Go durations', () => {
    expect(parseGoDurationMs('5s', 'x')).toBe(5000);
    expect(parseGoDurationMs('1m30s', 'x')).toBe(90_000);
    expect(parseGoDurationMs('250ms', 'x')).toBe(250);
    expect(parseGoDurationMs('1.5h', 'x')).toBe(5_400_000);
  });
});

describe('Go formatting', () => {
  it('formats durations as time.Duration.String', () => {
    expect(goDuration(0n)).toBe('0s');
    expect(goDuration(999n)).toBe('999ns');
    expect(goDuration(1500n)).toBe('1.5µs');
    expect(goDuration(2_171_516n)).toBe('2.171516ms');
    expect(goDuration(6_000_000_000n)).toBe('6s');
    expect(goDuration(3_723_500_000_000n)).toBe('1h2m3.5s');
  });
  it('formats sizes as go-humanize Bytes', () => {
    expect(humanizeBytes(9n)).toBe('9 B');
    expect(humanizeBytes(20480n)).toBe('20 kB');
    expect(humanizeBytes(53248n)).toBe('53 kB');
    expect(humanizeBytes(1500n)).toBe('1.5 kB');
    expect(humanizeBytes(2_147_483_648n)).toBe('2.1 GB');
  });
  it('formats ids and hex bytes as %016x, %16x and \\xNN', () => {
    expect(hexId16(0x694da202f172fc1cn)).toBe('694da202f172fc1c');
    expect(hexId16(0x1n)).toBe('0000000000000001');
    expect(hexIdSpaced(0x4cdb36c49fc7fb0n)).toBe(' 4cdb36c49fc7fb0');
    expect(hexEscaped(bytes('foo'))).toBe('\\x66\\x6f\\x6f');
  });
  it('words errors as clientv3 does', () => {
    expect(errorText({ grpcCode: GrpcCode.OUT_OF_RANGE, message: 'etcdserver: mvcc: required revision has been compacted' })).toBe(
      'etcdserver: mvcc: required revision has been compacted',
    );
    expect(errorText({ grpcCode: GrpcCode.UNIMPLEMENTED, message: 'method X not implemented' })).toBe(
      'rpc error: code = Unimplemented desc = method X not implemented',
    );
    expect(errorText({ grpcCode: GrpcCode.UNAVAILABLE, message: 'No connection established' })).toBe('context deadline exceeded');
  });
});

describe('key ranges', () => {
  it('prefixEnd increments the last byte below 0xff and falls back to "\\0"', () => {
    expect(prefixEnd(bytes('abc'))).toEqual(bytes('abd'));
    expect(prefixEnd(new Uint8Array([0x61, 0xff, 0xff]))).toEqual(new Uint8Array([0x62]));
    expect(prefixEnd(new Uint8Array([0xff]))).toEqual(new Uint8Array([0]));
  });
  it('prefixEnd bounds exactly the keys with the prefix', () => {
    const cmp = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.uint8Array({ maxLength: 5 }), (prefix, key) => {
        const end = prefixEnd(prefix);
        const hasPrefix = key.length >= prefix.length && cmp(key.subarray(0, prefix.length), prefix) === 0;
        const inRange = cmp(key, prefix) >= 0 && (end.length === 1 && end[0] === 0 ? true : cmp(key, end) < 0);
        return hasPrefix === inRange;
      }),
    );
  });
  it('builds get requests like clientv3 options', () => {
    const r = getRequest(parseArgs(['k', '--prefix', '--sort-by=MODIFY', '--order=DESCEND', '--limit=2', '--consistency=s'], GET_FLAGS));
    expect(r.key).toEqual(bytes('k'));
    expect(r.rangeEnd).toEqual(bytes('l'));
    expect(r.sortTarget).toBe(RangeRequest_SortTarget.MOD);
    expect(r.sortOrder).toBe(RangeRequest_SortOrder.DESCEND);
    expect(r.limit).toBe(2n);
    expect(r.serializable).toBe(true);
    // Ascending by key is the natural order: clientv3 asks for no sort at all.
    const natural = getRequest(parseArgs(['k', '--order=ASCEND'], GET_FLAGS));
    expect(natural.sortOrder).toBe(RangeRequest_SortOrder.NONE);
    const fromKey = getRequest(parseArgs(['', '--from-key'], GET_FLAGS));
    expect(fromKey.key).toEqual(new Uint8Array([0]));
    expect(fromKey.rangeEnd).toEqual(new Uint8Array([0]));
  });
  it('parses lease ids as hex with etcdctl wording on failure', () => {
    expect(parseLeaseId('694da202f172fc1c')).toBe(0x694da202f172fc1cn);
    expect(() => parseLeaseId('zz')).toThrow('bad lease ID arg (strconv.ParseInt: parsing "zz": invalid syntax), expecting ID in Hex');
  });
});

describe('txn syntax', () => {
  it('parses every compare target and operator', () => {
    expect(parseCompare('value("k") = "v v"')).toEqual({
      key: bytes('k'), result: Compare_CompareResult.EQUAL, target: Compare_CompareTarget.VALUE, targetUnion: { case: 'value', value: bytes('v v') },
    });
    expect(parseCompare('mod("k") > "3"').targetUnion).toEqual({ case: 'modRevision', value: 3n });
    expect(parseCompare('c("k") < "3"').result).toBe(Compare_CompareResult.LESS);
    expect(parseCompare('ver("k") != "0"').result).toBe(Compare_CompareResult.NOT_EQUAL);
    expect(parseCompare('lease("k") = "1f"').targetUnion).toEqual({ case: 'lease', value: 0x1fn });
  });
  it('reports malformed compares with Sscanf-style detail and exit code 3', () => {
    let error: unknown;
    try {
      parseCompare('value(foo) = "bar"');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CtlError);
    expect((error as CtlError).exitCode).toBe(ExitCode.InvalidInput);
    expect((error as CtlError).message).toBe('malformed comparison: value(foo) = "bar"; got value("")  ""');
    expect(() => parseCompare('nope("k") = "v"')).toThrow('malformed comparison: nope("k") = "v" (unknown target nope)');
  });
  it('splits request lines with quotes and parses them with the command flags', () => {
    expect(argify('put "a key" "a \\"value\\""')).toEqual(['put', 'a key', 'a "value"']);
    const op = parseRequestOp('get k --prefix --limit=1');
    expect(op.request?.case).toBe('requestRange');
    expect(() => parseRequestOp('frob k')).toThrow('invalid txn request: frob k');
  });
});
