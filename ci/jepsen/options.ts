/**
 * Command-line options of `npm run jepsen`. Everything has a default so that a bare
 * `npm run jepsen` runs a short register test against a 3-member tsetcd cluster.
 */
export type Target = 'tsetcd' | 'etcd';
export type WorkloadName = 'register' | 'list-append' | 'watch';
/** The fault kinds a real cluster can take: the vocabulary's crash, pause and partition families. */
export type FaultKind = 'kill' | 'pause' | 'partition';
export type NetMode = 'auto' | 'netns' | 'loopback';

export const TARGETS: readonly Target[] = ['tsetcd', 'etcd'];
export const WORKLOADS: readonly WorkloadName[] = ['register', 'list-append', 'watch'];
export const FAULT_KINDS: readonly FaultKind[] = ['kill', 'pause', 'partition'];

export interface JepsenOptions {
  readonly nodes: number;
  /** Length of the workload under faults; a recovery phase follows. */
  readonly timeS: number;
  readonly workload: WorkloadName;
  readonly nemesis: readonly FaultKind[];
  readonly target: Target;
  readonly seed: number;
  /** Directory for the history, reports and member logs; a fresh one under /tmp by default. */
  readonly out: string | undefined;
  /** Concurrent client workers (each bound to one member, as Jepsen does). */
  readonly clients: number;
  /** Registers (or list keys) in use at a time. */
  readonly keys: number;
  /** A request unanswered this long is recorded `info`. */
  readonly opTimeoutMs: number;
  /** Seconds of quiet, then seconds of fault, repeated. */
  readonly quietS: number;
  readonly faultS: number;
  /** Healed cluster, workload still running: every member must serve again. */
  readonly recoveryS: number;
  /** The recovery phase goes on until an op succeeds, up to this long. */
  readonly recoveryMaxS: number;
  readonly net: NetMode;
  readonly compare: boolean;
  readonly checkTimeoutS: number;
  /** tsetcd from a one-off compiled build instead of tsx (faster member starts). */
  readonly compiled: boolean;
  /** periodic: quiet/fault cycles (schedule.ts); generated: the vocabulary's fast-check generator. */
  readonly schedule: 'periodic' | 'generated';
}

export const DEFAULTS: JepsenOptions = {
  nodes: 3,
  timeS: 30,
  workload: 'register',
  nemesis: ['kill', 'pause', 'partition'],
  target: 'tsetcd',
  seed: 1,
  out: undefined,
  clients: 6,
  keys: 4,
  opTimeoutMs: 1500,
  quietS: 4,
  faultS: 4,
  recoveryS: 4,
  recoveryMaxS: 30,
  net: 'auto',
  compare: false,
  checkTimeoutS: 120,
  compiled: false,
  schedule: 'periodic',
};

export const USAGE = `usage: npm run jepsen -- [--nodes 3] [--time 30] [--workload ${WORKLOADS.join('|')}]
       [--nemesis ${FAULT_KINDS.join(',')}|none] [--target ${TARGETS.join('|')}] [--compare] [--seed N] [--out dir]
       [--clients 6] [--keys 4] [--op-timeout-ms 1500] [--quiet 4] [--fault 4] [--recovery 4] [--recovery-max 30]
       [--net auto|netns|loopback] [--check-timeout 120] [--compiled]
       [--schedule periodic|generated]
       npm run jepsen -- --cleanup      removes leftover namespaces, bridges and members of earlier runs
exit status: 0 valid, 1 invalid, 2 unknown, 3 setup error`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type Command = { readonly kind: 'run'; readonly options: JepsenOptions } | { readonly kind: 'cleanup' } | { readonly kind: 'help' };

function positiveNumber(flag: string, text: string, integer: boolean): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new UsageError(`${flag} needs a positive ${integer ? 'integer' : 'number'}, got '${text}'`);
  return n;
}

function oneOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  if (!allowed.includes(text as T)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got '${text}'`);
  return text as T;
}

function faultKinds(text: string): FaultKind[] {
  if (text === 'none' || text === '') return [];
  const kinds = text.split(',').map((k) => oneOf('--nemesis', k.trim(), FAULT_KINDS));
  return [...new Set(kinds)];
}

export function parseArgs(argv: readonly string[]): Command {
  const o: { -readonly [K in keyof JepsenOptions]: JepsenOptions[K] } = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--cleanup': return { kind: 'cleanup' };
      case '-h': case '--help': return { kind: 'help' };
      case '--nodes': o.nodes = positiveNumber(flag, value(), true); break;
      case '--time': o.timeS = positiveNumber(flag, value(), false); break;
      case '--workload': o.workload = oneOf(flag, value(), WORKLOADS); break;
      case '--nemesis': o.nemesis = faultKinds(value()); break;
      case '--target': o.target = oneOf(flag, value(), TARGETS); break;
      case '--seed': {
        const v = value();
        if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new UsageError(`--seed needs a non-negative integer, got '${v}'`);
        o.seed = Number(v);
        break;
      }
      case '--out': o.out = value(); break;
      case '--clients': o.clients = positiveNumber(flag, value(), true); break;
      case '--keys': o.keys = positiveNumber(flag, value(), true); break;
      case '--op-timeout-ms': o.opTimeoutMs = positiveNumber(flag, value(), true); break;
      case '--quiet': o.quietS = positiveNumber(flag, value(), false); break;
      case '--fault': o.faultS = positiveNumber(flag, value(), false); break;
      case '--recovery': o.recoveryS = positiveNumber(flag, value(), false); break;
      case '--recovery-max': o.recoveryMaxS = positiveNumber(flag, value(), false); break;
      case '--net': o.net = oneOf(flag, value(), ['auto', 'netns', 'loopback'] as const); break;
      case '--compare': o.compare = true; break;
      case '--compiled': o.compiled = true; break;
      case '--schedule': o.schedule = oneOf(flag, value(), ['periodic', 'generated'] as const); break;
      case '--check-timeout': o.checkTimeoutS = positiveNumber(flag, value(), false); break;
      default: throw new UsageError(`unknown option '${flag}'`);
    }
  }
  if (o.nodes > 9) throw new UsageError('--nodes: at most 9 members');
  return { kind: 'run', options: o };
}
