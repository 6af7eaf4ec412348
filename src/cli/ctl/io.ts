/**
 * What a tsetcdctl command talks to: output streams, stdin, a signal for Ctrl-C, and the
 * connection. Commands never touch process.* directly, so tests run them in-process.
 */
import type { ClientCallOptions, EtcdGrpcClient, GrpcStatusError } from '../../grpc/index.js';
import { GrpcCode, isGrpcStatusError } from '../../grpc/index.js';

/** etcdctl's exit codes (ctlv3/command/error.go). */
export const ExitCode = {
  Success: 0,
  Error: 1,
  BadConnection: 2,
  InvalidInput: 3,
  BadFeature: 4,
  Interrupted: 5,
  IO: 6,
  BadArgs: 128,
} as const;

/** Ends a command with `Error: <message>` on stderr and the exit code. */
export class CtlError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface CtlIo {
  out(text: string): void;
  err(text: string): void;
  /** All of stdin (txn, put with one argument). */
  readStdin(): Promise<string>;
  /** Aborted on Ctrl-C: long-running commands (watch, lock, elect, keep-alive) stop. */
  readonly interrupt: AbortSignal;
  /** Wall-clock milliseconds, for `endpoint health`'s took = ... */
  nowMs(): number;
  /** Writes a file atomically enough for `snapshot save` (write .part, rename). */
  writeFile(path: string, chunks: readonly Uint8Array[]): Promise<void>;
}

export interface GlobalOptions {
  readonly endpoints: readonly string[];
  readonly dialTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly writeOut: string;
  readonly hex: boolean;
}

/** A connection to the first endpoint, and a factory for per-endpoint ones (endpoint status/health). */
export interface CtlContext {
  readonly io: CtlIo;
  readonly global: GlobalOptions;
  readonly client: EtcdGrpcClient;
  clientFor(endpoint: string): EtcdGrpcClient;
  /** Call options with the command timeout as deadline. */
  callOptions(): ClientCallOptions;
}

/**
 * The message etcdctl shows for a failed call: the server's etcd error text as is; clientv3
 * turns an unreachable endpoint or an expired deadline into "context deadline exceeded".
 */
export function errorText(error: unknown): string {
  if (!isGrpcStatusError(error)) return error instanceof Error ? error.message : String(error);
  const e: GrpcStatusError = error;
  if (e.grpcCode === GrpcCode.DEADLINE_EXCEEDED) return 'context deadline exceeded';
  if (e.grpcCode === GrpcCode.UNAVAILABLE && !e.message.startsWith('etcdserver:')) return 'context deadline exceeded';
  if (e.grpcCode === GrpcCode.CANCELLED) return 'context canceled';
  // clientv3 (rpctypes.Error) unwraps only etcd's own errors; others keep grpc-go's wording.
  if (e.message.startsWith('etcdserver: ')) return e.message;
  return `rpc error: code = ${GO_CODE_NAMES[e.grpcCode] ?? `Code(${e.grpcCode})`} desc = ${e.message}`;
}

const GO_CODE_NAMES: readonly string[] = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied',
  'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable',
  'DataLoss', 'Unauthenticated',
];

/** Runs a call; a failure becomes `Error: <etcd message>` with exit code 1, optionally wrapped. */
export async function rpc<T>(work: () => Promise<T>, wrap?: (message: string) => string): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof CtlError) throw error;
    const text = errorText(error);
    throw new CtlError(ExitCode.Error, wrap === undefined ? text : wrap(text));
  }
}
