/**
 * The gRPC front door: exposes an EtcdServices implementation as etcd's v3 gRPC API
 * (etcdserverpb KV/Watch/Lease/Cluster/Maintenance/Auth, v3lockpb Lock, v3electionpb Election)
 * with the generated static codecs. Requests are decoded before a handler runs; a request that
 * does not decode ends its call with INTERNAL "grpc: error unmarshalling request: <why>", as
 * Go's gRPC server does, and never reaches the service. Responses are encoded here too, so an
 * unencodable response becomes an INTERNAL status instead of an exception inside grpc-js.
 */
import type { Duplex } from 'node:stream';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { RPCS } from './generated/services.js';
import type { RpcDescriptor, RpcKey } from './generated/services.js';
import { GrpcCode, isGrpcStatusError, isUnaryRpcKey } from './services.js';
import type { BidiStream, CallContext, EtcdServices, GrpcStatusError, ResponseSink } from './services.js';
import { commonNameOf } from './tls.js';
import { createH2GrpcServer } from './h2-server.js';
import { parseListenUrl } from './listen-url.js';

export { parseListenUrl };

export interface GrpcServerOptions {
  /**
   * Largest request accepted, in bytes. etcd allows 1.5 MiB of request plus 512 KiB of gRPC
   * overhead; the same 2 MiB is the default here.
   */
  readonly maxReceiveMessageBytes?: number;
  /** How long close() lets calls finish before cancelling them. Default 1000 ms. */
  readonly closeGraceMs?: number;
  /**
   * --client-cert-auth: a TLS call's verified client certificate CN reaches the services as
   * CallContext.certCommonName (the user under auth). Off: never, even when a trusted CA made
   * the client present one, as in etcd. Default false.
   */
  readonly clientCertAuth?: boolean;
  /**
   * Which server runs the calls: 'http2' (default) is h2-server.ts, written on node:http2 for a
   * cheaper request path; 'grpc-js' is @grpc/grpc-js's server, kept as a reference and fallback.
   */
  readonly implementation?: 'http2' | 'grpc-js';
}

export interface GrpcServer {
  /**
   * Starts serving on a URL: "http://host:port", "host:port" or "unix:path" ("unix://path").
   * Port 0 picks a free port. Resolves with the bound port (0 for unix sockets). May be called
   * more than once to serve several URLs.
   */
  listen(url: string): Promise<number>;
  /** Stops accepting calls, lets running ones finish for closeGraceMs, then cancels the rest. */
  close(): Promise<void>;
  /**
   * Serves gRPC on a connection accepted elsewhere (an HTTP/2 cleartext stream whose preface
   * has not been consumed): lets one port carry both gRPC and the HTTP/JSON gateway
   * (see gateway-front.ts). close() ends injected connections too.
   */
  injectConnection(connection: Duplex): void;
}

const DEFAULT_MAX_RECEIVE_BYTES = 2 * 1024 * 1024;
const INCOMING_QUEUE_HIGH_WATER = 64;
const SEND_QUEUE_HIGH_WATER = 256;

/** What a deserializer hands over instead of throwing, so the handler can answer precisely. */
class UndecodableRequest {
  constructor(readonly reason: string) {}
}

function statusOf(error: unknown): { code: number; details: string } {
  if (isGrpcStatusError(error)) return { code: error.grpcCode, details: error.message };
  const details = error instanceof Error ? error.message : String(error);
  return { code: GrpcCode.UNKNOWN, details };
}

function undecodable(request: UndecodableRequest): GrpcStatusError {
  return { grpcCode: GrpcCode.INTERNAL, message: `grpc: error unmarshalling request: ${request.reason}` };
}

function cancelledError(): GrpcStatusError {
  return { grpcCode: GrpcCode.CANCELLED, message: 'context canceled' };
}

interface CallLike {
  readonly metadata: grpc.Metadata;
  readonly cancelled: boolean;
  getPeer(): string;
  getAuthContext(): { sslPeerCertificate?: PeerCertificate };
  on(event: 'cancelled', listener: () => void): unknown;
}

function firstMetadata(metadata: grpc.Metadata, name: string): string | undefined {
  const value = metadata.get(name)[0];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : value.toString('utf8');
}

/**
 * A call's CallContext. A class rather than an object literal of closures: it is built for every
 * request, and most calls never look at the signal or the certificate, so those are computed on
 * first use, with no per-call closures.
 */
class GrpcCallContext implements CallContext {
  readonly authToken: string | undefined;
  readonly requireLeader: boolean;
  /** Read at once: grpc-js can only tell it while the call's stream is open. */
  readonly peer: string;
  private controller: AbortController | undefined;

  constructor(
    private readonly call: CallLike,
    private readonly clientCertAuth: boolean,
  ) {
    this.authToken = firstMetadata(call.metadata, 'token') ?? firstMetadata(call.metadata, 'authorization');
    this.requireLeader = firstMetadata(call.metadata, 'hasleader') === 'true';
    this.peer = call.getPeer();
  }

  // grpc-js reports a certificate only once the handshake verified it (socket.authorized).
  get certCommonName(): string | undefined {
    return this.clientCertAuth ? commonNameOf(this.call.getAuthContext().sslPeerCertificate) : undefined;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      const c = new AbortController();
      this.controller = c;
      if (this.call.cancelled) c.abort();
      else this.call.on('cancelled', () => c.abort());
    }
    return this.controller.signal;
  }

  metadata(name: string): string | undefined {
    return firstMetadata(this.call.metadata, name.toLowerCase());
  }
}

function makeContext(call: CallLike, clientCertAuth: boolean): CallContext {
  return new GrpcCallContext(call, clientCertAuth);
}

function encodeResponse(descriptor: RpcDescriptor, response: unknown): Buffer {
  // Already encoded by the service (watch fan-out shares event bytes among watchers): no protobuf
  // message object is ever a Buffer, so this cannot mistake one.
  if (Buffer.isBuffer(response)) return response;
  try {
    return (descriptor.encodeResponse as (m: unknown) => Buffer)(response);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const status: GrpcStatusError = { grpcCode: GrpcCode.INTERNAL, message: `cannot encode response: ${reason}` };
    throw status;
  }
}

type AnyUnary = (request: unknown, ctx: CallContext) => Promise<unknown>;
type AnyServerStream = (request: unknown, out: ResponseSink<unknown>, ctx: CallContext) => Promise<void>;
type AnyBidi = (stream: BidiStream<unknown, unknown>, ctx: CallContext) => Promise<void>;

/** Builds a call's CallContext (bound to the server's options). */
type ContextOf = (call: CallLike) => CallContext;

function unaryHandler(descriptor: RpcDescriptor, method: AnyUnary, contextOf: ContextOf): grpc.handleUnaryCall<unknown, Buffer> {
  return (call, callback) => {
    const request = call.request;
    if (request instanceof UndecodableRequest) {
      callback(statusOf(undecodable(request)));
      return;
    }
    let pending: Promise<unknown>;
    try {
      pending = method(request, contextOf(call));
    } catch (error) {
      callback(statusOf(error));
      return;
    }
    pending.then(
      (response) => {
        let bytes: Buffer;
        try {
          bytes = encodeResponse(descriptor, response);
        } catch (error) {
          callback(statusOf(error));
          return;
        }
        callback(null, bytes);
      },
      (error: unknown) => callback(statusOf(error)),
    );
  };
}

/** Sends encoded responses on a writable call, resolving when the transport wants more. */
function makeSink(
  descriptor: RpcDescriptor,
  call: grpc.ServerWritableStream<unknown, Buffer> | grpc.ServerDuplexStream<unknown, Buffer>,
): ResponseSink<unknown> {
  return {
    send(response: unknown): Promise<void> {
      if (call.cancelled || call.writableEnded) return Promise.reject(cancelledError());
      let bytes: Buffer;
      try {
        bytes = encodeResponse(descriptor, response);
      } catch (error) {
        return Promise.reject(error);
      }
      call.write(bytes);
      // grpc-js completes one message per socket write; waiting for 'drain' at its default
      // 16-message mark would cap a stream near 5k messages/s, so allow a deeper queue.
      if (call.writableLength < SEND_QUEUE_HIGH_WATER) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          call.off('cancelled', onCancel);
          resolve();
        };
        const onCancel = (): void => {
          call.off('drain', onDrain);
          reject(cancelledError());
        };
        call.once('drain', onDrain);
        call.once('cancelled', onCancel);
      });
    },
  };
}

/** Ends a streaming call with the outcome of its hook. */
function finishStream(
  call: grpc.ServerWritableStream<unknown, Buffer> | grpc.ServerDuplexStream<unknown, Buffer>,
  outcome: Promise<void>,
): void {
  outcome.then(
    () => {
      if (!call.cancelled && !call.writableEnded) call.end();
    },
    (error: unknown) => {
      if (call.cancelled || call.writableEnded) return;
      // grpc-js turns an 'error' event on a server stream into the call's final status.
      call.emit('error', statusOf(error));
    },
  );
}

function serverStreamHandler(
  descriptor: RpcDescriptor,
  method: AnyServerStream,
  contextOf: ContextOf,
): grpc.handleServerStreamingCall<unknown, Buffer> {
  return (call) => {
    const request = call.request;
    let outcome: Promise<void>;
    if (request instanceof UndecodableRequest) outcome = Promise.reject(undecodable(request));
    else {
      try {
        outcome = method(request, makeSink(descriptor, call), contextOf(call));
      } catch (error) {
        outcome = Promise.reject(error);
      }
    }
    finishStream(call, outcome);
  };
}

/** The client's messages as an async iterable, pausing the transport when the hook falls behind. */
function incoming(call: grpc.ServerDuplexStream<unknown, Buffer>): AsyncIterable<unknown> {
  const queue: unknown[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  call.on('data', (message: unknown) => {
    queue.push(message);
    if (queue.length >= INCOMING_QUEUE_HIGH_WATER) call.pause();
    notify();
  });
  const stop = (): void => {
    ended = true;
    notify();
  };
  call.on('end', stop);
  call.on('cancelled', stop);
  call.on('close', stop);
  return {
    async *[Symbol.asyncIterator](): AsyncIterator<unknown> {
      for (;;) {
        if (queue.length > 0) {
          const message = queue.shift();
          if (queue.length < INCOMING_QUEUE_HIGH_WATER / 2 && call.isPaused()) call.resume();
          if (message instanceof UndecodableRequest) throw undecodable(message);
          yield message;
        } else if (ended || call.cancelled) {
          return;
        } else {
          await new Promise<void>((resolve) => (wake = resolve));
        }
      }
    },
  };
}

function bidiHandler(descriptor: RpcDescriptor, method: AnyBidi, contextOf: ContextOf): grpc.handleBidiStreamingCall<unknown, Buffer> {
  return (call) => {
    const sink = makeSink(descriptor, call);
    const stream: BidiStream<unknown, unknown> = {
      send: sink.send,
      preEncoded: true,
      [Symbol.asyncIterator]: incoming(call)[Symbol.asyncIterator],
    };
    let outcome: Promise<void>;
    try {
      outcome = method(stream, contextOf(call));
    } catch (error) {
      outcome = Promise.reject(error);
    }
    finishStream(call, outcome);
  };
}

function methodDefinition(descriptor: RpcDescriptor): grpc.MethodDefinition<unknown, Buffer> {
  const decode = descriptor.decodeRequest as (bytes: Uint8Array) => unknown;
  return {
    path: descriptor.path,
    requestStream: descriptor.requestStream,
    responseStream: descriptor.responseStream,
    originalName: descriptor.key,
    requestDeserialize: (bytes: Buffer): unknown => {
      try {
        return decode(bytes);
      } catch (error) {
        return new UndecodableRequest(error instanceof Error ? error.message : String(error));
      }
    },
    // Responses are encoded by the handlers above; grpc-js only passes the bytes along.
    responseSerialize: (bytes: Buffer): Buffer => bytes,
    requestSerialize: (): Buffer => {
      throw new Error('server-side definition: requests are never serialized here');
    },
    responseDeserialize: (bytes: Buffer): Buffer => bytes,
  };
}

function handlerFor(descriptor: RpcDescriptor, services: EtcdServices, contextOf: ContextOf): grpc.UntypedHandleCall {
  const key: RpcKey = descriptor.key;
  const method = (services[key] as (...args: never[]) => unknown).bind(services);
  if (isUnaryRpcKey(key)) return unaryHandler(descriptor, method as unknown as AnyUnary, contextOf);
  if (descriptor.requestStream) return bidiHandler(descriptor, method as unknown as AnyBidi, contextOf);
  return serverStreamHandler(descriptor, method as unknown as AnyServerStream, contextOf);
}

/** Groups the RPC table by service, in the shape grpc-js's addService wants. */
function serviceDefinitions(services: EtcdServices, contextOf: ContextOf): Map<string, [grpc.ServiceDefinition, grpc.UntypedServiceImplementation]> {
  const byService = new Map<string, [grpc.ServiceDefinition, grpc.UntypedServiceImplementation]>();
  for (const descriptor of Object.values(RPCS) as RpcDescriptor[]) {
    let entry = byService.get(descriptor.service);
    if (entry === undefined) byService.set(descriptor.service, (entry = [{}, {}]));
    const [definition, implementation] = entry;
    (definition as Record<string, grpc.MethodDefinition<unknown, Buffer>>)[descriptor.method] = methodDefinition(descriptor);
    implementation[descriptor.method] = handlerFor(descriptor, services, contextOf);
  }
  return byService;
}

export function createGrpcServer(services: EtcdServices, options: GrpcServerOptions = {}): GrpcServer {
  if (options.implementation !== 'grpc-js') {
    return createH2GrpcServer(services, {
      maxReceiveMessageBytes: options.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_BYTES,
      closeGraceMs: options.closeGraceMs ?? 1000,
      clientCertAuth: options.clientCertAuth === true,
    });
  }
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_BYTES,
    'grpc.max_send_message_length': -1,
  });
  const clientCertAuth = options.clientCertAuth === true;
  const contextOf: ContextOf = (call) => makeContext(call, clientCertAuth);
  for (const [definition, implementation] of serviceDefinitions(services, contextOf).values()) {
    server.addService(definition, implementation);
  }
  const closeGraceMs = options.closeGraceMs ?? 1000;
  let closing: Promise<void> | undefined;
  let injector: grpc.ConnectionInjector | undefined;
  return {
    injectConnection(connection: Duplex): void {
      injector ??= server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
      injector.injectConnection(connection);
    },
    listen(url: string): Promise<number> {
      const address = parseListenUrl(url);
      return new Promise((resolve, reject) => {
        server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, port) => {
          if (error) reject(new Error(`cannot listen on ${url}: ${error.message}`));
          else resolve(port);
        });
      });
    },
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), closeGraceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return closing;
    },
  };
}
