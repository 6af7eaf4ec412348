import { assert, fromUtf8, nodeId, utf8 } from '../util/index.js';
import type { ConfChange, ConfChangeType } from './types.js';

const TYPE_CODES: readonly ConfChangeType[] = ['addNode', 'addLearner', 'removeNode', 'promoteLearner'];

/**
 * The data of a confChange entry: [type code u8][id length u16 BE][id utf8][context].
 * A fixed byte layout so that every member (and the WAL) decodes the same change.
 */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const code = TYPE_CODES.indexOf(cc.type);
  assert(code >= 0, () => `unknown conf change type ${cc.type}`);
  const id = utf8(cc.nodeId);
  assert(id.length > 0 && id.length < 0x10000, 'conf change node id length out of range');
  const out = new Uint8Array(3 + id.length + cc.context.length);
  out[0] = code;
  out[1] = id.length >>> 8;
  out[2] = id.length & 0xff;
  out.set(id, 3);
  out.set(cc.context, 3 + id.length);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  assert(data.length >= 4, 'conf change data too short');
  const type = TYPE_CODES[data[0] as number];
  assert(type !== undefined, () => `unknown conf change type code ${String(data[0])}`);
  const idLength = ((data[1] as number) << 8) | (data[2] as number);
  assert(3 + idLength <= data.length, 'conf change id overruns data');
  const id = nodeId(fromUtf8(data.subarray(3, 3 + idLength)));
  return { type, nodeId: id, context: data.slice(3 + idLength) };
}
