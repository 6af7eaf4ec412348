import type { GrpcStatusError } from '../../src/grpc/index.js';

export { RPCS } from '../../src/grpc/index.js';

export function toHexString(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** The status a call failed with; throws when the call succeeded. */
export async function failure(promise: Promise<unknown>): Promise<GrpcStatusError> {
  try {
    await promise;
  } catch (error) {
    return error as GrpcStatusError;
  }
  throw new Error('expected the call to fail');
}
