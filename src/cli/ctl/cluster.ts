/**
 * member list|add|remove|update|promote, endpoint status|health|hashkv, snapshot: etcdctl 3.4's
 * wording, column order and JSON shapes.
 */
import type { HashKVResponse, Member, StatusResponse } from '../../grpc/index.js';
import { flagBool, flagInt, flagString } from './flags.js';
import type { FlagSpecs, ParsedArgs } from './flags.js';
import { CtlError, ExitCode, errorText, rpc } from './io.js';
import type { CtlContext } from './io.js';
import { checkWriteOut, goDuration, goJson, hexId, hexIdSpaced, humanizeBytes } from './print.js';
import { snapshotRestore, snapshotStatusCommand } from './snapshot.js';
import { renderTable } from './table.js';

export const CLUSTER_FLAGS: FlagSpecs = {
  'peer-urls': { kind: 'string', default: '' },
  learner: { kind: 'bool', default: 'false' },
  cluster: { kind: 'bool', default: 'false' },
  rev: { kind: 'int', default: '0' },
};

function memberFields(m: Member): string[] {
  const status = m.name.length > 0 ? 'started' : 'unstarted';
  return [hexId(m.ID), status, m.name, m.peerURLs.join(','), m.clientURLs.join(','), String(m.isLearner)];
}

function memberLine(m: Member): string {
  return memberFields(m).join(', ') + '\n';
}

function memberIdArg(args: ParsedArgs, usage: string): bigint {
  const [idText] = args.positionals;
  if (args.positionals.length !== 1 || idText === undefined) throw new CtlError(ExitCode.BadArgs, usage);
  if (!/^[0-9a-fA-F]+$/.test(idText) || BigInt('0x' + idText) >= 1n << 64n) {
    throw new CtlError(ExitCode.BadArgs, `bad member ID arg (strconv.ParseUint: parsing "${idText}": invalid syntax), expecting ID in Hex`);
  }
  return BigInt('0x' + idText);
}

function peerUrlsArg(args: ParsedArgs): string[] {
  const urls = flagString(args, 'peer-urls');
  if (urls === '') throw new CtlError(ExitCode.BadArgs, 'member peer urls not provided');
  return urls.split(',');
}

async function memberAdd(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  const [name] = args.positionals;
  if (args.positionals.length !== 1 || name === undefined) throw new CtlError(ExitCode.BadArgs, 'member name not provided');
  const peerURLs = peerUrlsArg(args);
  const resp = await rpc(() => ctx.client.unary('memberAdd', { peerURLs, isLearner: flagBool(args, 'learner') }, ctx.callOptions()));
  if (ctx.global.writeOut === 'json') return ctx.io.out(goJson('etcdserverpb.MemberAddResponse', resp) + '\n');
  const newId = resp.member?.ID ?? 0n;
  ctx.io.out(`Member ${hexIdSpaced(newId)} added to cluster ${hexIdSpaced(resp.header?.clusterId ?? 0n)}\n`);
  const list = await rpc(() => ctx.client.unary('memberList', {}, ctx.callOptions()));
  const conf: string[] = [];
  for (const m of list.members) for (const u of m.peerURLs) conf.push(`${m.ID === newId ? name : m.name}=${u}`);
  ctx.io.out(`\nETCD_NAME=${JSON.stringify(name)}\nETCD_INITIAL_CLUSTER=${JSON.stringify(conf.join(','))}\n`);
  ctx.io.out(`ETCD_INITIAL_ADVERTISE_PEER_URLS=${JSON.stringify(peerURLs.join(','))}\nETCD_INITIAL_CLUSTER_STATE="existing"\n`);
}

export async function memberCommand(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  const [sub, ...rest] = args.positionals;
  const a: ParsedArgs = { ...args, positionals: rest };
  // etcdctl prints tables only for member list; the other member commands refuse -w table.
  checkWriteOut(ctx.global.writeOut, sub === 'list' ? ['simple', 'json', 'table'] : ['simple', 'json']);
  const json = ctx.global.writeOut === 'json';
  const opts = ctx.callOptions();
  switch (sub) {
    case 'list': {
      const resp = await rpc(() => ctx.client.unary('memberList', {}, opts));
      if (json) return ctx.io.out(goJson('etcdserverpb.MemberListResponse', resp) + '\n');
      if (ctx.global.writeOut === 'table') {
        return ctx.io.out(renderTable(['ID', 'Status', 'Name', 'Peer Addrs', 'Client Addrs', 'Is Learner'], resp.members.map(memberFields)));
      }
      for (const m of resp.members) ctx.io.out(memberLine(m));
      return;
    }
    case 'add':
      return memberAdd(ctx, a);
    case 'remove': {
      const id = memberIdArg(a, 'member ID is not provided');
      const resp = await rpc(() => ctx.client.unary('memberRemove', { ID: id }, opts));
      if (json) return ctx.io.out(goJson('etcdserverpb.MemberRemoveResponse', resp) + '\n');
      return ctx.io.out(`Member ${hexIdSpaced(id)} removed from cluster ${hexIdSpaced(resp.header?.clusterId ?? 0n)}\n`);
    }
    case 'update': {
      const id = memberIdArg(a, 'member ID is not provided');
      const resp = await rpc(() => ctx.client.unary('memberUpdate', { ID: id, peerURLs: peerUrlsArg(a) }, opts));
      if (json) return ctx.io.out(goJson('etcdserverpb.MemberUpdateResponse', resp) + '\n');
      return ctx.io.out(`Member ${hexIdSpaced(id)} updated in cluster ${hexIdSpaced(resp.header?.clusterId ?? 0n)}\n`);
    }
    case 'promote': {
      const id = memberIdArg(a, 'member ID is not provided');
      const resp = await rpc(() => ctx.client.unary('memberPromote', { ID: id }, opts));
      if (json) return ctx.io.out(goJson('etcdserverpb.MemberPromoteResponse', resp) + '\n');
      return ctx.io.out(`Member ${hexIdSpaced(id)} promoted in cluster ${hexIdSpaced(resp.header?.clusterId ?? 0n)}\n`);
    }
    default:
      throw new CtlError(ExitCode.BadArgs, `unknown command "${sub ?? ''}" for "etcdctl member"`);
  }
}

/** --cluster: every member's client URLs instead of --endpoints. */
async function endpointsOf(ctx: CtlContext, args: ParsedArgs): Promise<readonly string[]> {
  if (!flagBool(args, 'cluster')) return ctx.global.endpoints;
  const resp = await rpc(() => ctx.client.unary('memberList', {}, ctx.callOptions()));
  return resp.members.flatMap((m) => m.clientURLs);
}

function statusFields(endpoint: string, s: StatusResponse): string[] {
  const memberId = s.header?.memberId ?? 0n;
  return [
    endpoint, hexId(memberId), s.version, humanizeBytes(s.dbSize), String(s.leader === memberId), String(s.isLearner),
    String(s.raftTerm), String(s.raftIndex), String(s.raftAppliedIndex), s.errors.join(', '),
  ];
}

const STATUS_HEADER = ['endpoint', 'ID', 'version', 'db size', 'is leader', 'is learner', 'raft term', 'raft index', 'raft applied index', 'errors'];

async function endpointStatus(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  const rows: { endpoint: string; status: StatusResponse }[] = [];
  let failed = false;
  for (const endpoint of await endpointsOf(ctx, args)) {
    try {
      rows.push({ endpoint, status: await ctx.clientFor(endpoint).unary('status', {}, ctx.callOptions()) });
    } catch (error) {
      // A failed --user login ends the command (etcdctl logs in before asking any endpoint).
      if (error instanceof CtlError) throw error;
      failed = true;
      ctx.io.err(`Failed to get the status of endpoint ${endpoint} (${errorText(error)})\n`);
    }
  }
  if (ctx.global.writeOut === 'json') {
    const items = rows.map((r) => `{"Endpoint":${JSON.stringify(r.endpoint)},"Status":${goJson('etcdserverpb.StatusResponse', r.status)}}`);
    ctx.io.out(`[${items.join(',')}]\n`);
  } else if (ctx.global.writeOut === 'table') ctx.io.out(renderTable(STATUS_HEADER, rows.map((r) => statusFields(r.endpoint, r.status))));
  else for (const r of rows) ctx.io.out(statusFields(r.endpoint, r.status).join(', ') + '\n');
  if (failed) throw new CtlError(ExitCode.Error, 'context deadline exceeded');
}

/** A linearizable get of "health", as etcdctl does; permission denied still counts as healthy. */
async function endpointHealth(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  const results: { ep: string; health: boolean; tookNs: bigint; error: string }[] = [];
  for (const ep of await endpointsOf(ctx, args)) {
    const startMs = ctx.io.nowMs();
    let error = '';
    try {
      await ctx.clientFor(ep).unary('range', { key: new TextEncoder().encode('health') }, ctx.callOptions());
    } catch (e) {
      const text = errorText(e);
      if (text !== 'etcdserver: permission denied') error = text;
    }
    const tookNs = BigInt(Math.max(1, Math.round((ctx.io.nowMs() - startMs) * 1e6)));
    results.push({ ep, health: error === '', tookNs, error });
  }
  if (ctx.global.writeOut === 'json') {
    const items = results.map((r) => {
      const err = r.error === '' ? '' : `,"error":${JSON.stringify(r.error)}`;
      return `{"endpoint":${JSON.stringify(r.ep)},"health":${r.health},"took":${JSON.stringify(goDuration(r.tookNs))}${err}}`;
    });
    ctx.io.out(`[${items.join(',')}]\n`);
  } else if (ctx.global.writeOut === 'table') {
    ctx.io.out(renderTable(['endpoint', 'health', 'took', 'error'], results.map((r) => [r.ep, String(r.health), goDuration(r.tookNs), r.error])));
  } else {
    for (const r of results) {
      if (r.health) ctx.io.err(`${r.ep} is healthy: successfully committed proposal: took = ${goDuration(r.tookNs)}\n`);
      else ctx.io.err(`${r.ep} is unhealthy: failed to commit proposal: ${r.error}\n`);
    }
  }
  if (results.some((r) => !r.health)) throw new CtlError(ExitCode.Error, 'unhealthy cluster');
}

/** endpoint hashkv [--rev]: each endpoint's HashKV, as etcdctl prints it. */
async function endpointHashKV(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  const rows: { endpoint: string; resp: HashKVResponse }[] = [];
  let failure = '';
  for (const endpoint of await endpointsOf(ctx, args)) {
    try {
      rows.push({ endpoint, resp: await ctx.clientFor(endpoint).unary('hashKV', { revision: flagInt(args, 'rev') }, ctx.callOptions()) });
    } catch (error) {
      if (error instanceof CtlError) throw error;
      failure = errorText(error);
      ctx.io.err(`Failed to get the hash of endpoint ${endpoint} (${failure})\n`);
    }
  }
  if (ctx.global.writeOut === 'json') {
    ctx.io.out(`[${rows.map((r) => `{"Endpoint":${JSON.stringify(r.endpoint)},"HashKV":${goJson('etcdserverpb.HashKVResponse', r.resp)}}`).join(',')}]\n`);
  } else if (ctx.global.writeOut === 'table') ctx.io.out(renderTable(['endpoint', 'hash'], rows.map((r) => [r.endpoint, String(r.resp.hash)])));
  else for (const r of rows) ctx.io.out(`${r.endpoint}, ${r.resp.hash}\n`);
  if (failure !== '') throw new CtlError(ExitCode.Error, failure);
}

export async function endpointCommand(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  const [sub] = args.positionals;
  checkWriteOut(ctx.global.writeOut, ['simple', 'json', 'table']);
  if (sub === 'status') return endpointStatus(ctx, args);
  if (sub === 'health') return endpointHealth(ctx, args);
  if (sub === 'hashkv') return endpointHashKV(ctx, args);
  throw new CtlError(ExitCode.BadArgs, `unknown command "${sub ?? ''}" for "etcdctl endpoint"`);
}

/** snapshot save <file>: streams the backend from the first endpoint, as etcdctl requires one; restore and status work on files. */
export async function snapshotCommand(ctx: CtlContext, args: ParsedArgs): Promise<void> {
  const [sub, path] = args.positionals;
  if (sub === 'restore') return snapshotRestore(ctx, args);
  if (sub === 'status') return snapshotStatusCommand(ctx, args);
  if (sub !== 'save') throw new CtlError(ExitCode.BadArgs, `unknown command "${sub ?? ''}" for "etcdctl snapshot"`);
  if (path === undefined || args.positionals.length !== 2) throw new CtlError(ExitCode.BadArgs, 'snapshot save expects one argument');
  if (ctx.global.endpoints.length !== 1) throw new CtlError(ExitCode.BadArgs, `snapshot must be requested to one selected node, not multiple [${ctx.global.endpoints.join(' ')}]`);
  const chunks: Uint8Array[] = [];
  try {
    for await (const resp of ctx.client.serverStream('snapshot', {}, { signal: ctx.io.interrupt })) chunks.push(resp.blob.slice());
  } catch (error) {
    throw new CtlError(ExitCode.Interrupted, errorText(error));
  }
  await ctx.io.writeFile(path, chunks);
  ctx.io.out(`Snapshot saved at ${path}\n`);
}
