/**
 * lease grant | revoke | timetolive | list | keep-alive, printed as etcdctl 3.4 prints them.
 * The JSON forms are clientv3's structs, which embed the response header (so its fields sit at
 * the top level) and use their own json tags ("id", "ttl", "granted-ttl", "keys").
 */
import type { LeaseKeepAliveResponse, LeaseTimeToLiveResponse } from '../../grpc/index.js';
import { flagBool } from './flags.js';
import type { FlagSpecs, ParsedArgs } from './flags.js';
import { CtlError, ExitCode, errorText, rpc } from './io.js';
import type { CtlContext } from './io.js';
import { parseLeaseId } from './kv.js';
import { checkWriteOut, flatHeader, hexId16, jsonObject, text } from './print.js';

export const LEASE_FLAGS: FlagSpecs = {
  keys: { kind: 'bool', default: 'false' },
  once: { kind: 'bool', default: 'false' },
};

const b64 = (b: Uint8Array): string => JSON.stringify(Buffer.from(b).toString('base64'));

async function grant(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  const [ttlText] = args.positionals;
  if (args.positionals.length !== 1 || ttlText === undefined) throw new CtlError(ExitCode.BadArgs, 'lease grant command needs TTL argument');
  if (!/^[+-]?[0-9]+$/.test(ttlText)) throw new CtlError(ExitCode.BadArgs, `bad TTL (strconv.ParseInt: parsing "${ttlText}": invalid syntax)`);
  const resp = await rpc(() => ctx.client.unary('leaseGrant', { TTL: BigInt(ttlText) }, ctx.callOptions()), (m) => `failed to grant lease (${m})`);
  if (ctx.global.writeOut === 'json') {
    ctx.io.out(jsonObject([...flatHeader(resp.header), `"ID":${resp.ID}`, `"TTL":${resp.TTL}`, `"Error":${JSON.stringify(resp.error)}`]) + '\n');
  } else ctx.io.out(`lease ${hexId16(resp.ID)} granted with TTL(${resp.TTL}s)\n`);
}

function leaseIdArg(args: ParsedArgs, usage: string): bigint {
  const [idText] = args.positionals;
  if (args.positionals.length !== 1 || idText === undefined) throw new CtlError(ExitCode.BadArgs, usage);
  return parseLeaseId(idText);
}

async function revoke(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  const id = leaseIdArg(args, 'lease revoke command needs 1 argument');
  const resp = await rpc(() => ctx.client.unary('leaseRevoke', { ID: id }, ctx.callOptions()), (m) => `failed to revoke lease (${m})`);
  if (ctx.global.writeOut === 'json') ctx.io.out(jsonObject([`"header":${jsonObject(flatHeader(resp.header))}`]) + '\n');
  else ctx.io.out(`lease ${hexId16(id)} revoked\n`);
}

export function timeToLiveText(resp: LeaseTimeToLiveResponse, keys: boolean): string {
  if (resp.grantedTTL === 0n && resp.TTL === -1n) return `lease ${hexId16(resp.ID)} already expired\n`;
  let line = `lease ${hexId16(resp.ID)} granted with TTL(${resp.grantedTTL}s), remaining(${resp.TTL}s)`;
  if (keys) line += `, attached keys([${resp.keys.map(text).join(' ')}])`;
  return line + '\n';
}

async function timeToLive(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  const id = leaseIdArg(args, 'lease timetolive command needs lease ID as argument');
  const keys = flagBool(args, 'keys');
  const resp = await rpc(() => ctx.client.unary('leaseTimeToLive', { ID: id, keys }, ctx.callOptions()));
  if (ctx.global.writeOut !== 'json') return ctx.io.out(timeToLiveText(resp, keys));
  const keyList = resp.keys.length === 0 ? 'null' : `[${resp.keys.map(b64).join(',')}]`;
  ctx.io.out(jsonObject([...flatHeader(resp.header), `"id":${resp.ID}`, `"ttl":${resp.TTL}`, `"granted-ttl":${resp.grantedTTL}`, `"keys":${keyList}`]) + '\n');
}

async function list(ctx: CtlContext): Promise<void> {
  const resp = await rpc(() => ctx.client.unary('leaseLeases', {}, ctx.callOptions()), (m) => `failed to list leases (${m})`);
  if (ctx.global.writeOut === 'json') {
    const leases = resp.leases.map((l) => `{"id":${l.ID}}`).join(',');
    return ctx.io.out(jsonObject([...flatHeader(resp.header), `"leases":[${leases}]`]) + '\n');
  }
  ctx.io.out(`found ${resp.leases.length} leases\n`);
  for (const l of resp.leases) ctx.io.out(`${hexId16(l.ID)}\n`);
}

function printKeepAlive(ctx: CtlContext, resp: LeaseKeepAliveResponse): void {
  if (ctx.global.writeOut === 'json') ctx.io.out(jsonObject([...flatHeader(resp.header), `"ID":${resp.ID}`, `"TTL":${resp.TTL}`]) + '\n');
  else ctx.io.out(`lease ${hexId16(resp.ID)} keepalived with TTL(${resp.TTL})\n`);
}

/** Renews every TTL/3 seconds (clientv3's cadence) until Ctrl-C, the lease expires or --once. */
async function keepAlive(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  const id = leaseIdArg(args, 'lease keep-alive command needs lease ID as argument');
  const once = flagBool(args, 'once');
  const call = ctx.client.bidi('leaseKeepAlive', { signal: ctx.io.interrupt });
  const iterator = call[Symbol.asyncIterator]();
  try {
    for (;;) {
      call.send({ ID: id });
      const next = await iterator.next().catch((error: unknown) => {
        if (ctx.io.interrupt.aborted) return { done: true as const, value: undefined };
        // A failed --user login is already etcdctl's error and exit code (2); keep it.
        if (error instanceof CtlError) throw error;
        throw new CtlError(ExitCode.Error, errorText(error));
      });
      if (next.done === true) return;
      const resp = next.value;
      if (resp.TTL <= 0n) {
        ctx.io.out(`lease ${hexId16(id)} expired or revoked.\n`);
        if (once) throw new CtlError(ExitCode.BadArgs, `lease ${hexId16(id)} expired or revoked`);
        return;
      }
      printKeepAlive(ctx, resp);
      if (once) return;
      const waitMs = Math.max(500, (Number(resp.TTL) * 1000) / 3);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        ctx.io.interrupt.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
      if (ctx.io.interrupt.aborted) return;
    }
  } finally {
    call.cancel();
  }
}

export async function leaseCommand(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  const [sub, ...rest] = args.positionals;
  const subArgs: ParsedArgs = { ...args, positionals: rest };
  checkWriteOut(ctx.global.writeOut, ['simple', 'json']);
  switch (sub) {
    case 'grant':
      return grant(ctx, subArgs);
    case 'revoke':
      return revoke(ctx, subArgs);
    case 'timetolive':
      return timeToLive(ctx, subArgs);
    case 'list':
      return list(ctx);
    case 'keep-alive':
      return keepAlive(ctx, subArgs);
    default:
      throw new CtlError(ExitCode.BadArgs, `unknown command "${sub ?? ''}" for "etcdctl lease"`);
  }
}
