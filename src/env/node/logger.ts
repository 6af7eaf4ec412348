import type { LogFields, Logger } from '../logger.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Where finished lines go; stderr by default, injectable for tests. */
export type LogSink = (line: string) => void;

const stderrSink: LogSink = (line) => {
  process.stderr.write(line + '\n');
};

/**
 * One JSON object per line on stderr: {"ts", "level", "msg", ...fields}. Byte arrays are shown
 * as hex, bigints as decimal strings, errors as their message, so every line parses.
 */
export function consoleLogger(
  level: LogLevel = 'info',
  fields: LogFields = {},
  sink: LogSink = stderrSink,
): Logger {
  const minRank = LEVEL_RANK[level];
  const emit = (lineLevel: LogLevel, message: string, extra?: LogFields): void => {
    if (LEVEL_RANK[lineLevel] < minRank) return;
    const record = { ts: new Date().toISOString(), level: lineLevel, msg: message, ...fields, ...extra };
    sink(JSON.stringify(record, replacer));
  };
  return {
    debug: (message, extra) => emit('debug', message, extra),
    info: (message, extra) => emit('info', message, extra),
    warn: (message, extra) => emit('warn', message, extra),
    error: (message, extra) => emit('error', message, extra),
    child: (childFields) => consoleLogger(level, { ...fields, ...childFields }, sink),
  };
}

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}
