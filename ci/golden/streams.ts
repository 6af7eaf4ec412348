/**
 * Golden scripts for watches and leases: unlike the KV goldens (replayed against an in-memory
 * MvccStore), these need a running server, background watchers and real time (TTLs), so the
 * same runner plays a script against real etcd (record, ci/golden/record.ts) and against a
 * tsetcd process (test/golden/streams.test.ts), and the two normalised transcripts must match.
 *
 * Steps (ci/golden/streams.json):
 *   {"ctl": [argv...]}                etcdctl -w json <argv>, waited for
 *   {"bg": "w1", "ctl": [argv...]}    etcdctl -w json <argv> started in the background (a watch)
 *   {"stop": "w1", "afterMs": 800}     waits, then interrupts the background command; its output
 *   {"join": "w1", "timeoutMs": 9000}  waits for the background command to exit on its own
 *   {"sleepMs": 3500}                 lets time pass (lease expiry)
 * `$LEASE<n>` in argv is the hex id of the n-th lease granted in the script.
 *
 * Normalised away: cluster_id, member_id, raft_term, lease ids (replaced by <L0>, <L1>... in
 * grant order) and the order of a lease's keys (Go map order on etcd). Everything else (revisions, events, prev_kv, compact_revision, TTLs as
 * etcd truncates them, error lines, exit codes) must be identical.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

export type StreamStep =
  | { readonly ctl: readonly string[]; readonly bg?: string; readonly w?: string; readonly stdin?: string; readonly endpoint?: number }
  | { readonly stop: string; readonly afterMs: number }
  | { readonly join: string; readonly timeoutMs: number }
  | { readonly sleepMs: number };

export interface StreamScript {
  readonly name: string;
  readonly note?: string;
  readonly steps: readonly StreamStep[];
}

export interface StreamRecord {
  readonly step: StreamStep;
  readonly exit?: string;
  readonly stdout?: string;
  /** Only etcdctl's `Error: ...` lines (its zap log lines carry timestamps). */
  readonly errors?: readonly string[];
  /** When the command started and ended, in ms since the script started (ctl steps). */
  readonly startMs?: number;
  readonly endMs?: number;
}

export interface Transcript {
  readonly name: string;
  readonly server: string;
  readonly records: readonly StreamRecord[];
}

interface Running {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly done: Promise<string>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function startCtl(endpoint: string, argv: readonly string[], writeOut = 'json', stdin?: string): Running {
  const child = spawn('etcdctl', [`--endpoints=${endpoint}`, '-w', writeOut, ...argv], {
    env: { ...process.env, ETCDCTL_API: '3' },
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (stdin !== undefined) child.stdin?.end(stdin);
  const running: Running = {
    child,
    stdout: '',
    stderr: '',
    done: new Promise((resolve) => {
      child.on('close', (code, signal) => resolve(signal !== null ? `signal ${signal}` : `code ${String(code)}`));
    }),
  };
  child.stdout?.on('data', (c: Buffer) => (running.stdout += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (running.stderr += c.toString('utf8')));
  return running;
}

const errorLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l.startsWith('Error'));

function substitute(argv: readonly string[], leasesHex: readonly string[]): string[] {
  return argv.map((a) => a.replace(/\$LEASE(\d+)/g, (_, n: string) => leasesHex[Number(n)] ?? `missing-lease-${n}`));
}

/**
 * Plays one script against an etcd-compatible endpoint (several, comma-separated: a step's
 * `endpoint` picks one by position); the transcript keeps raw outputs.
 */
export async function playScript(endpoints: string, script: StreamScript, server: string): Promise<Transcript> {
  const pick = (step: { readonly endpoint?: number }): string => (step.endpoint === undefined ? endpoints : (endpoints.split(',')[step.endpoint] ?? endpoints));
  const leasesHex: string[] = [];
  const background = new Map<string, Running>();
  const t0 = performance.now();
  const since = (): number => Math.round(performance.now() - t0);
  const records: StreamRecord[] = [];
  try {
    for (const step of script.steps) {
      if ('sleepMs' in step) {
        await sleep(step.sleepMs);
        records.push({ step });
      } else if ('join' in step) {
        const r = background.get(step.join);
        if (r === undefined) throw new Error(`no background command ${step.join}`);
        const timer = setTimeout(() => r.child.kill('SIGKILL'), step.timeoutMs);
        const exit = await r.done;
        clearTimeout(timer);
        records.push({ step, exit, stdout: r.stdout, errors: errorLines(r.stderr) });
      } else if ('stop' in step) {
        await sleep(step.afterMs);
        const r = background.get(step.stop);
        if (r === undefined) throw new Error(`no background command ${step.stop}`);
        if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGINT');
        const exit = await r.done;
        records.push({ step, exit, stdout: r.stdout, errors: errorLines(r.stderr) });
      } else if (step.bg !== undefined) {
        background.set(step.bg, startCtl(pick(step), substitute(step.ctl, leasesHex), step.w, step.stdin));
        // Let the watch be created before the next step writes (a watch from "now" would race).
        await sleep(400);
        records.push({ step });
      } else {
        const argv = substitute(step.ctl, leasesHex);
        const startMs = since();
        const r = startCtl(pick(step), argv, step.w, step.stdin);
        // A step that never ends (a lock held elsewhere) must not hang the script.
        const timer = setTimeout(() => r.child.kill('SIGKILL'), 20_000);
        const exit = await r.done;
        clearTimeout(timer);
        if (argv[0] === 'lease' && argv[1] === 'grant') {
          const id = /"ID":(\d+)/.exec(r.stdout)?.[1];
          const hex = /lease ([0-9a-f]+) granted/.exec(r.stdout)?.[1];
          leasesHex.push(id !== undefined ? BigInt(id).toString(16) : (hex ?? 'none'));
        }
        records.push({ step: { ...step, ctl: argv }, exit, stdout: r.stdout, errors: errorLines(r.stderr), startMs, endMs: since() });
      }
    }
  } finally {
    for (const r of background.values()) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  }
  return { name: script.name, server, records };
}

/** The transcript with ids that legitimately differ replaced, ready to compare. */
export function normalise(t: Transcript): StreamRecord[] {
  const leases: string[] = [];
  for (const r of t.records) {
    const s = r.step;
    if ('ctl' in s && s.bg === undefined && s.ctl[0] === 'lease' && s.ctl[1] === 'grant') {
      const id = /"ID":(\d+)/.exec(r.stdout ?? '')?.[1];
      if (id !== undefined) leases.push(id);
    }
  }
  const hexes = leases.map((d) => BigInt(d).toString(16));
  const fix = (text: string): string => {
    let out = text.replace(/"(cluster_id|member_id|raft_term)":\d+,?/g, '').replace(/,}/g, '}');
    // etcd lists a lease's keys in Go map order (random): compare them sorted.
    out = out.replace(/"keys":\[([^\]]*)\]/g, (_, list: string) => `"keys":[${list.split(',').sort().join(',')}]`);
    leases.forEach((dec, i) => {
      out = out.split(dec).join(`<L${i}>`);
      const hex = hexes[i] as string;
      out = out.split(hex.padStart(16, '0')).join(`<L${i}>`).split(hex).join(`<L${i}>`);
    });
    return out;
  };
  return t.records.map((r) => {
    const step: StreamStep = 'ctl' in r.step ? { ...r.step, ctl: r.step.ctl.map(fix) } : r.step;
    // Timings are not compared (ttlWindows uses them).
    return {
      step,
      ...(r.exit !== undefined ? { exit: r.exit } : {}),
      ...(r.stdout !== undefined ? { stdout: fix(r.stdout) } : {}),
      ...(r.errors !== undefined ? { errors: r.errors.map(fix) } : {}),
    };
  });
}

/**
 * For every `lease timetolive` answered with a live lease: the TTLs etcd's rule allows given
 * how long the machine took. etcd answers int64(remaining.Seconds()), remaining counted from the
 * lease's last renewal (its grant or a keep-alive step), so with the elapsed time between
 * [start of timetolive - end of renewal, end of timetolive - start of renewal] the answer must
 * lie in [granted - ceil(max elapsed), granted - ceil(min elapsed)] (truncation, never rounding up).
 */
export function ttlWindows(t: Transcript): Map<number, { readonly ttl: number; readonly min: number; readonly max: number }> {
  const renewedBy = new Map<string, StreamRecord>();
  const out = new Map<number, { ttl: number; min: number; max: number }>();
  t.records.forEach((r, i) => {
    if (!('ctl' in r.step) || r.step.bg !== undefined || r.exit !== 'code 0' || r.startMs === undefined || r.endMs === undefined) return;
    const [cmd, sub] = r.step.ctl;
    if (cmd !== 'lease') return;
    if (sub === 'grant') {
      const id = /"ID":(\d+)/.exec(r.stdout ?? '')?.[1];
      if (id !== undefined) renewedBy.set(BigInt(id).toString(16), r);
    } else if (sub === 'keep-alive') {
      renewedBy.set(r.step.ctl[r.step.ctl.length - 1] ?? '', r);
    } else if (sub === 'timetolive') {
      const m = /"ttl":(-?\d+),"granted-ttl":(\d+)/.exec(r.stdout ?? '');
      const renewal = renewedBy.get(r.step.ctl[2] ?? '');
      if (m === null || Number(m[1]) < 0 || renewal?.startMs === undefined || renewal.endMs === undefined) return;
      const granted = Number(m[2]);
      const minElapsedS = Math.max(0, (r.startMs - renewal.endMs) / 1000);
      const maxElapsedS = ((r.endMs ?? 0) - renewal.startMs) / 1000;
      // int64(granted - e) = granted - ceil(e) for e > 0: never the full granted TTL once time passed.
      out.set(i, { ttl: Number(m[1]), min: Math.max(0, granted - Math.ceil(maxElapsedS)), max: granted - Math.ceil(minElapsedS) });
    }
  });
  return out;
}
