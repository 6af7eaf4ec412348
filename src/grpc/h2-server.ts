/**
 * The client-facing gRPC server, written on tsetcd's own HTTP/2 transport (h2wire/), without
 * grpc-js's server or node:http2.
 *
 * Why: on the put path grpc-js's server cost about as much CPU as the rest of the request
 * (interceptor chain, a Metadata copy of the headers, channelz counters, an EventEmitter per
 * call, a second copy of every response to frame it); node:http2 alone was still a fifth of it
 * (an nghttp2 stream and a Duplex per call). Here a call is one object: the request's DATA chunk
 * is decoded where it lies, the response is framed in one buffer, and the headers and trailers
 * are constant field lists.
 *
 * What a grpc-js client or Go's clientv3 sees is the same as from grpc-js's server: status codes
 * and messages (grpc-js's own texts for transport errors, percent-encoded as grpc-js does),
 * trailers-only responses for errors before the first message, grpc-timeout deadlines,
 * gzip/deflate request messages, the max receive size, GOAWAY on close then a forced cancel
 * after the grace period. Not implemented (grpc-js's server does not use them here either):
 * response compression, channelz, server-side keepalive pings, max connection age.
 */
import { createServer as createNetServer } from 'node:net';
import type { Server as NetServer } from 'node:net';
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
import { H2Connection, STREAM_DRAIN_BYTES } from './h2wire/index.js';
import type { WireStream } from './h2wire/index.js';
import type { StreamHandler } from './h2wire/index.js';

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
/** Bytes queued on a stream before send() waits for it to drain (watch fan-out writes many small messages). */
const SEND_QUEUE_HIGH_WATER_BYTES = STREAM_DRAIN_BYTES;
const FRAME_HEADER_BYTES = 5;

/** Request headers by name (the first value of a repeated name), as the transport decoded them. */
type RequestHeaders = Record<string, string>;

// Constant field lists ([name, value, ...]): the encoder indexes them, so after a connection's
// first call each field costs one byte. The same fields as etcd 3.4 (grpc-go) sends: a client
// parses every one of them on every call.
const RESPONSE_HEADERS: readonly string[] = [':status', '200', 'content-type', 'application/grpc'];
const OK_TRAILERS: readonly string[] = ['grpc-status', '0', 'grpc-message', ''];
const TRAILERS_ONLY_HEADERS: readonly string[] = RESPONSE_HEADERS;

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

/** Header values arrive as latin1 (one char per octet); metadata is UTF-8, as node decodes it. */
const NON_ASCII = /[\x80-\xff]/;

function headersOf(fields: readonly string[]): RequestHeaders {
  const headers: RequestHeaders = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] as string;
    if (headers[name] !== undefined) continue;
    const value = fields[i + 1] as string;
    headers[name] = NON_ASCII.test(value) ? Buffer.from(value, 'latin1').toString('utf8') : value;
  }
  return headers;
}

function firstHeader(headers: RequestHeaders, name: string): string | undefined {
  const first = headers[name];
  if (first === undefined) return undefined;
  // Binary metadata travels base64-encoded; grpc-js hands it over decoded.
  return name.endsWith('-bin') ? Buffer.from(first, 'base64').toString('utf8') : first;
}

function peerOf(socket: Duplex): string {
  const { remoteAddress, remotePort } = socket as Duplex & { remoteAddress?: string; remotePort?: number };
  if (remoteAddress === undefined) return 'unknown';
  return remotePort ? `${remoteAddress}:${remotePort}` : remoteAddress;
}

/** One call: its stream, its request bytes, its status. Also its CallContext. */
class H2Call implements CallContext, StreamHandler {
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
  /** Sends waiting for the stream's queue to drain, rejected if the call ends first. */
  private drainWaiters: Array<{ resolve: () => void; reject: (error: GrpcStatusError) => void }> | undefined = undefined;
  /** Bidi only: decoded messages the hook has not taken yet, and a waiting reader. */
  private queue: unknown[] | undefined = undefined;
  private wake: (() => void) | undefined = undefined;
  private halfClosed = false;

  constructor(
    private readonly stream: WireStream,
    private readonly headers: RequestHeaders,
    private readonly route: Route,
    private readonly server: H2Server,
  ) {
    this.authToken = firstHeader(headers, 'token') ?? firstHeader(headers, 'authorization');
    this.requireLeader = headers['hasleader'] === 'true';
    this.peer = server.peerOf(stream.connection as H2Connection);
    stream.handler = this;
    const timeout = headers['grpc-timeout'];
    if (timeout !== undefined) this.startDeadline(timeout);
    if (route.kind === Kind.Bidi) this.startBidi();
  }

  // ---------------------------------------------------------------- CallContext

  get certCommonName(): string | undefined {
    if (!this.server.options.clientCertAuth) return undefined;
    return commonNameOf(verifiedCertificate(this.stream.connection.socket));
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
    const encoding = this.headers['grpc-encoding'] ?? 'identity';
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
    if (waiters !== undefined) for (const waiter of waiters) waiter.reject(cancelledError());
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
        if (queue.length < INCOMING_QUEUE_HIGH_WATER / 2 && this.stream.paused) this.stream.resume();
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
    this.stream.respond(RESPONSE_HEADERS, frame, OK_TRAILERS);
    // grpc-js reports every ended call as cancelled to its handler; a signal taken is aborted too.
    this.cancel();
  }

  private sink(): ResponseSink<unknown> {
    return { send: (response: unknown) => this.send(response) };
  }

  private send(response: unknown): Promise<void> {
    const stream = this.stream;
    if (this.finished || this.cancelled || stream.closed) return Promise.reject(cancelledError());
    let frame: Buffer;
    try {
      frame = this.encode(response);
    } catch (error) {
      return Promise.reject(unencodable(error));
    }
    if (!this.headersSent) {
      this.headersSent = true;
      stream.sendHeaders(RESPONSE_HEADERS);
    }
    stream.sendData(frame);
    if (stream.queuedBytes < SEND_QUEUE_HIGH_WATER_BYTES) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      (this.drainWaiters ??= []).push({ resolve, reject });
      stream.drainWaiter = () => this.drained();
    });
  }

  private drained(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = undefined;
    for (const waiter of waiters ?? []) waiter.resolve();
  }

  /** Ends the call with a status (OK after a stream, or an error). */
  private end(status: GrpcStatusError): void {
    if (this.finished) return;
    this.finished = true;
    this.clearDeadline();
    const trailers = status.grpcCode === GrpcCode.OK ? OK_TRAILERS : statusFields(status);
    // Trailers-only when nothing was sent yet, as grpc-js answers a call that ends before its first message.
    if (this.headersSent) this.stream.sendTrailers(trailers);
    else this.stream.sendHeadersAndEnd([...TRAILERS_ONLY_HEADERS, ...trailers]);
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

function statusFields(status: GrpcStatusError): string[] {
  return ['grpc-status', String(status.grpcCode), 'grpc-message', encodeURI(status.message)];
}

function verifiedCertificate(socket: Duplex): PeerCertificate | undefined {
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

/** The connections, listeners and routes behind a GrpcServer. */
export class H2Server {
  private readonly routes: Map<string, Route>;
  private readonly listeners: NetServer[] = [];
  private readonly connections = new Set<H2Connection>();
  private readonly peers = new WeakMap<H2Connection, string>();
  private closing: Promise<void> | undefined = undefined;
  private readonly connectionOptions = {
    onStream: (stream: WireStream, fields: string[]): void => this.onStream(stream, fields),
    onClose: (connection: H2Connection): void => {
      this.connections.delete(connection);
      this.connectionsGone?.();
    },
  };
  private connectionsGone: (() => void) | undefined = undefined;

  constructor(
    services: EtcdServices,
    readonly options: H2ServerOptions,
  ) {
    this.routes = routesOf(services);
  }

  /** The remote address of a connection, formatted once per connection rather than per call. */
  peerOf(connection: H2Connection): string {
    let peer = this.peers.get(connection);
    if (peer === undefined) {
      peer = peerOf(connection.socket);
      this.peers.set(connection, peer);
    }
    return peer;
  }

  /** A connection whose client preface may already sit in the socket's buffer (see gateway-front.ts). */
  injectConnection(connection: Duplex): void {
    if (this.closing !== undefined) {
      connection.destroy();
      return;
    }
    this.connections.add(new H2Connection(connection, this.connectionOptions));
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
    const drained = new Promise<void>((resolve) => {
      this.connectionsGone = (): void => {
        if (this.connections.size === 0) resolve();
      };
      this.connectionsGone();
    });
    // GOAWAY: running calls finish, new ones go elsewhere.
    for (const connection of this.connections) connection.goAway();
    const force = setTimeout(() => {
      for (const connection of this.connections) connection.destroy();
    }, this.options.closeGraceMs);
    await Promise.all([...stopped, drained]);
    clearTimeout(force);
  }

  private onStream(stream: WireStream, fields: string[]): void {
    const headers = headersOf(fields);
    const contentType = headers['content-type'];
    if (contentType === undefined || !contentType.startsWith('application/grpc')) {
      stream.sendHeadersAndEnd([':status', '415']);
      return;
    }
    const path = headers[':path'] ?? '';
    const route = this.routes.get(path);
    if (route === undefined) {
      const trailers = statusFields({ grpcCode: GrpcCode.UNIMPLEMENTED, message: `The server does not implement the method ${path}` });
      stream.sendHeadersAndEnd([...TRAILERS_ONLY_HEADERS, ...trailers]);
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
