/**
 * Output helpers shaped after etcdctl 3.4's printers (ctlv3/command/printer*.go): simple
 * lines, Go encoding/json for -w json (through gateway-json's 'go' dialect), and the small
 * Go formatting rules those printers rely on (%x, %016x, %16x, humanize.Bytes, Duration).
 */
import { messageToJson } from '../../grpc/gateway-json.js';
import type { KeyValue, ResponseHeader } from '../../grpc/index.js';
import type { CtlIo } from './io.js';
import { CtlError, ExitCode } from './io.js';

const decoder = new TextDecoder('utf-8', { fatal: false });

export function text(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** etcdctl --hex: every byte as \xNN. */
export function hexEscaped(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += '\\x' + b.toString(16).padStart(2, '0');
  return out;
}

export function printKv(io: CtlIo, isHex: boolean, valueOnly: boolean, kv: KeyValue): void {
  const k = isHex ? hexEscaped(kv.key) : text(kv.key);
  const v = isHex ? hexEscaped(kv.value) : text(kv.value);
  if (!valueOnly) io.out(k + '\n');
  io.out(v + '\n');
}

/** Go's %x of an unsigned 64-bit id. */
export const hexId = (id: bigint): string => BigInt.asUintN(64, id).toString(16);
/** %016x */
export const hexId16 = (id: bigint): string => hexId(id).padStart(16, '0');
/** %16x (space padded) */
export const hexIdSpaced = (id: bigint): string => hexId(id).padStart(16, ' ');

/** Go's strconv formatting of a float with %.Nf: round half to even on the exact binary value. */
function goFixed(value: number, digits: number): string {
  const scaled = value * 10 ** digits;
  const floor = Math.floor(scaled);
  const diff = scaled - floor;
  let rounded = floor;
  if (diff > 0.5 || (diff === 0.5 && floor % 2 !== 0)) rounded = floor + 1;
  return (rounded / 10 ** digits).toFixed(digits);
}

/** github.com/dustin/go-humanize Bytes: SI units, one decimal under 10. */
export function humanizeBytes(size: bigint): string {
  const n = Number(size);
  if (n < 10) return `${n} B`;
  const sizes = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const suffix = sizes[e] as string;
  const val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  return val < 10 ? `${goFixed(val, 1)} ${suffix}` : `${goFixed(val, 0)} ${suffix}`;
}

/** Go's time.Duration.String for a non-negative duration given in nanoseconds. */
export function goDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const fmt = (v: bigint, unitNs: bigint, unit: string): string => {
    const whole = v / unitNs;
    const frac = (v % unitNs).toString().padStart(unitNs.toString().length - 1, '0').replace(/0+$/, '');
    return frac === '' ? `${whole}${unit}` : `${whole}.${frac}${unit}`;
  };
  if (ns < 1000n) return `${ns}ns`;
  if (ns < 1_000_000n) return fmt(ns, 1000n, 'µs');
  if (ns < 1_000_000_000n) return fmt(ns, 1_000_000n, 'ms');
  let out = '';
  let rest = ns;
  const hours = rest / 3_600_000_000_000n;
  rest -= hours * 3_600_000_000_000n;
  const minutes = rest / 60_000_000_000n;
  rest -= minutes * 60_000_000_000n;
  if (hours > 0n) out += `${hours}h`;
  if (hours > 0n || minutes > 0n) out += `${minutes}m`;
  return out + fmt(rest, 1_000_000_000n, 's');
}

/** Go json of a message the way etcdctl -w json prints a response. */
export function goJson(type: string, message: object): string {
  return messageToJson(type, message, 'go');
}

/**
 * The clientv3 structs that embed *pb.ResponseHeader print its fields at the top level
 * (cluster_id, member_id, revision, raft_term; zero values omitted).
 */
export function flatHeader(header: ResponseHeader | undefined): string[] {
  if (header === undefined) return [];
  const inner = goJson('etcdserverpb.ResponseHeader', header);
  return inner === '{}' ? [] : [inner.slice(1, -1)];
}

/** A JSON object from already-encoded members, in order. */
export function jsonObject(parts: readonly string[]): string {
  return '{' + parts.filter((p) => p.length > 0).join(',') + '}';
}

/** -w values each command accepts; others end with etcdctl's wording. */
export function checkWriteOut(writeOut: string, supported: readonly string[]): void {
  const known = ['simple', 'json', 'protobuf', 'fields', 'table'];
  if (!known.includes(writeOut)) throw new CtlError(ExitCode.BadFeature, `unsupported output format ${writeOut}`);
  if (!supported.includes(writeOut)) throw new CtlError(ExitCode.BadFeature, `${writeOut} not supported as output format`);
}

const GO_ESCAPES: Readonly<Record<string, string>> = {
  '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '"': '\\"', '\\': '\\\\',
};

/**
 * Go's %q (strconv.Quote) for the fields printer: like JSON for printable text, but control
 * bytes as \xNN or \a..\v (JSON would write \u0000), DEL and the line/paragraph separators escaped.
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) as number;
    const named = GO_ESCAPES[ch];
    if (named !== undefined) out += named;
    else if (code < 0x20 || code === 0x7f) out += '\\x' + code.toString(16).padStart(2, '0');
    else if ((code >= 0x80 && code < 0xa0) || code === 0x2028 || code === 0x2029) out += '\\u' + code.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

export function fieldsHeader(io: CtlIo, h: ResponseHeader | undefined): void {
  if (h === undefined) return;
  io.out(`"ClusterID" : ${h.clusterId}\n"MemberID" : ${h.memberId}\n"Revision" : ${h.revision}\n"RaftTerm" : ${h.raftTerm}\n`);
}

export function fieldsKv(io: CtlIo, isHex: boolean, kv: KeyValue): void {
  const k = isHex ? goQuote(hexEscaped(kv.key)) : goQuote(text(kv.key));
  const v = isHex ? goQuote(hexEscaped(kv.value)) : goQuote(text(kv.value));
  io.out(`"Key" : ${k}\n"CreateRevision" : ${kv.createRevision}\n"ModRevision" : ${kv.modRevision}\n`);
  io.out(`"Version" : ${kv.version}\n"Value" : ${v}\n"Lease" : ${kv.lease}\n`);
}
