/**
 * One HTTP/2 stream of a server connection, as a gRPC call uses it: request DATA in, response
 * headers, messages and trailers out, with the stream's flow-control windows. The connection
 * does the framing; a stream only keeps its own state and queue.
 */
import type { Duplex } from 'node:stream';

/** What a stream asks of its connection (connection.ts implements it; an interface keeps the import one-way). */
export interface StreamOwner {
  readonly socket: Duplex;
  streamHeaders(stream: WireStream, fields: readonly string[], endStream: boolean): void;
  streamData(stream: WireStream, payload: Buffer): void;
  streamRespond(stream: WireStream, headers: readonly string[], payload: Buffer, trailers: readonly string[]): void;
  streamTrailers(stream: WireStream, trailers: readonly string[]): void;
  streamReset(stream: WireStream, code: number): void;
  streamResumed(stream: WireStream): void;
}

/** What the call on a stream hears from it. Every callback runs with the stream as context. */
export interface StreamHandler {
  /** A DATA payload (padding removed), in order. */
  onData(chunk: Buffer): void;
  /** The client half-closed (END_STREAM). */
  onEnd(): void;
  /** The stream is over: answered and closed, reset by the client, or its connection is gone. */
  onClose(): void;
}

export class WireStream {
  handler: StreamHandler | undefined = undefined;
  /** Bytes the peer lets us send on this stream (may go negative after a SETTINGS change). */
  sendWindow: number;
  /** Bytes the peer may still send us before we grant more. */
  recvWindow: number;
  /** Received bytes not yet granted back with a WINDOW_UPDATE. */
  recvUngranted = 0;
  headersSent = false;
  /** We sent END_STREAM (or a reset). */
  localClosed = false;
  /** The client sent END_STREAM (or a reset). */
  remoteClosed = false;
  closed = false;
  /** While paused the client's credit is not renewed, so at most one window is buffered. */
  paused = false;
  /** Response payloads waiting for window; the first may be partly sent. */
  readonly queue: Buffer[] = [];
  queueHeadOffset = 0;
  queuedBytes = 0;
  /** Trailers to send once the queue is empty. */
  pendingTrailers: string[] | undefined = undefined;
  /** Called once queuedBytes falls to or below the connection's drain mark. */
  drainWaiter: (() => void) | undefined = undefined;

  constructor(
    readonly id: number,
    readonly connection: StreamOwner,
    sendWindow: number,
    recvWindow: number,
  ) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** Response headers (once), before the first message. */
  sendHeaders(fields: readonly string[]): void {
    this.connection.streamHeaders(this, fields, false);
  }

  /** Queues one DATA payload; it leaves as windows allow. */
  sendData(payload: Buffer): void {
    this.connection.streamData(this, payload);
  }

  /** Headers (if not sent), one message and the trailers, as one unary answer. */
  respond(headers: readonly string[], payload: Buffer, trailers: readonly string[]): void {
    this.connection.streamRespond(this, headers, payload, trailers);
  }

  /** A response that is only headers, with END_STREAM (gRPC's trailers-only answer). */
  sendHeadersAndEnd(fields: readonly string[]): void {
    this.connection.streamHeaders(this, fields, true);
  }

  /** Trailers with END_STREAM, after everything queued. */
  sendTrailers(trailers: readonly string[]): void {
    this.connection.streamTrailers(this, trailers);
  }

  /** Closes the stream with RST_STREAM(code). */
  reset(code: number): void {
    this.connection.streamReset(this, code);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.connection.streamResumed(this);
  }
}
