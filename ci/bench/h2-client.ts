/**
 * The bench's default load-generator client: gRPC over node:http2 directly, with the generated
 * codecs, and none of grpc-js's per-call machinery (interceptors, call stacks, retry and
 * load-balancing layers, metadata objects). Measured on this 2-core machine against one tsetcd
 * member, a put cost a grpc-js generator ~0.3 ms of CPU and this client ~0.15 ms: with grpc-js
 * two generators took ~1.5 of the 2 cores and throughput measured the generators more than the
 * server. Unary and bidirectional calls only (what the workloads use); no TLS, no deadlines, no
 * reconnection (a bench run fails rather than retries). Same call shapes as EtcdGrpcClient, so a
 * workload runs unchanged on either (`--client-lib grpc-js` keeps the old generator).
 */
import http2 from 'node:http2';
import { RPCS } from '../../src/grpc/generated/services.js';
import type { RpcDescriptor } from '../../src/grpc/generated/services.js';
import { GrpcCode } from '../../src/grpc/index.js';
import type { ClientBidiCall, EtcdGrpcClient, GrpcStatusError } from '../../src/grpc/index.js';

export type BenchClient = Pick<EtcdGrpcClient, 'unary' | 'bidi' | 'close'>;

const { NGHTTP2_CANCEL } = http2.constants;

/** One gRPC message: 1 byte compressed flag (always 0 here), 4 bytes big-endian length, body. */
function frameMessage(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = 0;
  out.writeUInt32BE(body.length, 1);
  body.copy(out, 5);
  return out;
}

/** Splits a response byte stream into gRPC messages as chunks arrive. */
class MessageReader {
  private pending: Buffer | undefined;

  /** Calls `onMessage` for every complete message in what has arrived so far. */
  push(chunk: Buffer, onMessage: (body: Buffer) => void): void {
    let buf = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    while (buf.length >= 5) {
      const len = buf.readUInt32BE(1);
      if (buf.length < 5 + len) break;
      onMessage(buf.subarray(5, 5 + len));
      buf = buf.subarray(5 + len);
    }
    if (buf.length > 0) this.pending = buf;
  }
}

function decodeGrpcMessage(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The call's status from trailers (or from the headers of a trailers-only answer). */
function statusOf(headers: http2.IncomingHttpHeaders | undefined): GrpcStatusError | undefined {
  const code = headers?.['grpc-status'];
  if (code === undefined) return undefined;
  const message = headers?.['grpc-message'];
  return { grpcCode: Number(code), message: typeof message === 'string' ? decodeGrpcMessage(message) : '' };
}

const unavailable = (why: string): GrpcStatusError => ({ grpcCode: GrpcCode.UNAVAILABLE, message: why });

/** A response that does not decode fails its call (INTERNAL, as grpc-js reports it) instead of throwing from an event handler. */
const undecodable = (e: unknown): GrpcStatusError => ({ grpcCode: GrpcCode.INTERNAL, message: `response does not decode: ${e instanceof Error ? e.message : String(e)}` });

function requestHeaders(path: string): http2.OutgoingHttpHeaders {
  return { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' };
}

/** target: "host:port" (plain text). */
export function createH2BenchClient(target: string): BenchClient {
  const session = http2.connect(`http://${target}`);
  // Without a listener a refused connection would throw from the session; calls report it instead.
  let sessionError: Error | undefined;
  session.on('error', (e: Error) => (sessionError = e));

  return {
    unary(key, request) {
      const d = RPCS[key] as unknown as RpcDescriptor;
      return new Promise((resolve, reject) => {
        const stream = session.request(requestHeaders(d.path));
        const reader = new MessageReader();
        let response: unknown;
        let status: GrpcStatusError | undefined;
        let decodeError: GrpcStatusError | undefined;
        stream.on('response', (headers) => (status = statusOf(headers)));
        stream.on('trailers', (trailers) => (status = statusOf(trailers)));
        stream.on('data', (chunk: Buffer) => {
          try {
            reader.push(chunk, (body) => (response = d.decodeResponse(body)));
          } catch (e) {
            decodeError = undecodable(e);
            stream.close(NGHTTP2_CANCEL);
          }
        });
        stream.on('error', () => undefined); // the outcome is decided at 'close'
        stream.on('close', () => {
          if (decodeError !== undefined) reject(decodeError);
          else if (status === undefined) reject(unavailable(`stream closed without status (${sessionError?.message ?? `code ${stream.rstCode}`})`));
          else if (status.grpcCode !== GrpcCode.OK) reject(status);
          else if (response === undefined) reject({ grpcCode: GrpcCode.INTERNAL, message: 'OK without a response message' } satisfies GrpcStatusError);
          else resolve(response as never);
        });
        stream.end(frameMessage((d.encodeRequest as (m: unknown) => Buffer)(request)));
      });
    },

    bidi(key) {
      const d = RPCS[key] as unknown as RpcDescriptor;
      const stream = session.request(requestHeaders(d.path));
      const reader = new MessageReader();
      const queue: unknown[] = [];
      let status: GrpcStatusError | undefined;
      let decodeError: GrpcStatusError | undefined;
      let closed = false;
      let cancelled = false;
      let wake: (() => void) | undefined;
      const notify = (): void => {
        const w = wake;
        wake = undefined;
        w?.();
      };
      stream.on('response', (headers) => (status = statusOf(headers)));
      stream.on('trailers', (trailers) => (status = statusOf(trailers)));
      stream.on('data', (chunk: Buffer) => {
        try {
          reader.push(chunk, (body) => {
            queue.push(d.decodeResponse(body));
            notify();
          });
        } catch (e) {
          decodeError = undecodable(e);
          stream.close(NGHTTP2_CANCEL);
        }
      });
      stream.on('error', () => undefined);
      stream.on('close', () => {
        closed = true;
        if (decodeError !== undefined) status = decodeError;
        status ??= cancelled ? { grpcCode: GrpcCode.CANCELLED, message: 'cancelled by the client' } : unavailable(`stream closed without status (code ${stream.rstCode})`);
        notify();
      });
      const call = {
        send: (message: unknown) => void stream.write(frameMessage((d.encodeRequest as (m: unknown) => Buffer)(message))),
        end: () => void stream.end(),
        cancel: () => {
          cancelled = true;
          if (!stream.closed) stream.close(NGHTTP2_CANCEL);
        },
        async *[Symbol.asyncIterator](): AsyncIterator<unknown> {
          for (;;) {
            if (queue.length > 0) yield queue.shift();
            else if (closed) {
              if (status !== undefined && status.grpcCode !== GrpcCode.OK) throw status;
              return;
            } else await new Promise<void>((resolve) => (wake = resolve));
          }
        },
      };
      return call as unknown as ClientBidiCall<never, never>;
    },

    close: () => session.close(),
  } as BenchClient;
}
