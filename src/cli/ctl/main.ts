/**
 * tsetcdctl's dispatcher: finds the command among the global flags, parses the command line
 * with the global and the command's flags, connects, runs, and turns failures into etcdctl's
 * `Error: ...` line and exit code. Runs in-process (tests) or from the bin (src/cli/tsetcdctl.ts).
 */
import { createGrpcClient } from '../../grpc/index.js';
import type { EtcdGrpcClient } from '../../grpc/index.js';
import { AUTH_FLAGS, ROLE_FLAGS, USER_FLAGS, authCommand, roleCommand, userCommand } from './auth.js';
import { electCommand, lockCommand, CONCURRENCY_FLAGS } from './concurrency.js';
import { CLUSTER_FLAGS, endpointCommand, memberCommand, snapshotCommand } from './cluster.js';
import { GLOBAL_FLAGS, flagBool, flagString, parseArgs, parseGoDurationMs } from './flags.js';
import type { FlagSpecs, ParsedArgs } from './flags.js';
import { CtlError, ExitCode } from './io.js';
import type { CtlContext, CtlIo, GlobalOptions } from './io.js';
import { DEL_FLAGS, GET_FLAGS, PUT_FLAGS, compactionCommand, delCommand, getCommand, putCommand, txnCommand } from './kv.js';
import { LEASE_FLAGS, leaseCommand } from './lease.js';
import { clientOptionsFor, tlsConfigFromFlags } from './tls.js';
import { SNAPSHOT_FLAGS } from './snapshot.js';
import { credentialsFrom, loggedInClient } from './login.js';
import type { Credentials } from './login.js';
import { WATCH_FLAGS, watchCommand } from './watch.js';

export const CTL_VERSION = '0.1.0';

interface CommandEntry {
  readonly flags: FlagSpecs;
  readonly run: (ctx: CtlContext, args: ParsedArgs) => Promise<void>;
  readonly summary: string;
}

const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  put: { flags: PUT_FLAGS, run: putCommand, summary: 'Puts the given key into the store' },
  get: { flags: GET_FLAGS, run: getCommand, summary: 'Gets the key or a range of keys' },
  del: { flags: DEL_FLAGS, run: delCommand, summary: 'Removes the specified key or range of keys [key, range_end)' },
  txn: { flags: { interactive: { kind: 'bool', short: 'i', default: 'false' } }, run: txnCommand, summary: 'Txn processes all the requests in one transaction' },
  compaction: { flags: { physical: { kind: 'bool', default: 'false' } }, run: compactionCommand, summary: 'Compacts the event history in etcd' },
  watch: { flags: WATCH_FLAGS, run: watchCommand, summary: 'Watches events stream on keys or prefixes' },
  lease: { flags: LEASE_FLAGS, run: leaseCommand, summary: 'Lease related commands' },
  member: { flags: CLUSTER_FLAGS, run: memberCommand, summary: 'Membership related commands' },
  endpoint: { flags: CLUSTER_FLAGS, run: endpointCommand, summary: 'Endpoint related commands' },
  snapshot: { flags: SNAPSHOT_FLAGS, run: snapshotCommand, summary: 'Manages etcd node snapshots' },
  lock: { flags: CONCURRENCY_FLAGS, run: lockCommand, summary: 'Acquires a named lock' },
  elect: { flags: CONCURRENCY_FLAGS, run: electCommand, summary: 'Observes and participates in leader election' },
  user: { flags: USER_FLAGS, run: userCommand, summary: 'User related commands' },
  role: { flags: ROLE_FLAGS, run: roleCommand, summary: 'Role related commands' },
  auth: { flags: AUTH_FLAGS, run: authCommand, summary: 'Enable or disable authentication' },
};

export function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `\t${name.padEnd(12)}${c.summary}`);
  return [
    'NAME:\n\ttsetcdctl - A simple command line client for tsetcd (etcdctl 3.4 compatible).\n',
    'USAGE:\n\ttsetcdctl [global options] command [command options] [arguments...]\n',
    'COMMANDS:',
    ...lines,
    `\t${'version'.padEnd(12)}Prints the version of tsetcdctl\n`,
    'GLOBAL OPTIONS:\n\t--endpoints=[127.0.0.1:2379] --dial-timeout=2s --command-timeout=5s -w, --write-out=simple|json|fields --hex',
    '',
  ].join('\n');
}

/** The first word that is neither a flag nor a global flag's value. */
function findCommand(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === '--') return undefined;
    if (!token.startsWith('-')) return token;
    if (token.includes('=')) continue;
    const name = token.startsWith('--') ? token.slice(2) : Object.keys(GLOBAL_FLAGS).find((n) => GLOBAL_FLAGS[n]?.short === token.slice(1));
    const spec = name === undefined ? undefined : GLOBAL_FLAGS[name];
    if (spec !== undefined && spec.kind !== 'bool') i++;
  }
  return undefined;
}

function globalOptions(args: ParsedArgs): GlobalOptions {
  return {
    endpoints: flagString(args, 'endpoints').split(',').map((e) => e.trim()).filter((e) => e.length > 0),
    dialTimeoutMs: parseGoDurationMs(flagString(args, 'dial-timeout'), 'dial-timeout'),
    commandTimeoutMs: parseGoDurationMs(flagString(args, 'command-timeout'), 'command-timeout'),
    writeOut: flagString(args, 'write-out'),
    hex: flagBool(args, 'hex'),
  };
}

export interface RunOptions {
  /** Overrides how a client is made for an endpoint (tests). */
  readonly connect?: (endpoint: string) => EtcdGrpcClient;
  /** The environment: ETCDCTL_<FLAG> sets a global flag (ETCDCTL_USER, ETCDCTL_ENDPOINTS, ...). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * etcdctl's environment: ETCDCTL_<FLAG> stands for a global flag given first on the command
 * line; the same flag given as well is an error, as etcd's pkg/flags has it.
 */
export function envArgs(env: Readonly<Record<string, string | undefined>>, argv: readonly string[]): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith('ETCDCTL_') || key === 'ETCDCTL_API' || value === undefined) continue;
    const name = key.slice('ETCDCTL_'.length).toLowerCase().replaceAll('_', '-');
    const spec = GLOBAL_FLAGS[name];
    if (spec === undefined) continue;
    const given = argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`) || (spec.short !== undefined && (a === `-${spec.short}` || a.startsWith(`-${spec.short}=`))));
    if (given) {
      throw new CtlError(ExitCode.Error, `conflicting environment variable "${key}" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)`);
    }
    out.push(`--${name}=${value}`);
  }
  return out;
}

/** Runs one tsetcdctl command line; resolves with the process exit code. */
export async function runCtl(argv: readonly string[], rawIo: CtlIo, options: RunOptions = {}): Promise<number> {
  // stdin can be read once: a --user password prompt and a command (txn, put) may both ask.
  let stdin: Promise<string> | undefined;
  const io: CtlIo = { ...rawIo, readStdin: () => (stdin ??= rawIo.readStdin()) };
  const clients = new Map<string, EtcdGrpcClient>();
  try {
    argv = [...envArgs(options.env ?? {}, argv), ...argv];
    const name = findCommand(argv);
    if (name === 'version') {
      io.out(`tsetcdctl version: ${CTL_VERSION}\nAPI version: 3.5\n`);
      return ExitCode.Success;
    }
    const command = name === undefined ? undefined : COMMANDS[name];
    if (command === undefined) {
      if (name !== undefined) throw new CtlError(ExitCode.Error, `unknown command "${name}" for "etcdctl"`);
      io.out(usage());
      return ExitCode.Success;
    }
    const parsed = parseArgs(argv, { ...GLOBAL_FLAGS, ...command.flags });
    const args: ParsedArgs = { ...parsed, positionals: parsed.positionals.slice(1) };
    if (flagBool(args, 'help')) {
      io.out(`NAME:\n\t${name} - ${command.summary}\n`);
      return ExitCode.Success;
    }
    const global = globalOptions(args);
    const tlsConfig = tlsConfigFromFlags(args);
    const plainConnect = options.connect ?? ((endpoint: string) => createGrpcClient(endpoint, clientOptionsFor(endpoint, tlsConfig)));
    // --user: every connection logs in (at its first call) with the same credentials, asked once.
    let credentials: Promise<Credentials | undefined> | undefined;
    const creds = (): Promise<Credentials | undefined> => (credentials ??= credentialsFrom(flagString(args, 'user'), flagString(args, 'password'), io));
    const connect = flagString(args, 'user') === '' ? plainConnect : (endpoint: string) => loggedInClient(plainConnect(endpoint), creds, global.dialTimeoutMs);
    const clientFor = (endpoint: string): EtcdGrpcClient => {
      let c = clients.get(endpoint);
      if (c === undefined) clients.set(endpoint, (c = connect(endpoint)));
      return c;
    };
    const first = global.endpoints[0] ?? '127.0.0.1:2379';
    const ctx: CtlContext = {
      io,
      global,
      get client() {
        return clientFor(first);
      },
      clientFor,
      callOptions: () => ({ deadlineMs: global.commandTimeoutMs, signal: io.interrupt }),
    };
    await command.run(ctx, args);
    return ExitCode.Success;
  } catch (error) {
    if (error instanceof CtlError) {
      io.err(`Error: ${error.message}\n`);
      return error.exitCode;
    }
    io.err(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.Error;
  } finally {
    for (const c of clients.values()) c.close();
  }
}
