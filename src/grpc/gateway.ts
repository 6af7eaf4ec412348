/**
 * etcd's HTTP/JSON gateway (grpc-gateway v1 as etcd 3.4/3.5 configures it) over an
 * EtcdServices: POST /v3/<service>/<method> with a JSON body, answered with the response in
 * jsonpb form (proto field names, int64 as strings, bytes as base64, defaults omitted), plus
 * /health, /version and /metrics. Errors come back as {"error","message","code"} with
 * grpc-gateway's HTTP status for the gRPC code; nothing a client sends can throw out of here.
 *
 * The handler is transport-agnostic over node:http's (req, res); gateway-front.ts puts it on
 * the same port as gRPC.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MESSAGES } from './generated/schema.js';
import { RPCS } from './generated/services.js';
import type { RpcDescriptor, RpcKey } from './generated/services.js';
import { JsonMappingError, jsonToMessageInit, messageToJson } from './gateway-json.js';
import { GatewayMetrics } from './gateway-metrics.js';
import type { Gauge } from './gateway-metrics.js';
import { GrpcCode, isGrpcStatusError } from './services.js';
import type { BidiStream, CallContext, EtcdServices, GrpcStatusError, ResponseSink } from './services.js';
import { verifiedClientCommonName } from './tls.js';

export interface GatewayOptions {
  /** Reported by /version. */
  readonly serverVersion?: string;
  readonly clusterVersion?: string;
  /** Largest request body accepted, in bytes (default 2 MiB, like the gRPC side). */
  readonly maxBodyBytes?: number;
  /** Counters shared with an instrumented EtcdServices (see instrumentServices). */
  readonly metrics?: GatewayMetrics;
  /** How long /health waits for its linearizable read (default 3000 ms). */
  readonly healthTimeoutMs?: number;
  /**
   * --client-cert-auth. etcd's gateway never takes a client certificate's CN as the user (it
   * proxies to gRPC with its own identity); with auth enabled it refuses /v3/ requests whose
   * verified certificate carries a CN, rather than silently ignore it (400, text/plain).
   */
  readonly clientCertAuth?: boolean;
  /** Whether auth is enabled now (for the refusal above). */
  readonly isAuthEnabled?: () => boolean;
}

const CN_REFUSAL = 'CommonName of client sending a request against gateway will be ignored and not used as expected';

/** etcd's serverHandler check (--client-cert-auth, auth on, a /v3/ path, a CN in the verified certificate). */
function refusesCommonName(options: GatewayOptions, req: IncomingMessage, path: string): boolean {
  if (options.clientCertAuth !== true || options.isAuthEnabled?.() !== true) return false;
  if (!path.startsWith('/v3/') && !path.startsWith('/v3beta/')) return false;
  return verifiedClientCommonName(req.socket) !== undefined;
}

export interface Gateway {
  /** Serves one HTTP request; answers 404 for paths the gateway does not know. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  readonly metrics: GatewayMetrics;
}

interface Route {
  readonly key: RpcKey;
  readonly requestType: string;
  readonly responseType: string;
}

const ROUTE_TYPES: ReadonlyArray<readonly [string, RpcKey, string, string]> = [
  ['/v3/kv/range', 'range', 'RangeRequest', 'RangeResponse'],
  ['/v3/kv/put', 'put', 'PutRequest', 'PutResponse'],
  ['/v3/kv/deleterange', 'deleteRange', 'DeleteRangeRequest', 'DeleteRangeResponse'],
  ['/v3/kv/txn', 'txn', 'TxnRequest', 'TxnResponse'],
  ['/v3/kv/compaction', 'compact', 'CompactionRequest', 'CompactionResponse'],
  ['/v3/lease/grant', 'leaseGrant', 'LeaseGrantRequest', 'LeaseGrantResponse'],
  ['/v3/lease/revoke', 'leaseRevoke', 'LeaseRevokeRequest', 'LeaseRevokeResponse'],
  ['/v3/kv/lease/revoke', 'leaseRevoke', 'LeaseRevokeRequest', 'LeaseRevokeResponse'],
  ['/v3/lease/timetolive', 'leaseTimeToLive', 'LeaseTimeToLiveRequest', 'LeaseTimeToLiveResponse'],
  ['/v3/kv/lease/timetolive', 'leaseTimeToLive', 'LeaseTimeToLiveRequest', 'LeaseTimeToLiveResponse'],
  ['/v3/lease/leases', 'leaseLeases', 'LeaseLeasesRequest', 'LeaseLeasesResponse'],
  ['/v3/kv/lease/leases', 'leaseLeases', 'LeaseLeasesRequest', 'LeaseLeasesResponse'],
  ['/v3/cluster/member/list', 'memberList', 'MemberListRequest', 'MemberListResponse'],
  ['/v3/cluster/member/add', 'memberAdd', 'MemberAddRequest', 'MemberAddResponse'],
  ['/v3/cluster/member/remove', 'memberRemove', 'MemberRemoveRequest', 'MemberRemoveResponse'],
  ['/v3/cluster/member/update', 'memberUpdate', 'MemberUpdateRequest', 'MemberUpdateResponse'],
  ['/v3/cluster/member/promote', 'memberPromote', 'MemberPromoteRequest', 'MemberPromoteResponse'],
  ['/v3/maintenance/status', 'status', 'StatusRequest', 'StatusResponse'],
  ['/v3/maintenance/alarm', 'alarm', 'AlarmRequest', 'AlarmResponse'],
  ['/v3/maintenance/defragment', 'defragment', 'DefragmentRequest', 'DefragmentResponse'],
  ['/v3/maintenance/hash', 'hashKV', 'HashKVRequest', 'HashKVResponse'],
  ['/v3/maintenance/transfer-leadership', 'moveLeader', 'MoveLeaderRequest', 'MoveLeaderResponse'],
  // Auth, at etcd's gateway paths (rpc.proto's http annotations); the token rides in "Authorization".
  ['/v3/auth/enable', 'authEnable', 'AuthEnableRequest', 'AuthEnableResponse'],
  ['/v3/auth/disable', 'authDisable', 'AuthDisableRequest', 'AuthDisableResponse'],
  ['/v3/auth/status', 'authStatus', 'AuthStatusRequest', 'AuthStatusResponse'],
  ['/v3/auth/authenticate', 'authenticate', 'AuthenticateRequest', 'AuthenticateResponse'],
  ['/v3/auth/user/add', 'userAdd', 'AuthUserAddRequest', 'AuthUserAddResponse'],
  ['/v3/auth/user/get', 'userGet', 'AuthUserGetRequest', 'AuthUserGetResponse'],
  ['/v3/auth/user/list', 'userList', 'AuthUserListRequest', 'AuthUserListResponse'],
  ['/v3/auth/user/delete', 'userDelete', 'AuthUserDeleteRequest', 'AuthUserDeleteResponse'],
  ['/v3/auth/user/changepw', 'userChangePassword', 'AuthUserChangePasswordRequest', 'AuthUserChangePasswordResponse'],
  ['/v3/auth/user/grant', 'userGrantRole', 'AuthUserGrantRoleRequest', 'AuthUserGrantRoleResponse'],
  ['/v3/auth/user/revoke', 'userRevokeRole', 'AuthUserRevokeRoleRequest', 'AuthUserRevokeRoleResponse'],
  ['/v3/auth/role/add', 'roleAdd', 'AuthRoleAddRequest', 'AuthRoleAddResponse'],
  ['/v3/auth/role/get', 'roleGet', 'AuthRoleGetRequest', 'AuthRoleGetResponse'],
  ['/v3/auth/role/list', 'roleList', 'AuthRoleListRequest', 'AuthRoleListResponse'],
  ['/v3/auth/role/delete', 'roleDelete', 'AuthRoleDeleteRequest', 'AuthRoleDeleteResponse'],
  ['/v3/auth/role/grant', 'roleGrantPermission', 'AuthRoleGrantPermissionRequest', 'AuthRoleGrantPermissionResponse'],
  ['/v3/auth/role/revoke', 'roleRevokePermission', 'AuthRoleRevokePermissionRequest', 'AuthRoleRevokePermissionResponse'],
];

/** v3lock and v3election, served by the same gateway in etcd (full message type names). */
const CONCURRENCY_ROUTE_TYPES: ReadonlyArray<readonly [string, RpcKey, string, string]> = [
  ['/v3/lock/lock', 'lock', 'v3lockpb.LockRequest', 'v3lockpb.LockResponse'],
  ['/v3/lock/unlock', 'unlock', 'v3lockpb.UnlockRequest', 'v3lockpb.UnlockResponse'],
  ['/v3/election/campaign', 'campaign', 'v3electionpb.CampaignRequest', 'v3electionpb.CampaignResponse'],
  ['/v3/election/proclaim', 'proclaim', 'v3electionpb.ProclaimRequest', 'v3electionpb.ProclaimResponse'],
  ['/v3/election/leader', 'leader', 'v3electionpb.LeaderRequest', 'v3electionpb.LeaderResponse'],
  ['/v3/election/resign', 'resign', 'v3electionpb.ResignRequest', 'v3electionpb.ResignResponse'],
];

const ROUTES: ReadonlyMap<string, Route> = new Map([
  ...ROUTE_TYPES.map(([path, key, req, res]): [string, Route] => [path, { key, requestType: `etcdserverpb.${req}`, responseType: `etcdserverpb.${res}` }]),
  ...CONCURRENCY_ROUTE_TYPES.map(([path, key, req, res]): [string, Route] => [path, { key, requestType: req, responseType: res }]),
]);

/**
 * Streaming RPCs as grpc-gateway streams them: each response is one {"result":...} line.
 * `holdOpen`: the call outlives the request body (etcd's Watch ignores the client's half-close;
 * LeaseKeepAlive ends with it).
 */
interface StreamRoute extends Route {
  readonly kind: 'bidi' | 'server';
  readonly holdOpen: boolean;
}

const STREAM_ROUTES: ReadonlyMap<string, StreamRoute> = new Map([
  ['/v3/watch', { key: 'watch', requestType: 'etcdserverpb.WatchRequest', responseType: 'etcdserverpb.WatchResponse', kind: 'bidi', holdOpen: true }],
  ['/v3/lease/keepalive', { key: 'leaseKeepAlive', requestType: 'etcdserverpb.LeaseKeepAliveRequest', responseType: 'etcdserverpb.LeaseKeepAliveResponse', kind: 'bidi', holdOpen: false }],
  ['/v3/election/observe', { key: 'observe', requestType: 'v3electionpb.LeaderRequest', responseType: 'v3electionpb.LeaderResponse', kind: 'server', holdOpen: true }],
  ['/v3/maintenance/snapshot', { key: 'snapshot', requestType: 'etcdserverpb.SnapshotRequest', responseType: 'etcdserverpb.SnapshotResponse', kind: 'server', holdOpen: false }],
]);

/** grpc-gateway v1's runtime.HTTPStatusFromCode. */
const HTTP_STATUS: readonly number[] = [200, 408, 500, 400, 504, 404, 409, 403, 429, 412, 409, 400, 501, 500, 503, 500, 401];
const HTTP_STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 408: 'Request Timeout',
  409: 'Conflict', 412: 'Precondition Failed', 429: 'Too Many Requests', 500: 'Internal Server Error',
  501: 'Not Implemented', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;

function statusOf(error: unknown): GrpcStatusError {
  if (isGrpcStatusError(error)) return error;
  if (error instanceof JsonMappingError || error instanceof SyntaxError) return { grpcCode: GrpcCode.INVALID_ARGUMENT, message: error.message };
  return { grpcCode: GrpcCode.UNKNOWN, message: error instanceof Error ? error.message : String(error) };
}

function sendJson(res: ServerResponse, httpStatus: number, body: string): void {
  if (res.headersSent) return;
  res.writeHead(httpStatus, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function sendError(res: ServerResponse, error: unknown): void {
  const s = statusOf(error);
  const body = `{"error":${JSON.stringify(s.message)},"message":${JSON.stringify(s.message)},"code":${s.grpcCode}}`;
  sendJson(res, HTTP_STATUS[s.grpcCode] ?? 500, body);
}

/** Reads the whole body, refusing more than maxBytes (RESOURCE_EXHAUSTED, as gRPC would). */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        reject({ grpcCode: GrpcCode.RESOURCE_EXHAUSTED, message: `grpc: received message larger than max (${size} vs. ${maxBytes})` } satisfies GrpcStatusError);
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJsonBody(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // A body cut short is Go's io.ErrUnexpectedEOF in grpc-gateway's decoder, word for word.
    const at = /at position (\d+)/.exec(message)?.[1];
    const truncated = message.includes('Unexpected end of JSON input') || (at !== undefined && Number(at) >= text.trimEnd().length);
    throw new JsonMappingError(truncated ? 'unexpected EOF' : message);
  }
}

/** JSON body -> the decoded request shape a service expects (all defaults filled in). */
export function decodeJsonRequest(type: string, json: unknown, decode: (bytes: Uint8Array) => unknown): unknown {
  const schema = MESSAGES[type];
  if (schema === undefined) throw new Error(`unknown message type ${type}`);
  const init = jsonToMessageInit(type, json);
  let bytes: Buffer;
  try {
    bytes = schema.encode(init as never);
  } catch (error) {
    throw new JsonMappingError(error instanceof Error ? error.message : String(error));
  }
  return decode(bytes);
}

/** A service's response (Init form) -> jsonpb text, through the wire form so defaults are exact. */
export function encodeJsonResponse(descriptor: RpcDescriptor, type: string, response: unknown): string {
  const schema = MESSAGES[type];
  if (schema === undefined) throw new Error(`unknown message type ${type}`);
  const bytes = (descriptor.encodeResponse as (m: unknown) => Buffer)(response);
  return messageToJson(type, schema.decode(bytes), 'gateway');
}

function contextOf(req: IncomingMessage, res: ServerResponse): CallContext {
  const controller = new AbortController();
  res.on('close', () => controller.abort());
  const header = (name: string): string | undefined => {
    const v = req.headers[name.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  };
  return {
    authToken: header('authorization') ?? header('token'),
    requireLeader: false,
    signal: controller.signal,
    peer: `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? ''}`,
    metadata: header,
  };
}

async function serveUnary(services: EtcdServices, route: Route, req: IncomingMessage, res: ServerResponse, maxBodyBytes: number): Promise<number> {
  const descriptor = RPCS[route.key] as unknown as RpcDescriptor;
  try {
    const json = parseJsonBody(await readBody(req, maxBodyBytes));
    const request = decodeJsonRequest(route.requestType, json, descriptor.decodeRequest as (b: Uint8Array) => unknown);
    const method = services[route.key] as unknown as (r: unknown, ctx: CallContext) => Promise<unknown>;
    const response = await method.call(services, request, contextOf(req, res));
    sendJson(res, 200, encodeJsonResponse(descriptor, route.responseType, response));
    return 200;
  } catch (error) {
    sendError(res, error);
    return HTTP_STATUS[statusOf(error).grpcCode] ?? 500;
  }
}

/**
 * The top-level JSON values of a body, as Go's json.Decoder reads a stream of them: objects
 * back to back, with or without whitespace or newlines between them. A value cut short is
 * returned as is, so its parse error is the one reported.
 */
function splitJsonStream(text: string): string[] {
  const docs: string[] = [];
  let depth = 0;
  let inString = false;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (start < 0 && /\s/.test(c)) continue;
    if (start < 0) start = i;
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    if (depth === 0 && !inString && (c === '}' || c === ']' || /[\s{]/.test(text[i + 1] ?? ' '))) {
      docs.push(text.slice(start, i + 1));
      start = -1;
    }
  }
  if (start >= 0) docs.push(text.slice(start));
  return docs;
}

/**
 * A streaming route: the body holds one or more request JSON objects (a server-streaming RPC
 * takes the first); each response is written as a {"result":...} line as it comes. A call that
 * fails after the headers went out ends with an {"error":{...}} line, as grpc-gateway writes it.
 */
async function serveStream(services: EtcdServices, route: StreamRoute, req: IncomingMessage, res: ServerResponse, maxBodyBytes: number): Promise<number> {
  const descriptor = RPCS[route.key] as unknown as RpcDescriptor;
  let requests: unknown[];
  try {
    const text = (await readBody(req, maxBodyBytes)).toString('utf8');
    const docs = splitJsonStream(text);
    requests = (docs.length === 0 ? ['{}'] : docs).map((doc) =>
      decodeJsonRequest(route.requestType, parseJsonBody(Buffer.from(doc)), descriptor.decodeRequest as (b: Uint8Array) => unknown),
    );
  } catch (error) {
    sendError(res, error);
    return 400;
  }
  const ctx = contextOf(req, res);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
  const send = async (response: unknown): Promise<void> => {
    if (ctx.signal.aborted) throw { grpcCode: GrpcCode.CANCELLED, message: 'context canceled' } satisfies GrpcStatusError;
    const line = `{"result":${encodeJsonResponse(descriptor, route.responseType, response)}}\n`;
    if (!res.write(line)) await new Promise<void>((resolve) => res.once('drain', resolve));
  };
  const untilClientLeaves = (): Promise<void> =>
    new Promise<void>((resolve) => (ctx.signal.aborted ? resolve() : ctx.signal.addEventListener('abort', () => resolve(), { once: true })));
  try {
    const method = services[route.key] as unknown as (...args: unknown[]) => Promise<void>;
    if (route.kind === 'bidi') {
      const stream: BidiStream<unknown, unknown> = {
        send,
        async *[Symbol.asyncIterator](): AsyncIterator<unknown> {
          yield* requests;
          if (route.holdOpen) await untilClientLeaves();
        },
      };
      await method.call(services, stream, ctx);
    } else {
      await method.call(services, requests[0], { send } satisfies ResponseSink<unknown>, ctx);
    }
  } catch (error) {
    const s = statusOf(error);
    const http = HTTP_STATUS[s.grpcCode] ?? 500;
    const body = `{"error":{"grpc_code":${s.grpcCode},"http_code":${http},"message":${JSON.stringify(s.message)},"http_status":${JSON.stringify(HTTP_STATUS_TEXT[http] ?? '')}}}\n`;
    if (!res.writableEnded && !ctx.signal.aborted) res.write(body);
  }
  if (!res.writableEnded) res.end();
  return 200;
}

/** /health as etcd 3.5: no leader or a failing linearizable read means unhealthy (503). */
async function serveHealth(services: EtcdServices, res: ServerResponse, timeoutMs: number): Promise<number> {
  const controller = new AbortController();
  const ctx: CallContext = { authToken: undefined, requireLeader: true, signal: controller.signal, peer: 'health', metadata: () => undefined };
  let reason = '';
  try {
    const status = await services.status(RPCS.status.decodeRequest(RPCS.status.encodeRequest({})), ctx);
    if (status.leader === undefined || status.leader === 0n) reason = 'RAFT NO LEADER';
    else {
      // A learner refuses linearizable reads (etcd's learner rule); its health read stays local.
      const read = services.range(RPCS.range.decodeRequest(RPCS.range.encodeRequest({ key: new TextEncoder().encode('health'), serializable: status.isLearner === true })), ctx);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('context deadline exceeded')), timeoutMs);
      });
      try {
        await Promise.race([read, timeout]);
      } finally {
        clearTimeout(timer);
        controller.abort();
      }
    }
  } catch (error) {
    const s = statusOf(error);
    // etcd's checkHealth counts only auth's "no user" and "permission denied" as healthy answers.
    if (s.message !== 'etcdserver: permission denied' && s.message !== 'etcdserver: user name is empty') reason = s.message;
  }
  const healthy = reason === '';
  sendJson(res, healthy ? 200 : 503, `{"health":"${healthy}","reason":${JSON.stringify(reason)}}`);
  return healthy ? 200 : 503;
}

async function serveMetrics(services: EtcdServices, metrics: GatewayMetrics, res: ServerResponse): Promise<number> {
  const gauges: Gauge[] = [];
  try {
    const ctx: CallContext = { authToken: undefined, requireLeader: false, signal: new AbortController().signal, peer: 'metrics', metadata: () => undefined };
    const s = await services.status(RPCS.status.decodeRequest(RPCS.status.encodeRequest({})), ctx);
    const self = s.header?.memberId ?? 0n;
    const leader = s.leader ?? 0n;
    gauges.push(
      { name: 'etcd_server_has_leader', help: 'Whether or not a leader exists. 1 is existence, 0 is not.', value: leader !== 0n ? 1 : 0 },
      { name: 'etcd_server_is_leader', help: 'Whether or not this member is a leader. 1 if is, 0 otherwise.', value: leader !== 0n && leader === self ? 1 : 0 },
      { name: 'etcd_server_is_learner', help: 'Whether or not this member is a learner. 1 if is, 0 otherwise.', value: s.isLearner === true ? 1 : 0 },
      { name: 'etcd_mvcc_db_total_size_in_bytes', help: 'Total size of the underlying database physically allocated in bytes.', value: s.dbSize ?? 0n },
      { name: 'etcd_mvcc_db_total_size_in_use_in_bytes', help: 'Total size of the underlying database logically in use in bytes.', value: s.dbSizeInUse ?? 0n },
      { name: 'etcd_debugging_mvcc_current_revision', help: 'The current revision of store.', value: s.header?.revision ?? 0n },
      { name: 'etcd_server_raft_term', help: 'The current raft term (tsetcd).', value: s.raftTerm ?? 0n },
      { name: 'etcd_server_raft_applied_index', help: 'The current raft applied index.', value: s.raftAppliedIndex ?? 0n },
    );
  } catch {
    // A member that cannot answer Status still serves its counters.
  }
  const mem = process.memoryUsage();
  gauges.push(
    { name: 'process_resident_memory_bytes', help: 'Resident memory size in bytes.', value: mem.rss },
    { name: 'nodejs_heap_used_bytes', help: 'V8 heap in use in bytes.', value: mem.heapUsed },
  );
  const body = metrics.render(gauges);
  res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
  return 200;
}

export function createGateway(services: EtcdServices, options: GatewayOptions = {}): Gateway {
  const metrics = options.metrics ?? new GatewayMetrics();
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const version = `{"etcdserver":${JSON.stringify(options.serverVersion ?? '3.5.0')},"etcdcluster":${JSON.stringify(options.clusterVersion ?? '3.5.0')}}`;
  const dispatch = (req: IncomingMessage, res: ServerResponse, path: string): Promise<number> => {
    if (refusesCommonName(options, req, path)) {
      // Go's http.Error: plain text, nosniff, the message and a newline.
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
      res.end(`${CN_REFUSAL}\n`);
      return Promise.resolve(400);
    }
    if (path === '/health' || path === '/livez' || path === '/readyz') return serveHealth(services, res, options.healthTimeoutMs ?? 3000);
    if (path === '/version') {
      sendJson(res, 200, version);
      return Promise.resolve(200);
    }
    if (path === '/metrics') return serveMetrics(services, metrics, res);
    const isPost = req.method === 'POST' || req.method === 'PUT';
    const streamRoute = STREAM_ROUTES.get(path);
    if (streamRoute !== undefined && isPost) return serveStream(services, streamRoute, req, res, maxBodyBytes);
    const route = ROUTES.get(path) ?? streamRoute;
    if (route !== undefined && isPost) return serveUnary(services, route, req, res, maxBodyBytes);
    const notFound = route === undefined ? { grpcCode: GrpcCode.UNIMPLEMENTED, message: 'Not Found' } : { grpcCode: GrpcCode.UNIMPLEMENTED, message: 'Method Not Allowed' };
    const http = route === undefined ? 404 : 405;
    sendJson(res, http, `{"error":${JSON.stringify(notFound.message)},"message":${JSON.stringify(notFound.message)},"code":${notFound.grpcCode}}`);
    return Promise.resolve(http);
  };
  return {
    metrics,
    handle(req, res): void {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      dispatch(req, res, path).then(
        (status) => metrics.http.add({ path: ROUTES.has(path) || STREAM_ROUTES.has(path) || ['/health', '/version', '/metrics'].includes(path) ? path : 'other', code: String(status) }),
        (error: unknown) => sendError(res, error),
      );
    },
  };
}
