/**
 * Assertions stay on in production: a broken invariant in Raft, the WAL or MVCC must stop the
 * node rather than let it write or send something wrong. The simulator maps AssertionError to
 * exit code 127.
 */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new AssertionError(typeof message === 'string' ? message : message());
  }
}

export function unreachable(value: never, what: string): never {
  throw new AssertionError(`unreachable: unexpected ${what}: ${String(value)}`);
}
