/** A WAL or snapshot directory that cannot be used as it is (missing, mismatched, misused). */
export class WalError extends Error {
  override readonly name: string = 'WalError';
}

/**
 * Bytes on disk that fail their checks somewhere other than a repairable torn tail. Never
 * skipped: the node must stop rather than run on a log with a hole in it.
 */
export class WalCorruptError extends WalError {
  override readonly name: string = 'WalCorruptError';
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`corrupt WAL: ${file} at byte ${offset}: ${reason}`);
  }
}

/** A payload that does not decode (it passed its CRC, so the writer or the format is wrong). */
export class CodecError extends Error {
  override readonly name: string = 'CodecError';
}
