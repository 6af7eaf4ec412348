/**
 * watch [key] [range_end] --prefix --rev --prev-kv --progress-notify: one Watch stream, events
 * printed as they come (etcdctl's simple printer: type, prev kv, kv), until Ctrl-C or until
 * the server cancels the watch (then exit 5, as etcdctl does).
 */
import type { Event, WatchCreateRequestInit, WatchResponse } from '../../grpc/index.js';
import { Event_EventType } from '../../grpc/index.js';
import { flagBool, flagInt } from './flags.js';
import type { FlagSpecs, ParsedArgs } from './flags.js';
import { CtlError, ExitCode, errorText } from './io.js';
import type { CtlContext } from './io.js';
import { prefixEnd } from './kv.js';
import { checkWriteOut, goJson, printKv } from './print.js';

export const WATCH_FLAGS: FlagSpecs = {
  prefix: { kind: 'bool', default: 'false' },
  rev: { kind: 'int', default: '0' },
  'prev-kv': { kind: 'bool', default: 'false' },
  'progress-notify': { kind: 'bool', default: 'false' },
  interactive: { kind: 'bool', short: 'i', default: 'false' },
};

const enc = new TextEncoder();

export function watchRequest(args: ParsedArgs): WatchCreateRequestInit {
  const [key, end] = args.positionals;
  const prefix = flagBool(args, 'prefix');
  if (key === undefined || args.positionals.length > 2 || (prefix && end !== undefined)) {
    throw new CtlError(ExitCode.BadArgs, 'bad number of arguments');
  }
  const keyBytes = enc.encode(key);
  let rangeEnd: Uint8Array | undefined;
  if (prefix) rangeEnd = keyBytes.length === 0 ? new Uint8Array([0]) : prefixEnd(keyBytes);
  else if (end !== undefined) rangeEnd = enc.encode(end);
  return {
    key: keyBytes.length === 0 && prefix ? new Uint8Array([0]) : keyBytes,
    ...(rangeEnd === undefined ? {} : { rangeEnd }),
    startRevision: flagInt(args, 'rev'),
    prevKv: flagBool(args, 'prev-kv'),
    progressNotify: flagBool(args, 'progress-notify'),
  };
}

function printEvent(ctx: CtlContext, e: Event): void {
  ctx.io.out(e.type === Event_EventType.DELETE ? 'DELETE\n' : 'PUT\n');
  if (e.prevKv !== undefined) printKv(ctx.io, ctx.global.hex, false, e.prevKv);
  if (e.kv !== undefined) printKv(ctx.io, ctx.global.hex, false, e.kv);
}

/** clientv3.WatchResponse through Go's encoding/json: exported field names, no omitempty. */
export function watchResponseJson(resp: WatchResponse): string {
  const header = resp.header === undefined ? '{}' : goJson('etcdserverpb.ResponseHeader', resp.header);
  const events = resp.events.length === 0 ? 'null' : '[' + resp.events.map((e) => goJson('mvccpb.Event', e)).join(',') + ']';
  return `{"Header":${header},"Events":${events},"CompactRevision":${resp.compactRevision},"Canceled":${resp.canceled},"Created":${resp.created}}`;
}

/** Why clientv3 says a watch ended: compaction, the server's reason, or a future revision. */
function cancelText(resp: WatchResponse): string {
  if (resp.compactRevision !== 0n) return 'etcdserver: mvcc: required revision has been compacted';
  if (resp.cancelReason !== '') return resp.cancelReason;
  return 'etcdserver: mvcc: required revision is a future revision';
}

export async function watchCommand(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  if (flagBool(args, 'interactive')) throw new CtlError(ExitCode.BadFeature, 'interactive watch is not supported by tsetcdctl');
  checkWriteOut(ctx.global.writeOut, ['simple', 'json']);
  const request = watchRequest(args);
  const call = ctx.client.bidi('watch', { signal: ctx.io.interrupt });
  call.send({ requestUnion: { case: 'createRequest', value: request } });
  try {
    for await (const resp of call) {
      const cancelled = resp.canceled || resp.compactRevision !== 0n;
      if (resp.created && !cancelled && resp.events.length === 0) continue;
      if (ctx.global.writeOut === 'json') ctx.io.out(watchResponseJson(resp) + '\n');
      else for (const e of resp.events) printEvent(ctx, e);
      if (cancelled) {
        ctx.io.err(`watch was canceled (${cancelText(resp)})\n`);
        throw new CtlError(ExitCode.Interrupted, 'watch is canceled by the server');
      }
    }
  } catch (error) {
    if (error instanceof CtlError) throw error;
    if (ctx.io.interrupt.aborted) return;
    // clientv3 reports a failed stream as a canceled watch response.
    ctx.io.err(`watch was canceled (${errorText(error)})\n`);
    throw new CtlError(ExitCode.Interrupted, 'watch is canceled by the server');
  } finally {
    call.cancel();
  }
  if (!ctx.io.interrupt.aborted) throw new CtlError(ExitCode.Interrupted, 'watch is canceled by the server');
}
