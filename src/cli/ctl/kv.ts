/**
 * put / get / del / txn / compaction, as etcdctl 3.4 (ctlv3/command/{put,get,del,txn,
 * compaction}_command.go) builds the requests and prints the answers.
 */
import type {
  DeleteRangeRequestInit, DeleteRangeResponse, PutRequestInit, PutResponse, RangeRequestInit, RangeResponse,
  RequestOpInit, TxnResponse, CompareInit,
} from '../../grpc/index.js';
import { Compare_CompareResult, Compare_CompareTarget, RangeRequest_SortOrder, RangeRequest_SortTarget } from '../../grpc/index.js';
import { flagBool, flagInt, flagString, parseArgs } from './flags.js';
import type { FlagSpecs, ParsedArgs } from './flags.js';
import { CtlError, ExitCode, rpc } from './io.js';
import type { CtlContext } from './io.js';
import { checkWriteOut, fieldsHeader, fieldsKv, goJson, goQuote, printKv } from './print.js';

const enc = new TextEncoder();
const bytes = (s: string): Uint8Array => enc.encode(s);

export const PUT_FLAGS: FlagSpecs = {
  lease: { kind: 'string', default: '0' },
  'prev-kv': { kind: 'bool', default: 'false' },
  'ignore-value': { kind: 'bool', default: 'false' },
  'ignore-lease': { kind: 'bool', default: 'false' },
};

export const GET_FLAGS: FlagSpecs = {
  consistency: { kind: 'string', default: 'l' },
  'sort-by': { kind: 'string', default: '' },
  order: { kind: 'string', default: '' },
  limit: { kind: 'int', default: '0' },
  prefix: { kind: 'bool', default: 'false' },
  'from-key': { kind: 'bool', default: 'false' },
  rev: { kind: 'int', default: '0' },
  'keys-only': { kind: 'bool', default: 'false' },
  'count-only': { kind: 'bool', default: 'false' },
  'print-value-only': { kind: 'bool', default: 'false' },
};

export const DEL_FLAGS: FlagSpecs = {
  prefix: { kind: 'bool', default: 'false' },
  'prev-kv': { kind: 'bool', default: 'false' },
  'from-key': { kind: 'bool', default: 'false' },
};

/** clientv3.GetPrefixRangeEnd: the first key after every key with this prefix ("\0" = to the end). */
export function prefixEnd(key: Uint8Array): Uint8Array {
  const end = key.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.slice(0, i + 1);
    }
  }
  return new Uint8Array([0]);
}

/** Key and range end for --prefix / --from-key / [range_end], as clientv3's options set them. */
function keyRange(args: ParsedArgs, command: string): { key: Uint8Array; rangeEnd?: Uint8Array } {
  const prefix = flagBool(args, 'prefix');
  const fromKey = flagBool(args, 'from-key');
  if (prefix && fromKey) throw new CtlError(ExitCode.BadArgs, '`--prefix` and `--from-key` cannot be set at the same time, choose one');
  const [first, second] = args.positionals;
  if (second !== undefined && (prefix || fromKey)) {
    throw new CtlError(ExitCode.BadArgs, 'too many arguments, only accept one argument when `--prefix` or `--from-key` is set');
  }
  const key = bytes(first ?? '');
  if (prefix) return key.length === 0 ? { key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) } : { key, rangeEnd: prefixEnd(key) };
  if (fromKey) return { key: key.length === 0 ? new Uint8Array([0]) : key, rangeEnd: new Uint8Array([0]) };
  void command;
  return second === undefined ? { key } : { key, rangeEnd: bytes(second) };
}

const SORT_TARGETS: Readonly<Record<string, number>> = {
  CREATE: RangeRequest_SortTarget.CREATE,
  KEY: RangeRequest_SortTarget.KEY,
  MODIFY: RangeRequest_SortTarget.MOD,
  VALUE: RangeRequest_SortTarget.VALUE,
  VERSION: RangeRequest_SortTarget.VERSION,
  '': RangeRequest_SortTarget.KEY,
};

export function getRequest(args: ParsedArgs): RangeRequestInit {
  const n = args.positionals.length;
  if (n === 0 || n > 2) throw new CtlError(ExitCode.BadArgs, 'get command needs one argument as key and an optional argument as range_end');
  const consistency = flagString(args, 'consistency');
  if (consistency !== 'l' && consistency !== 's') throw new CtlError(ExitCode.BadFeature, `unknown consistency flag "${consistency}"`);
  const orderFlag = flagString(args, 'order');
  const orders: Readonly<Record<string, number>> = { ASCEND: RangeRequest_SortOrder.ASCEND, DESCEND: RangeRequest_SortOrder.DESCEND, '': RangeRequest_SortOrder.NONE };
  let sortOrder = orders[orderFlag.toUpperCase()];
  if (sortOrder === undefined) throw new CtlError(ExitCode.BadFeature, `bad sort order ${orderFlag}`);
  const targetFlag = flagString(args, 'sort-by');
  const sortTarget = SORT_TARGETS[targetFlag.toUpperCase()];
  if (sortTarget === undefined) throw new CtlError(ExitCode.BadFeature, `bad sort target ${targetFlag}`);
  // clientv3.WithSort: ascending by key is the server's natural order, so it asks for none.
  if (sortTarget === RangeRequest_SortTarget.KEY && sortOrder === RangeRequest_SortOrder.ASCEND) sortOrder = RangeRequest_SortOrder.NONE;
  return {
    ...keyRange(args, 'get'),
    limit: flagInt(args, 'limit'),
    revision: flagInt(args, 'rev'),
    sortOrder,
    sortTarget,
    serializable: consistency === 's',
    keysOnly: flagBool(args, 'keys-only'),
    countOnly: flagBool(args, 'count-only'),
  };
}

/** Lease ids on the command line are hexadecimal, as etcdctl prints them. */
export function parseLeaseId(text: string): bigint {
  if (!/^[+-]?[0-9a-fA-F]+$/.test(text)) {
    throw new CtlError(ExitCode.BadArgs, `bad lease ID arg (strconv.ParseInt: parsing "${text}": invalid syntax), expecting ID in Hex`);
  }
  const id = BigInt((text.startsWith('-') ? '-0x' : '0x') + text.replace(/^[+-]/, ''));
  if (id >= 1n << 63n || id < -(1n << 63n)) {
    throw new CtlError(ExitCode.BadArgs, `bad lease ID arg (strconv.ParseInt: parsing "${text}": value out of range), expecting ID in Hex`);
  }
  return id;
}

export function putRequest(args: ParsedArgs, stdinValue: string | undefined): PutRequestInit {
  const [key, value] = args.positionals;
  const ignoreValue = flagBool(args, 'ignore-value');
  if (key === undefined) throw new CtlError(ExitCode.BadArgs, 'put command needs 1 argument and input from stdin or 2 arguments');
  if (ignoreValue && value !== undefined) throw new CtlError(ExitCode.BadArgs, "put command needs only 1 argument when 'ignore-value' is set");
  if (args.positionals.length > 2) throw new CtlError(ExitCode.BadArgs, 'put command needs 1 argument and input from stdin or 2 arguments');
  const theValue = ignoreValue ? '' : (value ?? (stdinValue === '' ? undefined : stdinValue));
  if (theValue === undefined) throw new CtlError(ExitCode.BadArgs, 'put command needs 1 argument and input from stdin or 2 arguments');
  return {
    key: bytes(key),
    value: bytes(theValue),
    lease: parseLeaseId(flagString(args, 'lease')),
    prevKv: flagBool(args, 'prev-kv'),
    ignoreValue,
    ignoreLease: flagBool(args, 'ignore-lease'),
  };
}

export function delRequest(args: ParsedArgs): DeleteRangeRequestInit {
  const n = args.positionals.length;
  if (n === 0 || n > 2) throw new CtlError(ExitCode.BadArgs, 'del command needs one argument as key and an optional argument as range_end');
  return { ...keyRange(args, 'del'), prevKv: flagBool(args, 'prev-kv') };
}

export function printPut(ctx: CtlContext, resp: PutResponse): void {
  const { io, global } = ctx;
  if (global.writeOut === 'json') return io.out(goJson('etcdserverpb.PutResponse', resp) + '\n');
  if (global.writeOut === 'fields') {
    fieldsHeader(io, resp.header);
    if (resp.prevKv !== undefined) fieldsKv(io, global.hex, resp.prevKv);
    return;
  }
  io.out('OK\n');
  if (resp.prevKv !== undefined) printKv(io, global.hex, false, resp.prevKv);
}

export function printGet(ctx: CtlContext, resp: RangeResponse, valueOnly: boolean): void {
  const { io, global } = ctx;
  if (global.writeOut === 'json') return io.out(goJson('etcdserverpb.RangeResponse', resp) + '\n');
  if (global.writeOut === 'fields') {
    fieldsHeader(io, resp.header);
    for (const kv of resp.kvs) fieldsKv(io, global.hex, kv);
    io.out(`"More" : ${resp.more}\n"Count" : ${resp.count}\n`);
    return;
  }
  for (const kv of resp.kvs) printKv(io, global.hex, valueOnly, kv);
}

export function printDel(ctx: CtlContext, resp: DeleteRangeResponse): void {
  const { io, global } = ctx;
  if (global.writeOut === 'json') return io.out(goJson('etcdserverpb.DeleteRangeResponse', resp) + '\n');
  if (global.writeOut === 'fields') {
    fieldsHeader(io, resp.header);
    io.out(`"Deleted" : ${resp.deleted}\n`);
    for (const kv of resp.prevKvs) fieldsKv(io, global.hex, kv);
    return;
  }
  io.out(`${resp.deleted}\n`);
  for (const kv of resp.prevKvs) printKv(io, global.hex, false, kv);
}

export async function putCommand(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  checkWriteOut(ctx.global.writeOut, ['simple', 'json', 'fields']);
  const stdin = args.positionals.length === 1 && !flagBool(args, 'ignore-value') ? await ctx.io.readStdin() : undefined;
  const request = putRequest(args, stdin);
  printPut(ctx, await rpc(() => ctx.client.unary('put', request, ctx.callOptions())));
}

export async function getCommand(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  const request = getRequest(args);
  if (flagBool(args, 'count-only') && ctx.global.writeOut !== 'fields') {
    throw new CtlError(ExitCode.BadArgs, '--count-only is only for `--write-out=fields`');
  }
  const valueOnly = flagBool(args, 'print-value-only');
  if (valueOnly && ctx.global.writeOut !== 'simple') {
    throw new CtlError(ExitCode.BadArgs, 'cannot print value only for output format ' + ctx.global.writeOut);
  }
  checkWriteOut(ctx.global.writeOut, ['simple', 'json', 'fields']);
  printGet(ctx, await rpc(() => ctx.client.unary('range', request, ctx.callOptions())), valueOnly);
}

export async function delCommand(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  const request = delRequest(args);
  checkWriteOut(ctx.global.writeOut, ['simple', 'json', 'fields']);
  printDel(ctx, await rpc(() => ctx.client.unary('deleteRange', request, ctx.callOptions())));
}

export async function compactionCommand(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  const [revText] = args.positionals;
  if (args.positionals.length !== 1 || revText === undefined) throw new CtlError(ExitCode.BadArgs, 'compaction command needs 1 argument');
  if (!/^[+-]?[0-9]+$/.test(revText)) throw new CtlError(ExitCode.BadArgs, `strconv.ParseInt: parsing "${revText}": invalid syntax`);
  const revision = BigInt(revText);
  await rpc(() => ctx.client.unary('compact', { revision, physical: flagBool(args, 'physical') }, ctx.callOptions()));
  ctx.io.out(`compacted revision ${revision}\n`);
}

// ---- txn ----

/** Splits a txn line into words, honouring double quotes with Go escapes (etcdctl's Argify). */
export function argify(line: string): string[] {
  const words: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|(\S+))/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) {
    if (m[1] !== undefined) words.push(JSON.parse(`"${m[1]}"`) as string);
    else if (m[2] !== undefined) words.push(m[2]);
  }
  return words;
}

const COMPARE_OPS: Readonly<Record<string, number>> = {
  '=': Compare_CompareResult.EQUAL,
  '!=': Compare_CompareResult.NOT_EQUAL,
  '>': Compare_CompareResult.GREATER,
  '<': Compare_CompareResult.LESS,
};

/** Reads a Go %q operand at `at`: the decoded string and where it ends, or undefined. */
function scanQuoted(text: string, at: number): { value: string; end: number } | undefined {
  const m = /^"((?:[^"\\]|\\.)*)"/.exec(text.slice(at));
  if (m === null) return undefined;
  try {
    return { value: JSON.parse(`"${m[1] ?? ''}"`) as string, end: at + m[0].length };
  } catch {
    return undefined;
  }
}

/** fmt.Sscanf(rest, "%q) %s %q", &key, &op, &val) as Go runs it: operands filled until the first mismatch. */
function scanCompare(rest: string): { n: number; key: string; op: string; val: string } {
  const out = { n: 0, key: '', op: '', val: '' };
  const key = scanQuoted(rest, 0);
  if (key === undefined) return out;
  out.key = key.value;
  out.n = 1;
  let at = key.end;
  if (!rest.startsWith(') ', at)) return out;
  at += 2;
  const op = /^\S+/.exec(rest.slice(at));
  if (op === null) return out;
  out.op = op[0];
  out.n = 2;
  at += op[0].length;
  if (rest[at] !== ' ') return out;
  const val = scanQuoted(rest, at + 1);
  if (val === undefined) return out;
  out.val = val.value;
  out.n = 3;
  return out;
}

/** `target("key") op "value"`, etcdctl's compare syntax (txn_command.go parseCompare). */
export function parseCompare(line: string): CompareInit {
  const paren = line.indexOf('(');
  if (paren < 0) throw new CtlError(ExitCode.InvalidInput, `malformed comparison: ${line}`);
  const target = line.slice(0, paren);
  const { n, key: keyText, op, val } = scanCompare(line.slice(paren + 1));
  if (n !== 3) {
    throw new CtlError(ExitCode.InvalidInput, `malformed comparison: ${line}; got ${target}(${goQuote(keyText)}) ${op} ${goQuote(val)}`);
  }
  const key = bytes(keyText);
  const result = COMPARE_OPS[op];
  const int = (): bigint => {
    if (!/^[+-]?[0-9]+$/.test(val)) throw new CtlError(ExitCode.InvalidInput, `invalid txn compare request: ${line}`);
    return BigInt(val);
  };
  if (result === undefined) throw new CtlError(ExitCode.InvalidInput, `invalid txn compare request: ${line}`);
  switch (target) {
    case 'ver':
    case 'version':
      return { key, result, target: Compare_CompareTarget.VERSION, targetUnion: { case: 'version', value: int() } };
    case 'c':
    case 'create':
      return { key, result, target: Compare_CompareTarget.CREATE, targetUnion: { case: 'createRevision', value: int() } };
    case 'm':
    case 'mod':
      return { key, result, target: Compare_CompareTarget.MOD, targetUnion: { case: 'modRevision', value: int() } };
    case 'val':
    case 'value':
      return { key, result, target: Compare_CompareTarget.VALUE, targetUnion: { case: 'value', value: bytes(val) } };
    case 'lease':
      return { key, result, target: Compare_CompareTarget.LEASE, targetUnion: { case: 'lease', value: parseLeaseId(val) } };
    default:
      throw new CtlError(ExitCode.InvalidInput, `malformed comparison: ${line} (unknown target ${target})`);
  }
}

/** One `get ...` / `put ...` / `del ...` line of a txn, parsed with that command's flags. */
export function parseRequestOp(line: string): RequestOpInit {
  const [command, ...rest] = argify(line);
  switch (command) {
    case 'get':
      return { request: { case: 'requestRange', value: getRequest(parseArgs(rest, GET_FLAGS)) } };
    case 'put':
      return { request: { case: 'requestPut', value: putRequest(parseArgs(rest, PUT_FLAGS), undefined) } };
    case 'del':
    case 'delete':
      return { request: { case: 'requestDeleteRange', value: delRequest(parseArgs(rest, DEL_FLAGS)) } };
    default:
      throw new CtlError(ExitCode.InvalidInput, `invalid txn request: ${line}`);
  }
}

export function printTxn(ctx: CtlContext, resp: TxnResponse): void {
  const { io } = ctx;
  if (ctx.global.writeOut === 'json') return io.out(goJson('etcdserverpb.TxnResponse', resp) + '\n');
  io.out(resp.succeeded ? 'SUCCESS\n' : 'FAILURE\n');
  for (const r of resp.responses) {
    io.out('\n');
    const op = r.response;
    if (op?.case === 'responsePut') printPut(ctx, op.value);
    else if (op?.case === 'responseRange') printGet(ctx, op.value, false);
    else if (op?.case === 'responseDeleteRange') printDel(ctx, op.value);
  }
}

export async function txnCommand(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  if (args.positionals.length > 0) throw new CtlError(ExitCode.BadArgs, 'txn command does not accept argument');
  checkWriteOut(ctx.global.writeOut, ['simple', 'json']);
  const interactive = flagBool(args, 'interactive');
  // Like bufio.ReadString('\n'): a line without its newline is EOF, and EOF ends the command.
  const lines = (await ctx.io.readStdin()).split('\n');
  const complete = lines.length - 1;
  let at = 0;
  const section = (prompt: string): string[] => {
    if (interactive) ctx.io.out(prompt);
    const out: string[] = [];
    for (;;) {
      if (at >= complete) throw new CtlError(ExitCode.InvalidInput, 'EOF');
      const line = (lines[at++] as string).replace(/\r$/, '');
      if (line.trim() === '') return out;
      out.push(line);
    }
  };
  const compare = section('compares:\n').map(parseCompare);
  const success = section('success requests (get, put, del):\n').map(parseRequestOp);
  const failure = section('failure requests (get, put, del):\n').map(parseRequestOp);
  printTxn(ctx, await rpc(() => ctx.client.unary('txn', { compare, success, failure }, ctx.callOptions())));
}
