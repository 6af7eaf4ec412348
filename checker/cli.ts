import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { HISTORY_FORMATS, parseHistory, type HistoryFormat, type Op } from '../histories/index.js';
import { renderHtml } from './html.js';
import { formatText } from './report.js';
import { MODEL_NAMES, runCheck, type ModelName } from './run.js';

const USAGE = `usage: npm run check -- <file> [--format ${HISTORY_FORMATS.join('|')}] [--model ${MODEL_NAMES.join('|')}] [--timeout s] [--html out.html]
exit status: 0 valid, 1 invalid, 2 unknown, 3 unreadable or unparsable input`;

interface Args {
  file: string;
  format?: HistoryFormat;
  model?: ModelName;
  timeoutS: number;
  html?: string;
}

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Args {
  let file: string | undefined;
  const out: Partial<Args> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--format') {
      const v = value();
      if (!HISTORY_FORMATS.includes(v as HistoryFormat)) throw new UsageError(`unknown format ${v}`);
      out.format = v as HistoryFormat;
    } else if (a === '--model') {
      const v = value();
      if (!MODEL_NAMES.includes(v as ModelName)) throw new UsageError(`unknown model ${v}`);
      out.model = v as ModelName;
    } else if (a === '--timeout') {
      const v = Number(value());
      if (!(v > 0)) throw new UsageError('--timeout needs a positive number of seconds');
      out.timeoutS = v;
    } else if (a === '--html') out.html = value();
    else if (a === '-h' || a === '--help') throw new UsageError('');
    else if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
    else if (file === undefined) file = a;
    else throw new UsageError(`unexpected argument ${a}`);
  }
  if (file === undefined) throw new UsageError('no history file given');
  return { ...out, file, timeoutS: out.timeoutS ?? 60 };
}

export interface CliIo {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}

/** The CLI, callable in-process; returns the exit status. */
export function runCli(argv: readonly string[], io: CliIo): number {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`${e.message === '' ? '' : `error: ${e.message}\n`}${USAGE}\n`);
    return 3;
  }
  let text: string;
  let parsed: { format: HistoryFormat; ops: Op[] };
  try {
    text = readFileSync(args.file, 'utf8');
  } catch (e) {
    io.err(`error: cannot read ${args.file}: ${(e as Error).message}\n`);
    return 3;
  }
  try {
    parsed = parseHistory(text, args.format);
  } catch (e) {
    io.err(`error: cannot parse ${args.file}${args.format === undefined ? '' : ` as ${args.format}`}: ${(e as Error).message}\n`);
    return 3;
  }
  let result;
  try {
    result = runCheck(parsed.ops, args.model, parsed.format, { timeoutMs: args.timeoutS * 1000 });
  } catch (e) {
    io.err(`error: cannot check ${args.file}: ${(e as Error).message}\n`);
    return 3;
  }
  io.out(`${args.file}: format ${parsed.format}, model ${result.model}, ${result.operations.length} operations\n`);
  io.out(formatText(result.report, result.describe));
  if (args.html !== undefined) {
    writeFileSync(args.html, renderHtml(result.report, result.operations, result.describe, basename(args.file)));
    io.out(`HTML timeline: ${args.html}\n`);
  }
  return result.report.verdict === 'valid' ? 0 : result.report.verdict === 'invalid' ? 1 : 2;
}

