/** CPU time and RSS of other processes from /proc (Linux only), for server and generator load. */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';

let clockTicksPerSec: number | undefined;

function ticksPerSec(): number {
  if (clockTicksPerSec === undefined) {
    try {
      clockTicksPerSec = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicksPerSec = 100;
    }
  }
  return clockTicksPerSec;
}

/** utime + stime of pid in ms, or undefined when the process is gone. */
export function cpuMsOf(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces: fields after it start past the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return ((utime + stime) * 1000) / ticksPerSec();
}

/** Resident set size of pid in bytes (VmRSS), or undefined when the process is gone. */
export function rssBytesOf(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]) * 1024;
  } catch {
    return undefined;
  }
}

export interface RssBreakdown {
  readonly totalBytes: number;
  /** Heap, stacks and other private memory. */
  readonly anonBytes: number;
  /** Mapped file pages resident in memory: LMDB's and bbolt's memory-mapped database files. */
  readonly fileBytes: number;
}

/** VmRSS split into RssAnon and RssFile (+ RssShmem counted as anon), or undefined when the process is gone. */
export function rssBreakdownOf(pid: number): RssBreakdown | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)?.[1] ?? 0) * 1024;
  return { totalBytes: kb('VmRSS'), anonBytes: kb('RssAnon') + kb('RssShmem'), fileBytes: kb('RssFile') };
}

export function loadAverage(): [number, number, number] {
  const [a = 0, b = 0, c = 0] = loadavg();
  return [a, b, c];
}

export interface ProcWindow {
  /** Summed over the pids: CPU time over the window divided by its wall time (1.0 = one core). */
  readonly cpuCores: number;
  /** Summed RSS at the end of the window. */
  readonly rssBytesEnd: number;
  /** Largest summed RSS among the samples. */
  readonly rssBytesPeak: number;
}

/** Samples a set of pids between start() and stop(): CPU from the two ends, RSS every intervalMs. */
export class ProcSampler {
  private readonly cpuStartMs: number[];
  private readonly wallStartMs = Date.now();
  private rssPeakBytes = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pids: readonly number[], intervalMs = 250) {
    this.cpuStartMs = pids.map((p) => cpuMsOf(p) ?? 0);
    this.sampleRss();
    this.timer = setInterval(() => this.sampleRss(), intervalMs);
  }

  private sampleRss(): number {
    const total = this.pids.reduce((sum, p) => sum + (rssBytesOf(p) ?? 0), 0);
    this.rssPeakBytes = Math.max(this.rssPeakBytes, total);
    return total;
  }

  stop(): ProcWindow {
    clearInterval(this.timer);
    const wallMs = Math.max(1, Date.now() - this.wallStartMs);
    const cpuMs = this.pids.reduce((sum, p, i) => sum + Math.max(0, (cpuMsOf(p) ?? 0) - (this.cpuStartMs[i] ?? 0)), 0);
    const rssEnd = this.sampleRss();
    return { cpuCores: cpuMs / wallMs, rssBytesEnd: rssEnd, rssBytesPeak: this.rssPeakBytes };
  }
}
