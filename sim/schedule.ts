/**
 * The explicit schedule file: a run's parameters plus its timed fault steps in the nemesis/
 * vocabulary, as JSON. `npm run sim -- --schedule file.json` replays one; a failing random run
 * saves the steps it executed as one (schedule.json) and its shrunk form (shrunk.json).
 *
 * The seed still decides everything that is not a step: the workload's choices, message latency,
 * and the profile's background faults (network loss, disk faults, clock skew) unless `quiet`
 * turns them off. The profile's random fault episodes are replaced by the steps.
 */
import { NEMESIS_FS, describeAction } from '../nemesis/index.js';
import type { NemesisAction, TimedAction } from '../nemesis/index.js';
import { WORKLOAD_NAMES } from './run.js';
import type { SimRunOptions, SimRunResult, SimStatus, WorkloadName } from './run.js';
import { INJECTED_INVARIANTS, QUIET_FAMILIES } from './schedule-options.js';
import type { InjectedInvariant, QuietFamily } from './schedule-options.js';

export const SCHEDULE_FORMAT = 'tsetcd-schedule/1';

export interface ScheduleFile {
  readonly format: typeof SCHEDULE_FORMAT;
  readonly seed: number;
  readonly nodes: 3 | 5;
  readonly workload: WorkloadName;
  readonly clients: number;
  /** Virtual length of the safety phase (faults on), ms. */
  readonly durationMs: number;
  /** Clients stop after this many completed ops; absent: no limit. */
  readonly opsMax?: number;
  readonly membership?: boolean;
  readonly quiet?: readonly QuietFamily[];
  /** Test only: the deliberately failing invariant the run checks. */
  readonly inject?: InjectedInvariant;
  /** The failure this schedule reproduced when it was saved (see failureClass). */
  readonly expect?: string;
  /** Where it came from, for people. */
  readonly note?: string;
  readonly steps: readonly TimedAction[];
}

/** Default client count of a run (sim/run.ts DEFAULTS), written out so a file is self-contained. */
const DEFAULT_CLIENTS = 5;
const DEFAULT_SAFETY_MS = 30_000;

/** The options that run a schedule file. */
export function scheduleRunOptions(file: ScheduleFile): SimRunOptions {
  return {
    seed: file.seed,
    nodes: file.nodes,
    workload: file.workload,
    clients: file.clients,
    safetyMs: file.durationMs,
    schedule: file.steps,
    ...(file.opsMax === undefined ? {} : { opsMax: file.opsMax }),
    ...(file.membership ? { membership: true } : {}),
    ...(file.quiet === undefined || file.quiet.length === 0 ? {} : { quiet: file.quiet }),
    ...(file.inject === undefined ? {} : { inject: file.inject }),
  };
}

/** The schedule a finished run executed: its options and the steps it recorded. */
export function scheduleOfRun(run: SimRunOptions, result: SimRunResult, note?: string): ScheduleFile {
  return {
    format: SCHEDULE_FORMAT,
    seed: run.seed,
    nodes: result.profile.nodeCount,
    workload: run.workload ?? 'register',
    clients: run.clients ?? DEFAULT_CLIENTS,
    durationMs: run.safetyMs ?? DEFAULT_SAFETY_MS,
    ...(run.opsMax === undefined ? {} : { opsMax: run.opsMax }),
    ...(run.membership ? { membership: true } : {}),
    ...(run.quiet === undefined || run.quiet.length === 0 ? {} : { quiet: [...run.quiet] }),
    ...(run.inject === undefined ? {} : { inject: run.inject }),
    ...(result.status === 'pass' ? {} : { expect: failureClass(result) }),
    ...(note === undefined ? {} : { note }),
    steps: result.steps.map((s) => ({ atMs: s.atMs, action: s.action })),
  };
}

/**
 * What kind of failure a run had, stable across replays that fail the same way: the status and
 * the message's first words up to a ':' or '(' (after it come node names, keys, indexes), or for
 * a failed assertion the assertion's own words with numbers as N.
 */
export function failureClass(result: Pick<SimRunResult, 'status' | 'message'>): string {
  if (result.status === 'pass') return 'pass';
  const parts = (result.message.split('\n')[0] ?? '').replace(/\d+/g, 'N').split(/[:(]/).map((p) => p.trim());
  const words = parts[0] === 'assertion failed' || parts[0] === 'unexpected error' ? parts.slice(0, 2) : parts.slice(0, 1);
  return `${result.status}: ${words.join(': ')}`;
}

/** JSON with one step per line, so a diff of two schedules reads step by step. */
export function formatScheduleFile(file: ScheduleFile): string {
  const { steps, ...rest } = file;
  const head = JSON.stringify(rest, null, 2).replace(/\n}$/, '');
  const lines = steps.map((s) => `    ${JSON.stringify(s)}`);
  return `${head},\n  "steps": [${lines.length === 0 ? ']' : `\n${lines.join(',\n')}\n  ]`}\n}\n`;
}

/** One line per step, for reports and the CLI. */
export function describeScheduleFile(file: ScheduleFile): string {
  const params = `seed ${file.seed}, ${file.nodes} nodes, workload ${file.workload}, ${file.clients} clients${file.opsMax === undefined ? '' : ` (at most ${file.opsMax} ops)`}, ${file.durationMs}ms`;
  const extras = [file.quiet?.length ? `quiet ${file.quiet.join(',')}` : '', file.inject ? `injected ${file.inject}` : '', file.membership ? 'membership' : ''].filter((x) => x !== '');
  return [
    `schedule: ${params}${extras.length > 0 ? `; ${extras.join('; ')}` : ''}: ${file.steps.length} step(s)`,
    ...file.steps.map((s) => `  ${String(s.atMs).padStart(6)}ms ${describeAction(s.action)}`),
  ].join('\n');
}

export class ScheduleFormatError extends Error {
  override readonly name = 'ScheduleFormatError';
}

/** Parses and checks a schedule file; throws ScheduleFormatError naming the first problem. */
export function parseScheduleFile(text: string): ScheduleFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ScheduleFormatError(`not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const o = object(raw, 'schedule');
  if (o['format'] !== SCHEDULE_FORMAT) throw new ScheduleFormatError(`format must be '${SCHEDULE_FORMAT}', got ${JSON.stringify(o['format'])}`);
  const nodes = o['nodes'];
  if (nodes !== 3 && nodes !== 5) throw new ScheduleFormatError(`nodes must be 3 or 5, got ${JSON.stringify(nodes)}`);
  const workload = o['workload'];
  if (!(WORKLOAD_NAMES as readonly unknown[]).includes(workload)) throw new ScheduleFormatError(`workload must be one of ${WORKLOAD_NAMES.join('|')}`);
  const quiet = o['quiet'] === undefined ? undefined : array(o['quiet'], 'quiet');
  if (quiet !== undefined && !quiet.every((q) => (QUIET_FAMILIES as readonly unknown[]).includes(q))) throw new ScheduleFormatError(`quiet may list ${QUIET_FAMILIES.join(',')}`);
  const inject = o['inject'];
  if (inject !== undefined && !(INJECTED_INVARIANTS as readonly unknown[]).includes(inject)) throw new ScheduleFormatError(`inject must be one of ${INJECTED_INVARIANTS.join('|')}`);
  const steps = array(o['steps'], 'steps').map((s, i) => step(s, i));
  const opsMax = o['opsMax'] === undefined ? undefined : integer(o['opsMax'], 'opsMax', 1);
  return {
    format: SCHEDULE_FORMAT,
    seed: integer(o['seed'], 'seed', 0),
    nodes,
    workload: workload as WorkloadName,
    clients: integer(o['clients'], 'clients', 1),
    durationMs: integer(o['durationMs'], 'durationMs', 1),
    ...(opsMax === undefined ? {} : { opsMax }),
    ...(o['membership'] === true ? { membership: true } : {}),
    ...(quiet === undefined ? {} : { quiet: quiet as QuietFamily[] }),
    ...(inject === undefined ? {} : { inject: inject as InjectedInvariant }),
    ...(typeof o['expect'] === 'string' ? { expect: o['expect'] } : {}),
    ...(typeof o['note'] === 'string' ? { note: o['note'] } : {}),
    steps,
  };
}

function step(raw: unknown, i: number): TimedAction {
  const o = object(raw, `steps[${i}]`);
  const atMs = integer(o['atMs'], `steps[${i}].atMs`, 0);
  const action = object(o['action'], `steps[${i}].action`);
  if (!(NEMESIS_FS as readonly unknown[]).includes(action['f'])) throw new ScheduleFormatError(`steps[${i}].action.f must be one of ${NEMESIS_FS.join('|')}`);
  for (const key of ['node', 'to'] as const) {
    const sel = action[key];
    if (sel === undefined) continue;
    const s = object(sel, `steps[${i}].action.${key}`);
    if (!(s['by'] === 'leader' || (s['by'] === 'id' && typeof s['id'] === 'string'))) throw new ScheduleFormatError(`steps[${i}].action.${key} must be {by:'id',id} or {by:'leader'}`);
  }
  // Deeper shapes (partition sides, disk faults) are the vocabulary's types; describeAction
  // reads every field an interpreter reads, so a malformed action fails here rather than mid-run.
  try {
    describeAction(action as unknown as NemesisAction);
  } catch (error) {
    throw new ScheduleFormatError(`steps[${i}].action is malformed: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { atMs, action: action as unknown as NemesisAction };
}

function object(raw: unknown, what: string): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ScheduleFormatError(`${what} must be an object`);
  return raw as Record<string, unknown>;
}

function array(raw: unknown, what: string): unknown[] {
  if (!Array.isArray(raw)) throw new ScheduleFormatError(`${what} must be an array`);
  return raw;
}

function integer(raw: unknown, what: string, min: number): number {
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < min) throw new ScheduleFormatError(`${what} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return raw;
}
