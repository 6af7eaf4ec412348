/**
 * A small pflag-style argument parser, enough for etcdctl's command lines: `--name=value`,
 * `--name value`, boolean `--name` / `--name=false`, the short forms etcdctl has (-w, -h, -i,
 * -l), flags interspersed with positionals, and `--` ending flag parsing. Errors are worded as
 * pflag words them, since scripts and people compare against etcdctl's messages.
 */
import { ExitCode, CtlError } from './io.js';

export type FlagKind = 'bool' | 'string' | 'int' | 'duration';

export interface FlagSpec {
  readonly kind: FlagKind;
  readonly short?: string;
  readonly default?: string;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

export interface ParsedArgs {
  readonly positionals: string[];
  /** Everything after a bare `--`, kept apart for `watch -- cmd` and `lock name cmd`. */
  readonly afterDashDash: string[];
  readonly values: Map<string, string>;
}

/** Global flags every command accepts (etcdctl 3.4's list; discovery is accepted and ignored, TLS is in ./tls.ts). */
export const GLOBAL_FLAGS: FlagSpecs = {
  endpoints: { kind: 'string', default: '127.0.0.1:2379' },
  'dial-timeout': { kind: 'duration', default: '2s' },
  'command-timeout': { kind: 'duration', default: '5s' },
  'keepalive-time': { kind: 'duration', default: '2s' },
  'keepalive-timeout': { kind: 'duration', default: '6s' },
  'write-out': { kind: 'string', short: 'w', default: 'simple' },
  hex: { kind: 'bool', default: 'false' },
  debug: { kind: 'bool', default: 'false' },
  user: { kind: 'string', default: '' },
  password: { kind: 'string', default: '' },
  cacert: { kind: 'string', default: '' },
  cert: { kind: 'string', default: '' },
  key: { kind: 'string', default: '' },
  'insecure-transport': { kind: 'bool', default: 'true' },
  'insecure-skip-tls-verify': { kind: 'bool', default: 'false' },
  'insecure-discovery': { kind: 'bool', default: 'true' },
  'discovery-srv': { kind: 'string', short: 'd', default: '' },
  'discovery-srv-name': { kind: 'string', default: '' },
  help: { kind: 'bool', short: 'h', default: 'false' },
};

function lookup(specs: FlagSpecs, token: string): [string, FlagSpec] | undefined {
  if (token.startsWith('--')) {
    const name = token.slice(2);
    const spec = specs[name];
    return spec === undefined ? undefined : [name, spec];
  }
  const short = token.slice(1);
  for (const [name, spec] of Object.entries(specs)) if (spec.short === short) return [name, spec];
  return undefined;
}

function checkValue(name: string, spec: FlagSpec, value: string): string {
  if (spec.kind === 'bool' && !['true', 'false', '1', '0', 't', 'f', 'TRUE', 'FALSE', 'True', 'False'].includes(value)) {
    throw new CtlError(ExitCode.Error, `invalid argument "${value}" for "--${name}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
  }
  if (spec.kind === 'int' && !/^[+-]?[0-9]+$/.test(value)) {
    throw new CtlError(ExitCode.Error, `invalid argument "${value}" for "--${name}" flag: strconv.ParseInt: parsing "${value}": invalid syntax`);
  }
  if (spec.kind === 'duration') parseGoDurationMs(value, name);
  return spec.kind === 'bool' ? String(['true', '1', 't', 'TRUE', 'True'].includes(value)) : value;
}

/** Parses argv against the union of the global and the command's flags. */
export function parseArgs(argv: readonly string[], specs: FlagSpecs): ParsedArgs {
  const positionals: string[] = [];
  const afterDashDash: string[] = [];
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === '--') {
      afterDashDash.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith('-') || token === '-') {
      positionals.push(token);
      continue;
    }
    const eq = token.indexOf('=');
    const head = eq >= 0 ? token.slice(0, eq) : token;
    const found = lookup(specs, head);
    if (found === undefined) {
      const shown = head.startsWith('--') ? head : `-${head.slice(1, 2)}`;
      throw new CtlError(ExitCode.Error, head.startsWith('--') ? `unknown flag: ${shown}` : `unknown shorthand flag: '${head.slice(1, 2)}' in ${token}`);
    }
    const [name, spec] = found;
    if (eq >= 0) values.set(name, checkValue(name, spec, token.slice(eq + 1)));
    else if (spec.kind === 'bool') values.set(name, 'true');
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new CtlError(ExitCode.Error, `flag needs an argument: ${head}`);
      values.set(name, checkValue(name, spec, next));
      i++;
    }
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (!values.has(name) && spec.default !== undefined) values.set(name, spec.default);
  }
  return { positionals, afterDashDash, values };
}

export function flagString(args: ParsedArgs, name: string): string {
  return args.values.get(name) ?? '';
}

export function flagBool(args: ParsedArgs, name: string): boolean {
  return args.values.get(name) === 'true';
}

export function flagInt(args: ParsedArgs, name: string): bigint {
  const v = args.values.get(name);
  return v === undefined || v === '' ? 0n : BigInt(v);
}

const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration ("5s", "1m30s", "500ms"), in milliseconds. */
export function parseGoDurationMs(text: string, flagName: string): number {
  if (text === '0') return 0;
  const re = /([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (m === null) {
      throw new CtlError(ExitCode.Error, `invalid argument "${text}" for "--${flagName}" flag: time: invalid duration "${text}"`);
    }
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    at = re.lastIndex;
  }
  if (text.length === 0) throw new CtlError(ExitCode.Error, `invalid argument "" for "--${flagName}" flag: time: invalid duration ""`);
  return total;
}
