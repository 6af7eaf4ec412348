export { AssertionError, assert, unreachable } from './assert.js';
export {
  utf8,
  fromUtf8,
  compareBytes,
  bytesEqual,
  concatBytes,
  toHex,
  toBase64,
  fromBase64,
} from './bytes.js';
export { crc32c } from './crc32.js';
export type { NodeId } from './ids.js';
export { nodeId, NO_NODE, nodeIdFromBigInt, nodeIdToBigInt } from './ids.js';
export type { DrawHook, DrawStream, SeededRand, SeededRandOptions } from './prng.js';
export { createRand, parseSeed, fmix32, mixWord, hashString32 } from './prng.js';
