/**
 * lock <name> and elect <name> [proposal] | -l, over the v3lock and v3election services with a
 * session lease kept alive in the background (clientv3/concurrency's default TTL of 60 s).
 * Both hold until Ctrl-C, then release (unlock / resign) and revoke the session lease.
 */
import { flagBool, flagInt } from './flags.js';
import type { FlagSpecs, ParsedArgs } from './flags.js';
import { CtlError, ExitCode, errorText, rpc } from './io.js';
import type { CtlContext } from './io.js';
import { printKv } from './print.js';

export const CONCURRENCY_FLAGS: FlagSpecs = {
  ttl: { kind: 'int', default: '60' },
  listen: { kind: 'bool', short: 'l', default: 'false' },
};

const enc = new TextEncoder();

/** Release calls run after Ctrl-C: with the command's deadline but not the (aborted) interrupt. */
const releaseOptions = (ctx: CtlContext): { deadlineMs: number } => ({ deadlineMs: ctx.global.commandTimeoutMs });

interface Session {
  readonly lease: bigint;
  close(): Promise<void>;
}

async function openSession(ctx: CtlContext, ttlSeconds: bigint): Promise<Session> {
  const grant = await rpc(() => ctx.client.unary('leaseGrant', { TTL: ttlSeconds }, ctx.callOptions()));
  const lease = grant.ID;
  const call = ctx.client.bidi('leaseKeepAlive');
  const responses = call[Symbol.asyncIterator]();
  const renew = (): void => {
    call.send({ ID: lease });
    void responses.next().catch(() => undefined);
  };
  renew();
  const timer = setInterval(renew, Math.max(500, (Number(ttlSeconds) * 1000) / 3));
  return {
    lease,
    async close(): Promise<void> {
      clearInterval(timer);
      call.cancel();
      await ctx.client.unary('leaseRevoke', { ID: lease }, releaseOptions(ctx)).catch(() => undefined);
    },
  };
}

function untilInterrupted(ctx: CtlContext): Promise<void> {
  return new Promise((resolve) => {
    if (ctx.io.interrupt.aborted) resolve();
    else ctx.io.interrupt.addEventListener('abort', () => resolve(), { once: true });
  });
}

export async function lockCommand(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  const [name] = args.positionals;
  if (name === undefined) throw new CtlError(ExitCode.BadArgs, 'lock takes a lock name argument and an optional command to execute');
  const session = await openSession(ctx, flagInt(args, 'ttl'));
  try {
    const resp = await rpc(() => ctx.client.unary('lock', { name: enc.encode(name), lease: session.lease }, { signal: ctx.io.interrupt }));
    // etcdctl prints the lock's key as a get of it would (key, then its empty value).
    const got = await rpc(() => ctx.client.unary('range', { key: resp.key }, ctx.callOptions()));
    for (const kv of got.kvs) printKv(ctx.io, ctx.global.hex, false, kv);
    await untilInterrupted(ctx);
    await ctx.client.unary('unlock', { key: resp.key }, releaseOptions(ctx)).catch(() => undefined);
  } finally {
    await session.close();
  }
}

async function observe(ctx: CtlContext, name: string): Promise<void> {
  try {
    for await (const resp of ctx.client.serverStream('observe', { name: enc.encode(name) }, { signal: ctx.io.interrupt })) {
      if (resp.kv !== undefined) printKv(ctx.io, ctx.global.hex, false, resp.kv);
    }
  } catch (error) {
    if (!ctx.io.interrupt.aborted) throw new CtlError(ExitCode.Error, errorText(error));
  }
}

export async function electCommand(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  const [name, proposal] = args.positionals;
  const listen = flagBool(args, 'listen');
  if (name === undefined || (listen ? proposal !== undefined : proposal === undefined) || args.positionals.length > 2) {
    throw new CtlError(ExitCode.BadArgs, 'elect takes one election name argument and an optional proposal argument');
  }
  if (listen) return observe(ctx, name);
  const session = await openSession(ctx, flagInt(args, 'ttl'));
  try {
    const request = { name: enc.encode(name), lease: session.lease, value: enc.encode(proposal as string) };
    const resp = await rpc(() => ctx.client.unary('campaign', request, { signal: ctx.io.interrupt }));
    const leader = resp.leader;
    if (leader !== undefined) {
      const got = await rpc(() => ctx.client.unary('range', { key: leader.key }, ctx.callOptions()));
      for (const kv of got.kvs) printKv(ctx.io, ctx.global.hex, false, kv);
      await untilInterrupted(ctx);
      await ctx.client.unary('resign', { leader }, releaseOptions(ctx)).catch(() => undefined);
    }
  } finally {
    await session.close();
  }
}
