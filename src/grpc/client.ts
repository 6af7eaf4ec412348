/**
 * A typed etcd v3 gRPC client over the same generated codecs: for tsetcdctl, the Jepsen-style
 * harness on real processes and tests. Every failure is a GrpcStatusError ({ grpcCode,
 * message }), the same shape the server side throws, so callers classify errors one way
 * (e.g. UNAVAILABLE or DEADLINE_EXCEEDED: the operation may or may not have happened).
 */
import * as grpc from '@grpc/grpc-js';
import { RPCS } from './generated/services.js';
import type { RpcDescriptor, RpcTypes } from './generated/services.js';
import { GrpcCode } from './services.js';
import type { BidiRpcKey, GrpcStatusError, ServerStreamRpcKey, UnaryRpcKey } from './services.js';
import { parseListenUrl } from './server.js';
import { isTlsUrl, withoutTlsScheme } from './tls.js';
import type { ClientTls } from './tls.js';

export interface ClientCallOptions {
  /** Sent as metadata "token", as etcd clients do after Authenticate. */
  readonly token?: string;
  /** Sent as metadata hasleader=true: fail rather than wait when the member has no leader. */
  readonly requireLeader?: boolean;
  /** Relative deadline; the call fails with DEADLINE_EXCEEDED when it passes. */
  readonly deadlineMs?: number;
  /** Aborting cancels the call (CANCELLED). */
  readonly signal?: AbortSignal;
}

export interface ClientOptions {
  /** A private connection instead of grpc-js's process-wide shared one (load generators). */
  readonly ownConnection?: boolean;
  /**
   * Dial with TLS (CA to verify the server, client certificate, skip verification). An
   * https:// or unixs: target dials with TLS even without this (default roots).
   */
  readonly tls?: ClientTls;
}

/** A bidirectional call: send requests, iterate responses; iteration throws the final error. */
export interface ClientBidiCall<Req, Res> extends AsyncIterable<Res> {
  send(request: Req): void;
  /** Half-close: no more requests; responses keep coming until the server ends the call. */
  end(): void;
  cancel(): void;
}

export interface ClientServerStreamCall<Res> extends AsyncIterable<Res> {
  cancel(): void;
}

export interface EtcdGrpcClient {
  unary<K extends UnaryRpcKey>(
    key: K,
    request: RpcTypes[K]['requestInit'],
    options?: ClientCallOptions,
  ): Promise<RpcTypes[K]['response']>;
  bidi<K extends BidiRpcKey>(
    key: K,
    options?: ClientCallOptions,
  ): ClientBidiCall<RpcTypes[K]['requestInit'], RpcTypes[K]['response']>;
  serverStream<K extends ServerStreamRpcKey>(
    key: K,
    request: RpcTypes[K]['requestInit'],
    options?: ClientCallOptions,
  ): ClientServerStreamCall<RpcTypes[K]['response']>;
  close(): void;
}

function toStatusError(error: unknown): GrpcStatusError {
  const e = error as Partial<grpc.ServiceError>;
  if (typeof e.code === 'number') return { grpcCode: e.code, message: e.details ?? '' };
  return { grpcCode: GrpcCode.UNKNOWN, message: error instanceof Error ? error.message : String(error) };
}

function metadataOf(options: ClientCallOptions): grpc.Metadata {
  const md = new grpc.Metadata();
  if (options.token !== undefined) md.set('token', options.token);
  if (options.requireLeader === true) md.set('hasleader', 'true');
  return md;
}

function callOptionsOf(options: ClientCallOptions): grpc.CallOptions {
  return options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
}

function wireSignal(signal: AbortSignal | undefined, call: { cancel(): void }): void {
  if (signal === undefined) return;
  if (signal.aborted) call.cancel();
  else signal.addEventListener('abort', () => call.cancel(), { once: true });
}

/**
 * Responses of a readable call as an async iterable. Messages are buffered (the iteration may
 * start late); the final non-OK status is thrown from the iteration as a GrpcStatusError.
 */
function responsesOf<Res>(call: grpc.ClientReadableStream<Res> | grpc.ClientDuplexStream<unknown, Res>): AsyncIterable<Res> {
  const queue: Res[] = [];
  let finalError: GrpcStatusError | undefined;
  let finished = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  call.on('data', (m: Res) => {
    queue.push(m);
    notify();
  });
  call.on('error', (e: unknown) => {
    finalError = toStatusError(e);
    finished = true;
    notify();
  });
  call.on('status', (s: grpc.StatusObject) => {
    if (s.code !== GrpcCode.OK) finalError ??= { grpcCode: s.code, message: s.details };
    finished = true;
    notify();
  });
  return {
    async *[Symbol.asyncIterator](): AsyncIterator<Res> {
      for (;;) {
        const next = queue.shift();
        if (next !== undefined) yield next;
        else if (finished) {
          if (finalError !== undefined) throw finalError;
          return;
        } else await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}

function credentialsOf(tls: ClientTls): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null, tls.skipVerify === true ? { rejectUnauthorized: false } : {});
}

/** target: "host:port", "http[s]://host:port" or "unix[s]:path". */
export function createGrpcClient(target: string, options: ClientOptions = {}): EtcdGrpcClient {
  const channelOptions: grpc.ChannelOptions = options.ownConnection === true ? { 'grpc.use_local_subchannel_pool': 1 } : {};
  const tls = options.tls ?? (isTlsUrl(target) ? {} : undefined);
  const credentials = tls === undefined ? grpc.credentials.createInsecure() : credentialsOf(tls);
  const client = new grpc.Client(parseListenUrl(withoutTlsScheme(target)), credentials, channelOptions);
  const codecs = (key: keyof RpcTypes): { d: RpcDescriptor; encode: (m: unknown) => Buffer; decode: (b: Buffer) => unknown } => {
    const d = RPCS[key] as unknown as RpcDescriptor;
    return { d, encode: d.encodeRequest as (m: unknown) => Buffer, decode: d.decodeResponse as (b: Buffer) => unknown };
  };
  return {
    unary(key, request, callOptions = {}) {
      const { d, encode, decode } = codecs(key);
      return new Promise((resolve, reject) => {
        const call = client.makeUnaryRequest(d.path, encode, decode, request, metadataOf(callOptions), callOptionsOf(callOptions),
          (error, response) => (error ? reject(toStatusError(error)) : resolve(response as never)));
        wireSignal(callOptions.signal, call);
      });
    },
    bidi(key, callOptions = {}) {
      const { d, encode, decode } = codecs(key);
      const call = client.makeBidiStreamRequest(d.path, encode, decode, metadataOf(callOptions), callOptionsOf(callOptions));
      wireSignal(callOptions.signal, call);
      const responses = responsesOf(call);
      return {
        send: (request) => void call.write(request),
        end: () => void call.end(),
        cancel: () => call.cancel(),
        [Symbol.asyncIterator]: () => responses[Symbol.asyncIterator](),
      } as ClientBidiCall<never, never>;
    },
    serverStream(key, request, callOptions = {}) {
      const { d, encode, decode } = codecs(key);
      const call = client.makeServerStreamRequest(d.path, encode, decode, request, metadataOf(callOptions), callOptionsOf(callOptions));
      wireSignal(callOptions.signal, call);
      const responses = responsesOf(call);
      return {
        cancel: () => call.cancel(),
        [Symbol.asyncIterator]: () => responses[Symbol.asyncIterator](),
      } as ClientServerStreamCall<never>;
    },
    close: () => client.close(),
  };
}
