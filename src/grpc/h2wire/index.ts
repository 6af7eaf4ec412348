/** tsetcd's own HTTP/2 server transport for gRPC (see connection.ts for why). */
export { H2Connection, STREAM_DRAIN_BYTES } from './connection.js';
export type { ConnectionOptions } from './connection.js';
export { WireStream } from './stream.js';
export type { StreamHandler } from './stream.js';
export { ErrorCode } from './frames.js';
