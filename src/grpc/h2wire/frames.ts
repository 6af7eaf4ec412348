/**
 * HTTP/2 framing (RFC 9113 section 4 and 6): the constants and the few encoders the server
 * transport needs. Frames are written straight into an output buffer; nothing here allocates
 * per frame except the payloads the caller hands over.
 */

export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME_HEADER_BYTES = 9;

export const enum FrameType {
  Data = 0x0,
  Headers = 0x1,
  Priority = 0x2,
  RstStream = 0x3,
  Settings = 0x4,
  PushPromise = 0x5,
  Ping = 0x6,
  GoAway = 0x7,
  WindowUpdate = 0x8,
  Continuation = 0x9,
}

export const enum Flag {
  EndStream = 0x1,
  Ack = 0x1,
  EndHeaders = 0x4,
  Padded = 0x8,
  Priority = 0x20,
}

export const enum ErrorCode {
  NoError = 0x0,
  ProtocolError = 0x1,
  InternalError = 0x2,
  FlowControlError = 0x3,
  StreamClosed = 0x5,
  FrameSizeError = 0x6,
  RefusedStream = 0x7,
  Cancel = 0x8,
  CompressionError = 0x9,
  EnhanceYourCalm = 0xb,
}

export const enum SettingId {
  HeaderTableSize = 0x1,
  EnablePush = 0x2,
  MaxConcurrentStreams = 0x3,
  InitialWindowSize = 0x4,
  MaxFrameSize = 0x5,
  MaxHeaderListSize = 0x6,
}

/** RFC 9113 defaults, before any SETTINGS frame. */
export const DEFAULT_WINDOW_BYTES = 65_535;
export const DEFAULT_MAX_FRAME_BYTES = 16_384;
export const MAX_WINDOW_BYTES = 2 ** 31 - 1;
export const MAX_FRAME_BYTES_LIMIT = 2 ** 24 - 1;

/** A protocol violation that ends the whole connection with GOAWAY(code). */
export class ConnectionError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A violation confined to one stream: RST_STREAM(code), the connection goes on. */
export class StreamError extends Error {
  constructor(
    readonly streamId: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function writeFrameHeader(out: Buffer, at: number, length: number, type: FrameType, flags: number, streamId: number): void {
  out[at] = length >>> 16;
  out[at + 1] = (length >>> 8) & 0xff;
  out[at + 2] = length & 0xff;
  out[at + 3] = type;
  out[at + 4] = flags;
  out.writeUInt32BE(streamId & 0x7fffffff, at + 5);
}
