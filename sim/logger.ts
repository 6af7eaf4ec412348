/**
 * Logs stamped with virtual time, kept in a bounded ring for failure reports. Logging never draws
 * randomness or schedules events, so turning it up or down cannot change a run.
 */
import { assert } from '../src/util/index.js';
import type { Logger, LogFields } from '../src/env/index.js';
import type { SimLoop } from './loop.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface SimLogSinkOptions {
  /** Lines kept (the last N). */
  readonly capacity?: number;
  readonly minLevel?: LogLevel;
  /** Also hands each line to this function (e.g. console.log while debugging a seed). */
  readonly echo?: (line: string) => void;
}

/** Where every node's log lines go: one ring shared by the whole simulated cluster. */
export class SimLogSink {
  private readonly ring: string[] = [];
  private start = 0;
  private readonly capacity: number;
  private readonly minRank: number;
  private written = 0;

  constructor(
    private readonly loop: SimLoop,
    private readonly options: SimLogSinkOptions = {},
  ) {
    this.capacity = options.capacity ?? 2_000;
    this.minRank = LEVEL_RANK[options.minLevel ?? 'debug'];
    assert(Number.isInteger(this.capacity) && this.capacity > 0, 'SimLogSink capacity must be a positive integer');
  }

  /** Lines written in total, including those that fell out of the ring. */
  get lineCount(): number {
    return this.written;
  }

  enabled(level: LogLevel): boolean {
    return LEVEL_RANK[level] >= this.minRank;
  }

  write(level: LogLevel, context: LogFields, message: string, fields: LogFields | undefined): void {
    if (!this.enabled(level)) return;
    const all = fields === undefined ? context : { ...context, ...fields };
    const text = `t=${this.loop.nowMs}ms ${level.toUpperCase()} ${message}${formatFields(all)}`;
    this.written++;
    if (this.ring.length < this.capacity) this.ring.push(text);
    else {
      this.ring[this.start] = text;
      this.start = (this.start + 1) % this.capacity;
    }
    this.options.echo?.(text);
  }

  lines(): string[] {
    return [...this.ring.slice(this.start), ...this.ring.slice(0, this.start)];
  }

  logger(context: LogFields = {}): Logger {
    return new SimLogger(this, context);
  }
}

class SimLogger implements Logger {
  constructor(
    private readonly sink: SimLogSink,
    private readonly context: LogFields,
  ) {}

  debug(message: string, fields?: LogFields): void {
    this.sink.write('debug', this.context, message, fields);
  }

  info(message: string, fields?: LogFields): void {
    this.sink.write('info', this.context, message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    this.sink.write('warn', this.context, message, fields);
  }

  error(message: string, fields?: LogFields): void {
    this.sink.write('error', this.context, message, fields);
  }

  child(fields: LogFields): Logger {
    return new SimLogger(this.sink, { ...this.context, ...fields });
  }
}

function formatValue(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? `<${v.length} bytes>` : v)) ?? String(value);
  } catch {
    return String(value);
  }
}

function formatFields(fields: LogFields): string {
  const keys = Object.keys(fields);
  if (keys.length === 0) return '';
  return ' ' + keys.map((k) => `${k}=${formatValue(fields[k])}`).join(' ');
}
