/**
 * The history format shared by the simulator, the Jepsen-style runner and the checker.
 *
 * One op per JSON line: `{index, process, type, f, value, time, node?}`.
 * - `index` strictly increases through the file; it is the real-time order the checker trusts.
 * - `process` is a client id (number) or a name; nemesis actions use process "nemesis".
 * - `type`: "invoke" starts an op, "ok" / "fail" / "info" complete the process's open op.
 *   "fail" means the op certainly did not take effect; "info" means the outcome is unknown
 *   (it may take effect at any time after its invocation, or never).
 * - `time` is in nanoseconds since the start of the run (virtual or real); informational only.
 * - Bytes are UTF-8 strings, or base64 strings wrapped as `{"b64": "..."}` when not valid text;
 *   64-bit integers (revisions, lease ids) are decimal strings when they may exceed 2^53.
 */
export type OpType = 'invoke' | 'ok' | 'fail' | 'info';

export type Process = number | string;

export type Value = null | boolean | number | string | Value[] | { [key: string]: Value };

export interface Op {
  readonly index: number;
  readonly process: Process;
  readonly type: OpType;
  readonly f: string;
  readonly value: Value;
  readonly time: number;
  readonly node?: string;
}

export const NEMESIS: Process = 'nemesis';

const OP_TYPES: ReadonlySet<string> = new Set(['invoke', 'ok', 'fail', 'info']);

export class HistoryError extends Error {
  override readonly name = 'HistoryError';
}

export function check(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new HistoryError(typeof message === 'string' ? message : message());
}

/** Validates the shape of one decoded op; throws HistoryError naming the bad field. */
export function validateOp(raw: unknown, where: string): Op {
  check(typeof raw === 'object' && raw !== null && !Array.isArray(raw), `${where}: op is not an object`);
  const o = raw as Record<string, unknown>;
  check(typeof o['index'] === 'number' && Number.isInteger(o['index']), `${where}: index must be an integer`);
  check(
    (typeof o['process'] === 'number' && Number.isInteger(o['process'])) || typeof o['process'] === 'string',
    `${where}: process must be an integer or a string`,
  );
  check(typeof o['type'] === 'string' && OP_TYPES.has(o['type']), `${where}: type must be invoke|ok|fail|info`);
  check(typeof o['f'] === 'string', `${where}: f must be a string`);
  check('value' in o, `${where}: value is missing`);
  check(typeof o['time'] === 'number' && Number.isFinite(o['time']), `${where}: time must be a number`);
  check(o['node'] === undefined || typeof o['node'] === 'string', `${where}: node must be a string`);
  const op: Op = {
    index: o['index'] as number,
    process: o['process'] as Process,
    type: o['type'] as OpType,
    f: o['f'] as string,
    value: o['value'] as Value,
    time: o['time'] as number,
    ...(typeof o['node'] === 'string' ? { node: o['node'] } : {}),
  };
  return op;
}

/** Stable text for a value: used as map keys and in reports. */
export function valueKey(v: Value): string {
  return JSON.stringify(v);
}
