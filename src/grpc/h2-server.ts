/**
 * The client-facing gRPC server written directly on node:http2, without grpc-js's server.
 *
 * Why: on the put path grpc-js's server cost about as much CPU as the rest of the request
 * (interceptor chain, a Metadata copy of the headers, channelz counters, an EventEmitter per
 * call, a second copy of every response to frame it). Here a call is one object: the request's
 * DATA chunk is decoded where it lies, the response is framed in one buffer, and the headers and
 * trailers are constant objects.
 *
 * What a grpc-js client or Go's clientv3 sees is the same as from grpc-js's server: status codes
 * and messages (grpc-js's own texts for transport errors, percent-encoded as grpc-js does),
 * trailers-only responses for errors before the first message, grpc-timeout deadlines,
 * gzip/deflate request messages, the max receive size, GOAWAY on close then a forced cancel
 * after the grace period. Not implemented (grpc-js's server does not use them here either):
 * response compression, channelz, server-side keepalive pings, max connection age.
 */
import * as http2 from 'node:http2';
import { createServer as createNetServer } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import type { PeerCertificate } from 'node:tls';
import { inflateSync, gunzipSync } from 'node:zlib';
import { RPCS } from './generated/services.js';
import type { RpcDescriptor, RpcKey } from './generated/services.js';
import { GrpcCode, isGrpcStatusError, isUnaryRpcKey } from './services.js';
import type { BidiStream, CallContext, EtcdServices, GrpcStatusError, ResponseSink } from './services.js';
import { commonNameOf } from './tls.js';
import { sharedWriter } from './wire.js';
import type { Writer } from './wire.js';
import { parseListenUrl } from './listen-url.js';

export interface H2ServerOptions {
  readonly maxReceiveMessageBytes: number;
  readonly closeGraceMs: number;
  readonly clientCertAuth: boolean;
}

type AnyUnary = (request: unknown, ctx: CallContext) => Promise<unknown>;
type AnyServerStream = (request: unknown, out: ResponseSink<unknown>, ctx: CallContext) => Promise<void>;
type AnyBidi = (stream: BidiStream<unknown, unknown>, ctx: CallContext) => Promise<void>;

const enum Kind {
  Unary,
  ServerStream,
  Bidi,
}

interface Route {
  readonly descriptor: RpcDescriptor;
  readonly kind: Kind;
  readonly method: (...args: never[]) => Promise<unknown>;
  readonly decode: (bytes: Uint8Array) => unknown;
  readonly write: (w: Writer, message: unknown) => void;
}

const INCOMING_QUEUE_HIGH_WATER = 64;
/** Bytes queued on a stream before send() waits for 'drain' (watch fan-out writes many small messages). */
const SEND_QUEUE_HIGH_WATER_BYTES = 256 * 1024;
const FRAME_HEADER_BYTES = 5;

const { HTTP2_HEADER_STATUS, HTTP2_HEADER_CONTENT_TYPE, HTTP2_HEADER_PATH, NGHTTP2_CANCEL } = http2.constants;

// Constant header objects: node copies what it sends, so one object serves every call.
const RESPONSE_HEADERS: http2.OutgoingHttpHeaders = {
  [HTTP2_HEADER_STATUS]: 200,
  [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto',
  'grpc-accept-encoding': 'identity,deflate,gzip',
  'grpc-encoding': 'identity',
};
const OK_TRAILERS: http2.OutgoingHttpHeaders = { 'grpc-status': '0', 'grpc-message': 'OK' };
const RESPOND_WITH_TRAILERS = { waitForTrailers: true, sendDate: false } as const;
const RESPOND_AND_END = { endStream: true, sendDate: false } as const;

/** A 'wantTrailers' listener without a closure per call (listeners run with the stream as `this`). */
function sendOkTrailers(this: http2.ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS);
}

/** Headers grpc-js keeps out of the metadata it shows a handler. */
const HIDDEN_METADATA: ReadonlySet<string> = new Set(['grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding', 'accept-encoding', 'te', 'content-type']);

const DEADLINE_PATTERN = /(\d{1,8})\s*([HMSmun])/;
const DEADLINE_UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

function statusOf(error: unknown): GrpcStatusError {
  if (isGrpcStatusError(error)) return error;
  const details = error instanceof Error ? error.message : String(error);
  return { grpcCode: GrpcCode.UNKNOWN, message: details };
}

function undecodable(error: unknown): GrpcStatusError {
  const reason = error instanceof Error ? error.message : String(error);
  return { grpcCode: GrpcCode.INTERNAL, message: `grpc: error unmarshalling request: ${reason}` };
}

function cancelledError(): GrpcStatusError {
  return { grpcCode: GrpcCode.CANCELLED, message: 'context canceled' };
}

function firstHeader(headers: http2.IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) return undefined;
  // Binary metadata travels base64-encoded; grpc-js hands it over decoded.
  return name.endsWith('-bin') ? Buffer.from(first, 'base64').toString('utf8') : first;
}

function peerOf(session: http2.Http2Session | undefined): string {
  const socket = session?.socket;
  if (socket?.remoteAddress === undefined) return 'unknown';
  return socket.remotePort ? `${socket.remoteAddress}:${socket.remotePort}` : socket.remoteAddress;
}

/**
 * Stream listeners shared by every call (listeners run with the stream as `this`): the stream
 * carries its call, so no call allocates closures for them.
 */
const CALL = Symbol('grpcCall');
type CallStream = http2.ServerHttp2Stream & { [CALL]?: H2Call };

function onStreamData(this: CallStream, chunk: Buffer): void {
  this[CALL]?.onData(chunk);
}

function onStreamEnd(this: CallStream): void {
  this[CALL]?.onEnd();
}

function onStreamClose(this: CallStream): void {
  this[CALL]?.onClose();
}

function ignoreError(): void {
  // An error on a stream or session is followed by 'close', which cancels the call.
}

/** One call: its stream, its request bytes, its status. Also its CallContext. */
class H2Call implements CallContext {
  readonly authToken: string | undefined;
  readonly requireLeader: boolean;
  readonly peer: string;
  /** Set once the call's outcome is decided (status sent or the stream gone). */
  finished = false;
  cancelled = false;
  private headersSent = false;
  private controller: AbortController | undefined = undefined;
  private deadlineTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** Bytes of a message (or frame header) still being assembled across DATA chunks. */
  private pending: Buffer[] | undefined = undefined;
  private pendingBytes = 0;
  /** How many buffered bytes complete what is pending: its frame header, then its whole frame. */
  private pendingNeedBytes = 0;
  private messagesSeen = 0;
  private unaryRequest: unknown = undefined;
  /** Sends waiting for 'drain', rejected if the call ends first. */
  private drainWaiters: Array<() => void> | undefined = undefined;
  /** Bidi only: decoded messages the hook has not taken yet, and a waiting reader. */
  private queue: unknown[] | undefined = undefined;
  private wake: (() => void) | undefined = undefined;
  private halfClosed = false;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly headers: http2.IncomingHttpHeaders,
    private readonly route: Route,
    private readonly server: H2Server,
  ) {
    this.authToken = firstHeader(headers, 'token') ?? firstHeader(headers, 'authorization');
    this.requireLeader = headers['hasleader'] === 'true';
    this.peer = server.peerOf(stream.session);
    (stream as CallStream)[CALL] = this;
    stream.on('data', onStreamData);
    stream.on('end', onStreamEnd);
    stream.on('close', onStreamClose);
    const timeout = headers['grpc-timeout'];
    if (timeout !== undefined) this.startDeadline(String(timeout));
    if (route.kind === Kind.Bidi) this.startBidi();
  }

  // ---------------------------------------------------------------- CallContext

  get certCommonName(): string | undefined {
    if (!this.server.options.clientCertAuth) return undefined;
    return commonNameOf(verifiedCertificate(this.stream.session?.socket));
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.cancelled) this.controller.abort();
    }
    return this.controller.signal;
  }

  metadata(name: string): string | undefined {
    const key = name.toLowerCase();
    if (key.startsWith(':') || HIDDEN_METADATA.has(key)) return undefined;
    return firstHeader(this.headers, key);
  }

  // ---------------------------------------------------------------- receiving

  onData(chunk: Buffer): void {
    if (this.finished) return;
    let data = chunk;
    if (this.pending !== undefined) {
      // A message split over DATA chunks is joined once it is complete, not chunk by chunk
      // (joining on every chunk would copy a 1.5 MiB put a hundred times).
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes < this.pendingNeedBytes) return;
      data = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = undefined;
    }
    while (data.length >= FRAME_HEADER_BYTES) {
      const length = data.readUInt32BE(1);
      const max = this.server.options.maxReceiveMessageBytes;
      if (max >= 0 && length > max) {
        this.fail({ grpcCode: GrpcCode.RESOURCE_EXHAUSTED, message: `Received message larger than max (${length} vs ${max})` });
        return;
      }
      if (data.length < FRAME_HEADER_BYTES + length) break;
      const compressed = data[0] === 1;
      const body = data.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length);
      data = data.subarray(FRAME_HEADER_BYTES + length);
      this.onMessage(compressed ? this.decompress(body) : body);
      if (this.finished) return;
    }
    if (data.length > 0) {
      this.pending = [data];
      this.pendingBytes = data.length;
      this.pendingNeedBytes = data.length < FRAME_HEADER_BYTES ? FRAME_HEADER_BYTES : FRAME_HEADER_BYTES + data.readUInt32BE(1);
    }
  }

  private decompress(body: Buffer): Buffer | undefined {
    const encoding = String(this.headers['grpc-encoding'] ?? 'identity');
    // As grpc-js: the flag alone does not make a message compressed; the call's encoding decides.
    if (encoding === 'identity') return body;
    if (encoding !== 'gzip' && encoding !== 'deflate') {
      this.fail({ grpcCode: GrpcCode.UNIMPLEMENTED, message: `Received message compressed with unsupported encoding "${encoding}"` });
      return undefined;
    }
    const max = this.server.options.maxReceiveMessageBytes;
    try {
      const options = max >= 0 ? { maxOutputLength: Math.max(1, max) } : {};
      return encoding === 'gzip' ? gunzipSync(body, options) : inflateSync(body, options);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
        this.fail({ grpcCode: GrpcCode.RESOURCE_EXHAUSTED, message: `Received message that decompresses to a size larger than ${max}` });
      } else {
        this.fail({ grpcCode: GrpcCode.INTERNAL, message: 'Failed to decompress message' });
      }
      return undefined;
    }
  }

  private onMessage(body: Buffer | undefined): void {
    if (body === undefined) return;
    this.messagesSeen++;
    if (this.route.kind === Kind.Bidi) {
      this.pushIncoming(body);
      return;
    }
    if (this.messagesSeen > 1) {
      const path = this.route.descriptor.path;
      this.fail({ grpcCode: GrpcCode.UNIMPLEMENTED, message: `Received a second request message for server streaming method ${path}` });
      return;
    }
    try {
      this.unaryRequest = this.route.decode(body);
    } catch (error) {
      this.fail(undecodable(error));
    }
  }

  onEnd(): void {
    // As grpc-js: a message cut short by the half-close is dropped, not an error of its own.
    this.pending = undefined;
    if (this.route.kind === Kind.Bidi) {
      this.halfClosed = true;
      this.notify();
      return;
    }
    if (this.finished) return;
    if (this.messagesSeen === 0) {
      const path = this.route.descriptor.path;
      this.fail({ grpcCode: GrpcCode.UNIMPLEMENTED, message: `Received no request message for server streaming method ${path}` });
      return;
    }
    if (this.route.kind === Kind.Unary) this.runUnary();
    else this.runServerStream();
  }

  onClose(): void {
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    if (this.finished) return;
    this.finished = true;
    this.cancel();
  }

  private cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.controller?.abort();
    const waiters = this.drainWaiters;
    this.drainWaiters = undefined;
    if (waiters !== undefined) for (const reject of waiters) reject();
    this.notify();
  }

  private startDeadline(value: string): void {
    const match = DEADLINE_PATTERN.exec(value);
    if (match === null) {
      // As grpc-js: answered once the call is set up.
      process.nextTick(() => this.fail({ grpcCode: GrpcCode.INTERNAL, message: `Invalid grpc-timeout value "${value}"` }));
      return;
    }
    const timeoutMs = (Number(match[1]) * (DEADLINE_UNIT_MS[match[2] as string] ?? 1)) | 0;
    this.deadlineTimer = setTimeout(() => this.fail({ grpcCode: GrpcCode.DEADLINE_EXCEEDED, message: 'Deadline exceeded' }), timeoutMs);
  }

  // ---------------------------------------------------------------- running the handler

  private runUnary(): void {
    let pending: Promise<unknown>;
    try {
      pending = (this.route.method as AnyUnary)(this.unaryRequest, this);
    } catch (error) {
      this.fail(statusOf(error));
      return;
    }
    pending.then(
      (response) => this.answer(response),
      (error: unknown) => this.fail(statusOf(error)),
    );
  }

  private runServerStream(): void {
    let outcome: Promise<void>;
    try {
      outcome = (this.route.method as AnyServerStream)(this.unaryRequest, this.sink(), this);
    } catch (error) {
      outcome = Promise.reject(error);
    }
    this.finishWith(outcome);
  }

  private startBidi(): void {
    this.queue = [];
    const sink = this.sink();
    const stream: BidiStream<unknown, unknown> = {
      send: sink.send,
      preEncoded: true,
      [Symbol.asyncIterator]: () => this.incoming(),
    };
    let outcome: Promise<void>;
    try {
      outcome = (this.route.method as AnyBidi)(stream, this);
    } catch (error) {
      outcome = Promise.reject(error);
    }
    this.finishWith(outcome);
  }

  private finishWith(outcome: Promise<void>): void {
    outcome.then(
      () => this.end({ grpcCode: GrpcCode.OK, message: 'OK' }),
      (error: unknown) => this.fail(statusOf(error)),
    );
  }

  // ---------------------------------------------------------------- bidi input

  private pushIncoming(body: Buffer): void {
    const queue = this.queue as unknown[];
    let message: unknown;
    try {
      message = this.route.decode(body);
    } catch (error) {
      message = new Undecodable(undecodable(error));
    }
    queue.push(message);
    if (queue.length >= INCOMING_QUEUE_HIGH_WATER) this.stream.pause();
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async *incoming(): AsyncGenerator<unknown> {
    const queue = this.queue as unknown[];
    for (;;) {
      if (queue.length > 0) {
        const message = queue.shift();
        if (queue.length < INCOMING_QUEUE_HIGH_WATER / 2 && this.stream.isPaused()) this.stream.resume();
        if (message instanceof Undecodable) throw message.status;
        yield message;
      } else if (this.halfClosed || this.cancelled || this.finished) {
        return;
      } else {
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    }
  }

  // ---------------------------------------------------------------- sending

  /** The response as one gRPC message frame: flag byte, u32 length, protobuf bytes. */
  private encode(response: unknown): Buffer {
    let frame: Buffer;
    if (Buffer.isBuffer(response)) {
      // Already encoded by the service (watch fan-out shares event bytes among watchers).
      frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + response.length);
      response.copy(frame, FRAME_HEADER_BYTES);
    } else {
      // Written after a reserved frame header in the shared writer, then copied out once.
      const w = sharedWriter;
      w.reset();
      w.ensure(FRAME_HEADER_BYTES);
      w.pos = FRAME_HEADER_BYTES;
      this.route.write(w, response);
      frame = Buffer.allocUnsafe(w.pos);
      w.buf.copy(frame, 0, 0, w.pos);
    }
    frame[0] = 0;
    frame.writeUInt32BE(frame.length - FRAME_HEADER_BYTES, 1);
    return frame;
  }

  private answer(response: unknown): void {
    if (this.finished) return;
    let frame: Buffer;
    try {
      frame = this.encode(response);
    } catch (error) {
      this.fail(unencodable(error));
      return;
    }
    this.finished = true;
    this.clearDeadline();
    const stream = this.stream;
    if (!stream.destroyed && !stream.closed) {
      try {
        stream.respond(RESPONSE_HEADERS, RESPOND_WITH_TRAILERS);
        stream.on('wantTrailers', sendOkTrailers);
        stream.end(frame);
      } catch {
        // The peer reset the stream between the check and the write: nobody is left to answer.
        stream.destroy();
      }
    }
    // grpc-js reports every ended call as cancelled to its handler; a signal taken is aborted too.
    this.cancel();
  }

  private sink(): ResponseSink<unknown> {
    return { send: (response: unknown) => this.send(response) };
  }

  private send(response: unknown): Promise<void> {
    const stream = this.stream;
    if (this.finished || this.cancelled || stream.destroyed) return Promise.reject(cancelledError());
    let frame: Buffer;
    try {
      frame = this.encode(response);
    } catch (error) {
      return Promise.reject(unencodable(error));
    }
    try {
      if (!this.headersSent) {
        this.headersSent = true;
        stream.respond(RESPONSE_HEADERS, RESPOND_WITH_TRAILERS);
      }
      stream.write(frame);
    } catch {
      stream.destroy();
      return Promise.reject(cancelledError());
    }
    if (stream.writableLength < SEND_QUEUE_HIGH_WATER_BYTES) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiters = (this.drainWaiters ??= []);
      const onCancel = (): void => {
        stream.off('drain', onDrain);
        reject(cancelledError());
      };
      const onDrain = (): void => {
        const at = waiters.indexOf(onCancel);
        if (at >= 0) waiters.splice(at, 1);
        resolve();
      };
      waiters.push(onCancel);
      stream.once('drain', onDrain);
    });
  }

  /** Ends the call with a status (OK after a stream, or an error). */
  private end(status: GrpcStatusError): void {
    if (this.finished) return;
    this.finished = true;
    this.clearDeadline();
    const stream = this.stream;
    if (!stream.destroyed && !stream.closed) {
      const trailers = status.grpcCode === GrpcCode.OK ? OK_TRAILERS : statusHeaders(status);
      try {
        if (this.headersSent) {
          stream.once('wantTrailers', () => stream.sendTrailers(trailers));
          stream.end();
        } else {
          // Trailers-only, as grpc-js answers a call that ends before its first message.
          stream.respond({ ...trailers, [HTTP2_HEADER_STATUS]: 200, [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto' }, RESPOND_AND_END);
        }
      } catch {
        stream.destroy();
      }
    }
    // The rest of the request is not needed; the handler sees the call as over.
    this.cancel();
  }

  private fail(status: GrpcStatusError): void {
    this.end(status);
  }

  private clearDeadline(): void {
    if (this.deadlineTimer === undefined) return;
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
  }
}

class Undecodable {
  constructor(readonly status: GrpcStatusError) {}
}

function unencodable(error: unknown): GrpcStatusError {
  const reason = error instanceof Error ? error.message : String(error);
  return { grpcCode: GrpcCode.INTERNAL, message: `cannot encode response: ${reason}` };
}

function statusHeaders(status: GrpcStatusError): http2.OutgoingHttpHeaders {
  return { 'grpc-status': String(status.grpcCode), 'grpc-message': encodeURI(status.message) };
}

function verifiedCertificate(socket: Socket | TLSSocket | undefined): PeerCertificate | undefined {
  // A certificate counts only once the handshake verified it (socket.authorized), as in grpc-js.
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const certificate = socket.getPeerCertificate();
  return certificate.raw ? certificate : undefined;
}

function routesOf(services: EtcdServices): Map<string, Route> {
  const routes = new Map<string, Route>();
  for (const descriptor of Object.values(RPCS) as RpcDescriptor[]) {
    const key: RpcKey = descriptor.key;
    const method = (services[key] as (...args: never[]) => Promise<unknown>).bind(services);
    const kind = isUnaryRpcKey(key) ? Kind.Unary : descriptor.requestStream ? Kind.Bidi : Kind.ServerStream;
    routes.set(descriptor.path, {
      descriptor,
      kind,
      method,
      decode: descriptor.decodeRequest as (bytes: Uint8Array) => unknown,
      write: descriptor.writeResponse as (w: Writer, message: unknown) => void,
    });
  }
  return routes;
}

/** The sessions, listeners and routes behind a GrpcServer. */
export class H2Server {
  private readonly routes: Map<string, Route>;
  private readonly h2: http2.Http2Server;
  private readonly listeners: NetServer[] = [];
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly peers = new WeakMap<http2.Http2Session, string>();
  private closing: Promise<void> | undefined = undefined;

  constructor(
    services: EtcdServices,
    readonly options: H2ServerOptions,
  ) {
    this.routes = routesOf(services);
    this.h2 = http2.createServer({ maxSessionMemory: Number.MAX_SAFE_INTEGER, maxSendHeaderBlockLength: Number.MAX_SAFE_INTEGER });
    this.h2.on('session', (session) => this.onSession(session));
    this.h2.on('stream', (stream, headers) => this.onStream(stream, headers));
  }

  /** The remote address of a session, formatted once per connection rather than per call. */
  peerOf(session: http2.Http2Session | undefined): string {
    if (session === undefined) return 'unknown';
    let peer = this.peers.get(session);
    if (peer === undefined) {
      peer = peerOf(session);
      this.peers.set(session, peer);
    }
    return peer;
  }

  injectConnection(connection: Duplex): void {
    if (this.closing !== undefined) {
      connection.destroy();
      return;
    }
    this.h2.emit('connection', connection);
  }

  listen(address: string): Promise<number> {
    const server = createNetServer({ noDelay: true }, (socket) => this.injectConnection(socket));
    this.listeners.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      const done = (): void => {
        server.off('error', reject);
        const a = server.address();
        resolve(typeof a === 'object' && a !== null ? a.port : 0);
      };
      if (address.startsWith('unix:')) server.listen(address.slice('unix:'.length), done);
      else {
        const colon = address.lastIndexOf(':');
        server.listen(Number(address.slice(colon + 1)), address.slice(0, colon).replace(/^\[|\]$/g, ''), done);
      }
    });
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const stopped = this.listeners.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    const drained = [...this.sessions].map((session) => new Promise<void>((resolve) => {
      if (session.closed || session.destroyed) resolve();
      else {
        session.once('close', () => resolve());
        // GOAWAY: running calls finish, new ones go elsewhere.
        session.close();
      }
    }));
    const force = setTimeout(() => {
      for (const session of this.sessions) session.destroy(undefined, NGHTTP2_CANCEL);
    }, this.options.closeGraceMs);
    await Promise.all([...stopped, ...drained]);
    clearTimeout(force);
  }

  private onSession(session: http2.ServerHttp2Session): void {
    if (this.closing !== undefined) {
      session.destroy();
      return;
    }
    this.sessions.add(session);
    session.on('error', ignoreError);
    session.once('close', () => this.sessions.delete(session));
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', ignoreError);
    const contentType = headers[HTTP2_HEADER_CONTENT_TYPE];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      stream.respond({ [HTTP2_HEADER_STATUS]: http2.constants.HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE }, { endStream: true });
      return;
    }
    const path = String(headers[HTTP2_HEADER_PATH]);
    const route = this.routes.get(path);
    if (route === undefined) {
      const trailers = statusHeaders({ grpcCode: GrpcCode.UNIMPLEMENTED, message: `The server does not implement the method ${path}` });
      stream.respond({ ...trailers, [HTTP2_HEADER_STATUS]: 200, [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto' }, RESPOND_AND_END);
      return;
    }
    new H2Call(stream, headers, route, this);
  }
}

/** What server.ts's GrpcServer promises (declared here too: server.ts imports this file). */
export interface H2GrpcServer {
  listen(url: string): Promise<number>;
  close(): Promise<void>;
  injectConnection(connection: Duplex): void;
}

/** A GrpcServer (see server.ts) over H2Server. */
export function createH2GrpcServer(services: EtcdServices, options: H2ServerOptions): H2GrpcServer {
  const server = new H2Server(services, options);
  return {
    injectConnection: (connection: Duplex): void => server.injectConnection(connection),
    listen: (url: string): Promise<number> => {
      const address = parseListenUrl(url);
      return server.listen(address).catch((error: unknown) => {
        throw new Error(`cannot listen on ${url}: ${error instanceof Error ? error.message : String(error)}`);
      });
    },
    close: (): Promise<void> => server.close(),
  };
}
