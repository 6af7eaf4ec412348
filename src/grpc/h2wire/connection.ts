/**
 * The server side of one HTTP/2 connection (RFC 9113), as much of it as gRPC needs: the
 * preface, SETTINGS, PING, GOAWAY, RST_STREAM, both flow-control levels, HEADERS with
 * CONTINUATION, DATA with padding. No server push, no priorities (accepted and ignored).
 *
 * Why not node:http2: every call there costs an nghttp2 stream, a Duplex stream object, header
 * objects converted twice and several socket writes; on the put path that was a fifth of the
 * server's CPU. Here a unary call is a small object, its answer three frames appended to one
 * buffer, and everything answered in one tick leaves in one socket write.
 *
 * What nghttp2 guarded against is guarded here too, with limits named below: header blocks and
 * decoded header lists, CONTINUATION and PING/SETTINGS floods, rapid resets, and unsent answers
 * piling up for a client that does not read. Streams waiting for window share it round robin.
 */
import type { Duplex } from 'node:stream';
import { HpackDecoder, HpackError } from './hpack.js';
import {
  CLIENT_PREFACE,
  ConnectionError,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_WINDOW_BYTES,
  ErrorCode,
  Flag,
  FRAME_HEADER_BYTES,
  FrameType,
  MAX_FRAME_BYTES_LIMIT,
  MAX_WINDOW_BYTES,
  SettingId,
  StreamError,
} from './frames.js';
import { FrameWriter } from './frame-writer.js';
import { WireStream } from './stream.js';
import type { StreamOwner } from './stream.js';

export interface ConnectionOptions {
  /** A new stream with its request headers, flattened [name, value, ...]. */
  onStream(stream: WireStream, fields: string[]): void;
  /** The connection is gone (all its streams were closed first). */
  onClose(connection: H2Connection): void;
}

/** Each stream may receive this much before we grant more: a 1.5 MiB put needs few updates. */
const STREAM_RECV_WINDOW_BYTES = 1 << 20;
/** The whole connection may receive this much before we grant more. */
const CONNECTION_RECV_WINDOW_BYTES = 16 << 20;
/** A header block (HEADERS + CONTINUATION) larger than this ends the connection. */
const MAX_HEADER_BLOCK_BYTES = 1 << 20;
/**
 * Decoded header list size (RFC 9113 6.5.2: names + values + 32 per field) we accept: HPACK
 * lets a block of one-byte references to a 4 KB table entry decode a thousand times larger.
 */
const MAX_HEADER_LIST_BYTES = MAX_HEADER_BLOCK_BYTES;
/** A stream's queue at or below this wakes a sender waiting to drain (as node's writable mark). */
export const STREAM_DRAIN_BYTES = 256 * 1024;

/**
 * Frames we owe in reply (PING and SETTINGS acks, RST_STREAM) while the client is not reading:
 * past this many the client is flooding us (CVE-2019-9512/9515) and the connection ends.
 */
const REPLIES_WHILE_BLOCKED_MAX = 10_000;

/**
 * Open streams the client may reset in a burst, and per second after: nghttp2's defaults against
 * the rapid-reset attack (CVE-2023-44487), which node:http2 applied to this server before.
 */
const CLIENT_RESETS_BURST = 1000;
const CLIENT_RESETS_PER_SECOND = 33;

/**
 * Response bytes a connection may hold unsent (queued for flow-control window or in the socket's
 * buffer) before it refuses new streams: a client that keeps asking and never reads or grants
 * window cannot grow our memory without bound (node:http2 had maxSessionMemory for this).
 */
const UNSENT_BYTES_MAX = 32 << 20;

/** After a connection error, how long the GOAWAY gets to reach the client before the socket goes. */
const FAILED_SOCKET_LINGER_MS = 1000;

function headerListBytes(fields: readonly string[]): number {
  let bytes = 0;
  for (let i = 0; i < fields.length; i++) bytes += (fields[i] as string).length;
  return bytes + (fields.length >>> 1) * 32;
}

export class H2Connection implements StreamOwner {
  private readonly streams = new Map<number, WireStream>();
  private readonly decoder = new HpackDecoder();
  private readonly writer = new FrameWriter();
  private flushScheduled = false;
  private socketBlocked = false;
  /** Replies queued since the socket last refused a write (see REPLIES_WHILE_BLOCKED_MAX). */
  private repliesWhileBlocked = 0;
  /** Bytes queued on all streams (see UNSENT_BYTES_MAX). */
  private queuedBytes = 0;
  private clientResetTokens = CLIENT_RESETS_BURST;
  private clientResetTokensAtMs = 0;
  /** Streams with queued data waiting for window or for the socket to drain. */
  private readonly waiting = new Set<WireStream>();
  private inbound: Buffer | undefined = undefined;
  private prefaceSeen = false;
  private lastStreamId = 0;
  private peerInitialWindow = DEFAULT_WINDOW_BYTES;
  private peerMaxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
  private connSendWindow = DEFAULT_WINDOW_BYTES;
  private connRecvWindow = CONNECTION_RECV_WINDOW_BYTES;
  private connRecvUngranted = 0;
  /** A header block still waiting for CONTINUATION frames. */
  private continuation: { streamId: number; endStream: boolean; parts: Buffer[]; bytes: number; wireBytes: number } | undefined = undefined;
  /** We sent GOAWAY: new streams are refused, the socket ends when the last stream does. */
  private goingAway = false;
  /** The client sent GOAWAY: the socket ends when the last stream does. */
  private peerGoneAway = false;
  closed = false;

  constructor(
    readonly socket: Duplex,
    private readonly options: ConnectionOptions,
  ) {
    socket.on('data', (chunk: Buffer) => this.onSocketData(chunk));
    socket.on('drain', () => this.onSocketDrain());
    socket.on('close', () => this.onSocketClose());
    socket.on('error', () => socket.destroy());
    socket.on('end', () => socket.end());
    this.writer.settings([
      [SettingId.MaxConcurrentStreams, 2 ** 32 - 1],
      [SettingId.InitialWindowSize, STREAM_RECV_WINDOW_BYTES],
      [SettingId.MaxHeaderListSize, MAX_HEADER_BLOCK_BYTES],
    ]);
    this.writer.windowUpdate(0, CONNECTION_RECV_WINDOW_BYTES - DEFAULT_WINDOW_BYTES);
    this.scheduleFlush();
    socket.resume();
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /** Graceful close: GOAWAY now, the socket ends once running streams are done. */
  goAway(code: ErrorCode = ErrorCode.NoError, debug = ''): void {
    if (this.goingAway || this.closed) return;
    this.goingAway = true;
    this.writer.goAway(this.lastStreamId, code, debug);
    this.scheduleFlush();
    if (this.streams.size === 0) this.endSocketAfterFlush();
  }

  destroy(): void {
    this.socket.destroy();
  }

  // ---------------------------------------------------------------- reading frames

  private onSocketData(chunk: Buffer): void {
    let data = chunk;
    if (this.inbound !== undefined) {
      data = Buffer.concat([this.inbound, chunk]);
      this.inbound = undefined;
    }
    try {
      const used = this.readFrames(data);
      if (used < data.length) this.inbound = data.subarray(used);
    } catch (error) {
      this.failConnection(error);
    }
  }

  /** Handles every whole frame in `data`; returns how many bytes it used. */
  private readFrames(data: Buffer): number {
    let at = 0;
    if (!this.prefaceSeen) {
      if (data.length < CLIENT_PREFACE.length) return 0;
      if (!data.subarray(0, CLIENT_PREFACE.length).equals(CLIENT_PREFACE)) {
        throw new ConnectionError(ErrorCode.ProtocolError, 'invalid connection preface');
      }
      this.prefaceSeen = true;
      at = CLIENT_PREFACE.length;
    }
    while (!this.closed && data.length - at >= FRAME_HEADER_BYTES) {
      const length = (data[at]! << 16) | (data[at + 1]! << 8) | data[at + 2]!;
      if (length > DEFAULT_MAX_FRAME_BYTES) throw new ConnectionError(ErrorCode.FrameSizeError, `frame of ${length} bytes exceeds ${DEFAULT_MAX_FRAME_BYTES}`);
      if (data.length - at < FRAME_HEADER_BYTES + length) break;
      const type = data[at + 3]!;
      const flags = data[at + 4]!;
      const streamId = data.readUInt32BE(at + 5) & 0x7fffffff;
      const payload = data.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length);
      at += FRAME_HEADER_BYTES + length;
      try {
        this.onFrame(type, flags, streamId, payload);
      } catch (error) {
        if (!(error instanceof StreamError)) throw error;
        const stream = this.streams.get(error.streamId);
        if (stream !== undefined) this.streamReset(stream, error.code);
        else {
          this.owedReply();
          this.writer.rstStream(error.streamId, error.code);
          this.scheduleFlush();
        }
      }
    }
    return at;
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.continuation !== undefined && type !== FrameType.Continuation) {
      throw new ConnectionError(ErrorCode.ProtocolError, 'expected CONTINUATION');
    }
    switch (type) {
      case FrameType.Data:
        return this.onData(flags, streamId, payload);
      case FrameType.Headers:
        return this.onHeaders(flags, streamId, payload);
      case FrameType.Priority:
        if (streamId === 0) throw new ConnectionError(ErrorCode.ProtocolError, 'PRIORITY on stream 0');
        if (payload.length !== 5) throw new StreamError(streamId, ErrorCode.FrameSizeError, 'PRIORITY frame size');
        return;
      case FrameType.RstStream:
        return this.onRstStream(streamId, payload);
      case FrameType.Settings:
        return this.onSettings(flags, streamId, payload);
      case FrameType.PushPromise:
        throw new ConnectionError(ErrorCode.ProtocolError, 'PUSH_PROMISE from a client');
      case FrameType.Ping:
        return this.onPing(flags, streamId, payload);
      case FrameType.GoAway:
        return this.onGoAway(streamId, payload);
      case FrameType.WindowUpdate:
        return this.onWindowUpdate(streamId, payload);
      case FrameType.Continuation:
        return this.onContinuation(flags, streamId, payload);
      default:
        // Unknown frame types are ignored (RFC 9113 section 4.1).
        return;
    }
  }

  /** The payload without its padding (and without priority fields when `priorityBytes`). */
  private unpadded(flags: number, streamId: number, payload: Buffer, priorityBytes: number): Buffer {
    let start = 0;
    let padding = 0;
    if ((flags & Flag.Padded) !== 0) {
      if (payload.length < 1) throw new ConnectionError(ErrorCode.FrameSizeError, 'padded frame without a pad length');
      padding = payload[0]!;
      start = 1;
    }
    start += priorityBytes;
    if (start + padding > payload.length) throw new ConnectionError(ErrorCode.ProtocolError, `padding exceeds the frame on stream ${streamId}`);
    return payload.subarray(start, payload.length - padding);
  }

  private onData(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ConnectionError(ErrorCode.ProtocolError, 'DATA on stream 0');
    this.connRecvWindow -= payload.length;
    if (this.connRecvWindow < 0) throw new ConnectionError(ErrorCode.FlowControlError, 'connection receive window exceeded');
    this.connRecvUngranted += payload.length;
    if (this.connRecvUngranted >= CONNECTION_RECV_WINDOW_BYTES / 4) {
      this.writer.windowUpdate(0, this.connRecvUngranted);
      this.connRecvWindow += this.connRecvUngranted;
      this.connRecvUngranted = 0;
      this.scheduleFlush();
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      if (streamId > this.lastStreamId) throw new ConnectionError(ErrorCode.ProtocolError, `DATA on idle stream ${streamId}`);
      return; // a stream we already closed: the client had not heard yet
    }
    if (stream.remoteClosed) throw new StreamError(streamId, ErrorCode.StreamClosed, 'DATA after END_STREAM');
    stream.recvWindow -= payload.length;
    if (stream.recvWindow < 0) throw new StreamError(streamId, ErrorCode.FlowControlError, 'stream receive window exceeded');
    stream.recvUngranted += payload.length;
    const data = this.unpadded(flags, streamId, payload, 0);
    if (data.length > 0) stream.handler?.onData(data);
    if ((flags & Flag.EndStream) !== 0) this.remoteEnded(stream);
    else this.maybeGrantStream(stream);
  }

  private maybeGrantStream(stream: WireStream): void {
    if (stream.paused || stream.closed || stream.remoteClosed) return;
    if (stream.recvUngranted < STREAM_RECV_WINDOW_BYTES / 2) return;
    this.writer.windowUpdate(stream.id, stream.recvUngranted);
    stream.recvWindow += stream.recvUngranted;
    stream.recvUngranted = 0;
    this.scheduleFlush();
  }

  private onHeaders(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0 || streamId % 2 === 0) throw new ConnectionError(ErrorCode.ProtocolError, `HEADERS on stream ${streamId}`);
    const block = this.unpadded(flags, streamId, payload, (flags & Flag.Priority) !== 0 ? 5 : 0);
    const endStream = (flags & Flag.EndStream) !== 0;
    if ((flags & Flag.EndHeaders) !== 0) {
      this.onHeaderBlock(streamId, endStream, block);
      return;
    }
    this.continuation = { streamId, endStream, parts: [Buffer.from(block)], bytes: block.length, wireBytes: FRAME_HEADER_BYTES + payload.length };
  }

  private onContinuation(flags: number, streamId: number, payload: Buffer): void {
    const pending = this.continuation;
    if (pending === undefined || pending.streamId !== streamId) throw new ConnectionError(ErrorCode.ProtocolError, 'unexpected CONTINUATION');
    // Frame headers count too: a flood of empty CONTINUATION frames would otherwise never end.
    pending.wireBytes += FRAME_HEADER_BYTES + payload.length;
    if (pending.wireBytes > MAX_HEADER_BLOCK_BYTES) throw new ConnectionError(ErrorCode.EnhanceYourCalm, 'header block too large');
    if (payload.length > 0) pending.parts.push(Buffer.from(payload));
    pending.bytes += payload.length;
    if ((flags & Flag.EndHeaders) === 0) return;
    this.continuation = undefined;
    this.onHeaderBlock(streamId, pending.endStream, Buffer.concat(pending.parts, pending.bytes));
  }

  private onHeaderBlock(streamId: number, endStream: boolean, block: Buffer): void {
    let fields: string[];
    try {
      fields = this.decoder.decode(block);
    } catch (error) {
      if (error instanceof HpackError) throw new ConnectionError(ErrorCode.CompressionError, error.message);
      throw error;
    }
    const existing = this.streams.get(streamId);
    if (headerListBytes(fields) > MAX_HEADER_LIST_BYTES && (existing !== undefined || streamId > this.lastStreamId)) {
      // Decoded all the same (the HPACK state stays in step); only this stream is refused (RFC 9113 10.5.1).
      if (existing === undefined) this.lastStreamId = streamId;
      throw new StreamError(streamId, ErrorCode.EnhanceYourCalm, 'header list too large');
    }
    if (existing !== undefined) {
      // Trailers from the client: gRPC clients send none, but they may only end the stream.
      if (!endStream) throw new StreamError(streamId, ErrorCode.ProtocolError, 'second HEADERS without END_STREAM');
      if (existing.remoteClosed) throw new StreamError(streamId, ErrorCode.StreamClosed, 'HEADERS after END_STREAM');
      this.remoteEnded(existing);
      return;
    }
    if (streamId <= this.lastStreamId) throw new ConnectionError(ErrorCode.ProtocolError, `HEADERS on closed stream ${streamId}`);
    this.lastStreamId = streamId;
    if (this.goingAway || this.queuedBytes + this.socket.writableLength > UNSENT_BYTES_MAX) {
      this.owedReply();
      this.writer.rstStream(streamId, ErrorCode.RefusedStream);
      this.scheduleFlush();
      return;
    }
    const stream = new WireStream(streamId, this, this.peerInitialWindow, STREAM_RECV_WINDOW_BYTES);
    this.streams.set(streamId, stream);
    this.options.onStream(stream, fields);
    if (endStream && !stream.closed) this.remoteEnded(stream);
  }

  private remoteEnded(stream: WireStream): void {
    stream.remoteClosed = true;
    if (stream.localClosed) this.closeStream(stream);
    else stream.handler?.onEnd();
  }

  private onRstStream(streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ConnectionError(ErrorCode.ProtocolError, 'RST_STREAM on stream 0');
    if (payload.length !== 4) throw new ConnectionError(ErrorCode.FrameSizeError, 'RST_STREAM frame size');
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      if (streamId > this.lastStreamId) throw new ConnectionError(ErrorCode.ProtocolError, `RST_STREAM on idle stream ${streamId}`);
      return;
    }
    stream.localClosed = true;
    stream.remoteClosed = true;
    this.closeStream(stream);
    this.countClientReset();
  }

  /** Past the reset budget, new streams are refused (GOAWAY) and the running ones may finish. */
  private countClientReset(): void {
    const nowMs = Date.now();
    const earned = ((nowMs - this.clientResetTokensAtMs) * CLIENT_RESETS_PER_SECOND) / 1000;
    this.clientResetTokens = Math.min(CLIENT_RESETS_BURST, this.clientResetTokens + earned);
    this.clientResetTokensAtMs = nowMs;
    this.clientResetTokens -= 1;
    if (this.clientResetTokens < 0) this.goAway(ErrorCode.EnhanceYourCalm, 'too many stream resets');
  }

  private onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new ConnectionError(ErrorCode.ProtocolError, 'SETTINGS on a stream');
    if ((flags & Flag.Ack) !== 0) {
      if (payload.length !== 0) throw new ConnectionError(ErrorCode.FrameSizeError, 'SETTINGS ack with a payload');
      return;
    }
    if (payload.length % 6 !== 0) throw new ConnectionError(ErrorCode.FrameSizeError, 'SETTINGS frame size');
    for (let at = 0; at < payload.length; at += 6) this.applySetting(payload.readUInt16BE(at), payload.readUInt32BE(at + 2));
    this.owedReply();
    this.writer.settingsAck();
    this.scheduleFlush();
    this.pumpWaiting();
  }

  private applySetting(id: number, value: number): void {
    switch (id) {
      case SettingId.HeaderTableSize:
        this.writer.encoder.setPeerMaxTableBytes(value);
        return;
      case SettingId.EnablePush:
        if (value > 1) throw new ConnectionError(ErrorCode.ProtocolError, 'ENABLE_PUSH must be 0 or 1');
        return;
      case SettingId.InitialWindowSize: {
        if (value > MAX_WINDOW_BYTES) throw new ConnectionError(ErrorCode.FlowControlError, 'INITIAL_WINDOW_SIZE too large');
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const stream of this.streams.values()) {
          stream.sendWindow += delta;
          if (stream.sendWindow > MAX_WINDOW_BYTES) throw new ConnectionError(ErrorCode.FlowControlError, 'stream window overflow');
        }
        return;
      }
      case SettingId.MaxFrameSize:
        if (value < DEFAULT_MAX_FRAME_BYTES || value > MAX_FRAME_BYTES_LIMIT) throw new ConnectionError(ErrorCode.ProtocolError, 'MAX_FRAME_SIZE out of range');
        this.peerMaxFrameBytes = value;
        return;
      default:
        // MAX_CONCURRENT_STREAMS limits pushes, which we never make; unknown settings are ignored.
        return;
    }
  }

  private onPing(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new ConnectionError(ErrorCode.ProtocolError, 'PING on a stream');
    if (payload.length !== 8) throw new ConnectionError(ErrorCode.FrameSizeError, 'PING frame size');
    if ((flags & Flag.Ack) !== 0) return;
    this.owedReply();
    this.writer.pingAck(payload);
    this.scheduleFlush();
  }

  /**
   * The client will open no more streams. Our own GOAWAY is still owed when we close (so
   * goingAway, which means "we sent GOAWAY", stays unset); the socket ends once the client's
   * streams are done.
   */
  private onGoAway(streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new ConnectionError(ErrorCode.ProtocolError, 'GOAWAY on a stream');
    if (payload.length < 8) throw new ConnectionError(ErrorCode.FrameSizeError, 'GOAWAY frame size');
    this.peerGoneAway = true;
    if (this.streams.size === 0) this.endSocketAfterFlush();
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ConnectionError(ErrorCode.FrameSizeError, 'WINDOW_UPDATE frame size');
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (streamId === 0) {
      if (increment === 0) throw new ConnectionError(ErrorCode.ProtocolError, 'WINDOW_UPDATE of 0');
      this.connSendWindow += increment;
      if (this.connSendWindow > MAX_WINDOW_BYTES) throw new ConnectionError(ErrorCode.FlowControlError, 'connection window overflow');
      this.pumpWaiting();
      return;
    }
    const stream = this.streams.get(streamId);
    // RFC 9113 5.1: on an idle stream only HEADERS and PRIORITY may arrive (nghttp2 ends the connection too).
    if (stream === undefined && streamId > this.lastStreamId) throw new ConnectionError(ErrorCode.ProtocolError, `WINDOW_UPDATE on idle stream ${streamId}`);
    if (increment === 0) throw new StreamError(streamId, ErrorCode.ProtocolError, 'WINDOW_UPDATE of 0');
    if (stream === undefined) return;
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW_BYTES) throw new StreamError(streamId, ErrorCode.FlowControlError, 'stream window overflow');
    this.pump(stream);
  }

  // ---------------------------------------------------------------- streams sending (called by WireStream)

  streamHeaders(stream: WireStream, fields: readonly string[], endStream: boolean): void {
    if (stream.localClosed) return;
    stream.headersSent = true;
    this.writer.headers(stream.id, fields, endStream, this.peerMaxFrameBytes);
    if (endStream) this.localEnded(stream);
    this.scheduleFlush();
  }

  streamData(stream: WireStream, payload: Buffer): void {
    if (stream.localClosed || stream.pendingTrailers !== undefined) return;
    stream.queue.push(payload);
    stream.queuedBytes += payload.length;
    this.queuedBytes += payload.length;
    this.pump(stream);
  }

  streamRespond(stream: WireStream, headers: readonly string[], payload: Buffer, trailers: readonly string[]): void {
    if (stream.localClosed) return;
    if (!stream.headersSent) {
      stream.headersSent = true;
      this.writer.headers(stream.id, headers, false, this.peerMaxFrameBytes);
    }
    stream.queue.push(payload);
    stream.queuedBytes += payload.length;
    this.queuedBytes += payload.length;
    stream.pendingTrailers = trailers as string[];
    this.pump(stream);
    this.scheduleFlush();
  }

  streamTrailers(stream: WireStream, trailers: readonly string[]): void {
    if (stream.localClosed || stream.pendingTrailers !== undefined) return;
    stream.pendingTrailers = trailers as string[];
    this.pump(stream);
    this.scheduleFlush();
  }

  streamReset(stream: WireStream, code: number): void {
    if (stream.closed) return;
    this.writer.rstStream(stream.id, code);
    this.scheduleFlush();
    stream.localClosed = true;
    stream.remoteClosed = true;
    this.closeStream(stream);
  }

  streamResumed(stream: WireStream): void {
    this.maybeGrantStream(stream);
  }

  /** Sends what the windows allow (at most `framesMax` DATA frames) from the stream's queue, then its trailers once it is empty. */
  private pump(stream: WireStream, framesMax = Number.POSITIVE_INFINITY): number {
    let frames = 0;
    if (stream.queue.length > 0) this.scheduleFlush();
    while (stream.queue.length > 0) {
      const room = Math.min(stream.sendWindow, this.connSendWindow, this.peerMaxFrameBytes);
      if (room <= 0 || this.socketBlocked || frames >= framesMax) {
        this.waiting.add(stream);
        this.wakeDrainWaiter(stream);
        return frames;
      }
      const head = stream.queue[0]!;
      const left = head.length - stream.queueHeadOffset;
      const bytes = Math.min(room, left);
      const piece = bytes === head.length ? head : head.subarray(stream.queueHeadOffset, stream.queueHeadOffset + bytes);
      this.writer.data(stream.id, piece);
      stream.sendWindow -= bytes;
      this.connSendWindow -= bytes;
      stream.queuedBytes -= bytes;
      this.queuedBytes -= bytes;
      if (bytes === left) {
        stream.queue.shift();
        stream.queueHeadOffset = 0;
      } else {
        stream.queueHeadOffset += bytes;
      }
      frames++;
    }
    this.waiting.delete(stream);
    this.scheduleFlush();
    if (stream.pendingTrailers !== undefined && !stream.localClosed) {
      this.writer.headers(stream.id, stream.pendingTrailers, true, this.peerMaxFrameBytes);
      this.localEnded(stream);
    }
    this.wakeDrainWaiter(stream);
    return frames;
  }

  /** A sender waits for the queue to fall to the mark, not to empty: the socket stays busy meanwhile. */
  private wakeDrainWaiter(stream: WireStream): void {
    const waiter = stream.drainWaiter;
    if (waiter !== undefined && stream.queuedBytes <= STREAM_DRAIN_BYTES) {
      stream.drainWaiter = undefined;
      waiter();
    }
  }

  /**
   * Round robin, one frame per stream per turn: a long response (a snapshot, a busy watch) must
   * not take every connection window update while the answers of other calls wait behind it.
   */
  private pumpWaiting(): void {
    let framesSent = 1;
    while (framesSent > 0 && this.waiting.size > 0) {
      framesSent = 0;
      for (const stream of [...this.waiting]) {
        if (this.socketBlocked || this.connSendWindow <= 0) return;
        framesSent += this.pump(stream, 1);
      }
    }
  }

  /** We sent END_STREAM: a stream the client still sends on is reset, as gRPC servers do. */
  private localEnded(stream: WireStream): void {
    stream.localClosed = true;
    if (!stream.remoteClosed) {
      this.writer.rstStream(stream.id, ErrorCode.NoError);
      stream.remoteClosed = true;
    }
    this.closeStream(stream);
  }

  private closeStream(stream: WireStream): void {
    if (stream.closed) return;
    stream.closed = true;
    this.streams.delete(stream.id);
    this.waiting.delete(stream);
    stream.queue.length = 0;
    this.queuedBytes -= stream.queuedBytes;
    stream.queuedBytes = 0;
    // Credit for bytes the closed stream received but never granted still counts for the connection.
    const waiter = stream.drainWaiter;
    stream.drainWaiter = undefined;
    stream.handler?.onClose();
    waiter?.();
    if ((this.goingAway || this.peerGoneAway) && this.streams.size === 0) this.endSocketAfterFlush();
  }

  // ---------------------------------------------------------------- writing

  private scheduleFlush(): void {
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    // After the current tick's I/O callbacks: everything answered meanwhile shares one write.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.writer.length === 0) return;
    const chunks = this.writer.take();
    let accepted: boolean;
    if (chunks.length === 1) {
      accepted = this.socket.write(chunks[0]);
    } else {
      this.socket.cork();
      accepted = true;
      for (const chunk of chunks) accepted = this.socket.write(chunk) && accepted;
      this.socket.uncork();
    }
    if (!accepted) this.socketBlocked = true;
  }

  /** Counts a reply the client made us queue; a client that asks for many and reads none is cut off. */
  private owedReply(): void {
    if (!this.socketBlocked) return;
    if (++this.repliesWhileBlocked > REPLIES_WHILE_BLOCKED_MAX) throw new ConnectionError(ErrorCode.EnhanceYourCalm, 'too many replies unread');
  }

  private onSocketDrain(): void {
    this.socketBlocked = false;
    this.repliesWhileBlocked = 0;
    this.pumpWaiting();
  }

  private endSocketAfterFlush(): void {
    setImmediate(() => {
      this.flush();
      this.socket.end();
    });
  }

  private failConnection(error: unknown): void {
    if (this.closed) return;
    const code = error instanceof ConnectionError ? error.code : ErrorCode.InternalError;
    const message = error instanceof Error ? error.message : String(error);
    this.goingAway = true;
    this.writer.goAway(this.lastStreamId, code, message);
    this.flush();
    this.socket.end();
    // A client that stopped reading after its own GOAWAY would never see the FIN.
    setTimeout(() => this.socket.destroy(), FAILED_SOCKET_LINGER_MS).unref();
    this.closeAll();
  }

  private onSocketClose(): void {
    this.closeAll();
    this.options.onClose(this);
  }

  private closeAll(): void {
    if (this.closed) return;
    for (const stream of [...this.streams.values()]) {
      stream.localClosed = true;
      stream.remoteClosed = true;
      this.closeStream(stream);
    }
    this.closed = true;
  }
}
