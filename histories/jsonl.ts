import { check, HistoryError, validateOp, type Op } from './op.js';

export function encodeOp(op: Op): string {
  const o: Record<string, unknown> = {
    index: op.index,
    process: op.process,
    type: op.type,
    f: op.f,
    value: op.value,
    time: op.time,
  };
  if (op.node !== undefined) o['node'] = op.node;
  return JSON.stringify(o);
}

export function encodeJsonl(ops: readonly Op[]): string {
  let out = '';
  for (const op of ops) out += encodeOp(op) + '\n';
  return out;
}

/** Decodes JSON lines; blank lines are skipped. Throws HistoryError with the line number. */
export function decodeJsonl(text: string): Op[] {
  const ops: Op[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      throw new HistoryError(`line ${i + 1}: not JSON: ${(e as Error).message}`);
    }
    ops.push(validateOp(raw, `line ${i + 1}`));
  }
  check(ops.length > 0, 'history is empty');
  return ops;
}
