/**
 * One Jepsen-style run: network, members, leader, workers + nemesis for `timeS`, heal
 * everything, a recovery phase, stop, check, write the reports. Every namespace, route and
 * process is removed on the way out, also when something throws; `abortActiveRuns()` does the
 * same from a signal handler.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { HistoryRecorder } from '../../histories/index.js';
import type { FaultFamily, NodeName, Schedule } from '../../nemesis/index.js';
import { formatSchedule, generateSchedule } from '../../nemesis/index.js';
import { createRand } from '../../src/util/index.js';
import { buildServer } from './build.js';
import { RealCluster } from './cluster.js';
import { Workers } from './clients.js';
import type { ClientStats, Workload } from './clients.js';
import { ListAppendWorkload } from './list-append.js';
import { Members } from './members.js';
import { NemesisDriver } from './nemesis-driver.js';
import { createNetwork } from './net.js';
import type { Network } from './net.js';
import type { FaultKind, JepsenOptions } from './options.js';
import { RegisterWorkload } from './register.js';
import { checkAndWrite } from './report.js';
import type { Summary } from './report.js';
import { periodicSchedule } from './schedule.js';
import { Watchers, WatchWriteWorkload } from './watch.js';

export interface RunResult {
  readonly summary: Summary;
  /** The checker's text report. */
  readonly checkText: string;
  /** 0 valid, 1 invalid, 2 unknown. */
  readonly exitCode: number;
}

const LEADER_TIMEOUT_MS = 60_000;

const active = new Set<() => Promise<void>>();

/** Tears down every run in progress (for SIGINT / SIGTERM handlers). */
export async function abortActiveRuns(): Promise<void> {
  await Promise.all([...active].map((teardown) => teardown()));
}

function workloadOf(o: JepsenOptions): Workload {
  const rand = createRand(o.seed).fork('workload');
  if (o.workload === 'register') return new RegisterWorkload(rand, { keys: o.keys, opsPerKey: 300, readRatio: 0.5 });
  if (o.workload === 'watch') return new WatchWriteWorkload(rand, o.keys);
  return new ListAppendWorkload(rand, { keys: o.keys * 2, txnsPerKey: 60, maxMicroOps: 4 });
}

/** The periodic loop, or the vocabulary's seeded generator (overlapping episodes of random length). */
function scheduleOf(o: JepsenOptions, names: readonly NodeName[], kinds: readonly FaultKind[]): Schedule {
  const durationMs = o.timeS * 1000;
  if (o.schedule === 'periodic') return periodicSchedule(createRand(o.seed).fork('nemesis'), { nodes: names, kinds, durationMs, quietMs: o.quietS * 1000, faultMs: o.faultS * 1000 });
  const families = kinds.map((k): FaultFamily => (k === 'kill' ? 'crash' : k));
  const maxEpisodes = Math.max(1, Math.round(o.timeS / (o.quietS + o.faultS)));
  return generateSchedule(o.seed, { nodes: names, durationMs, families, maxEpisodes, maxEpisodeMs: o.faultS * 1000 });
}

/**
 * The recovery phase: at least `recoveryS`, and until an op succeeds after the heal (members
 * restarted under load may take many seconds to serve), at most `recoveryMaxS`. Returns the
 * seconds from heal to the first ok, or undefined if none came.
 */
async function waitForRecovery(workers: Workers, okAtHeal: number, o: JepsenOptions): Promise<number | undefined> {
  const startedMs = Date.now();
  let recoveredAfterS: number | undefined;
  for (;;) {
    const elapsedMs = Date.now() - startedMs;
    if (recoveredAfterS === undefined && workers.stats.ok > okAtHeal) recoveredAfterS = elapsedMs / 1000;
    if (elapsedMs >= o.recoveryS * 1000 && (recoveredAfterS !== undefined || elapsedMs >= o.recoveryMaxS * 1000)) return recoveredAfterS;
    await sleep(100);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Phase {
  readonly net: Network;
  readonly members: Members;
  readonly cluster: RealCluster;
}

async function bringUp(o: JepsenOptions, outDir: string, names: NodeName[], log: (l: string) => void, register: (t: () => Promise<void>) => void): Promise<Phase> {
  const compiledEntry = o.compiled && o.target === 'tsetcd' ? await buildServer(log) : undefined;
  const net = await createNetwork(o.net, names, log);
  let members: Members | undefined;
  let cluster: RealCluster | undefined;
  let torn = false;
  // Registered before any member starts, so an interrupt from here on removes everything.
  register(async () => {
    if (torn) return;
    torn = true;
    cluster?.close();
    await members?.stopAll();
    await net.teardown();
  });
  members = new Members(names, o.target, net, outDir, `jepsen-${process.pid}-${o.seed}`, compiledEntry);
  cluster = new RealCluster(members, net);
  for (const n of names) members.start(n);
  const leader = await cluster.waitForLeader(LEADER_TIMEOUT_MS);
  log(`cluster up (${o.target}, ${net.mode}): ${names.map((n) => `${n}=${members?.clientUrl(n) ?? ''}`).join(' ')}; leader ${leader}`);
  return { net, members, cluster };
}

export async function runJepsen(o: JepsenOptions, log: (line: string) => void = console.log): Promise<RunResult> {
  const outDir = o.out === undefined ? mkdtempSync(join(tmpdir(), `tsetcd-jepsen-${o.target}-`)) : resolve(o.out);
  mkdirSync(outDir, { recursive: true });
  const names = Array.from({ length: o.nodes }, (_, i) => `n${i + 1}`);
  const notes: string[] = [];
  let teardown: (() => Promise<void>) | undefined;
  let workers: Workers | undefined;
  let watchers: Watchers | undefined;
  const register = (t: () => Promise<void>): void => {
    teardown = t;
    active.add(t);
  };
  try {
    const { net, members, cluster } = await bringUp(o, outDir, names, log, register);
    let kinds: readonly FaultKind[] = o.nemesis;
    if (kinds.includes('partition') && !net.canPartition) {
      kinds = kinds.filter((k) => k !== 'partition');
      notes.push('partition unavailable without network namespaces: not run');
    }
    const schedule = scheduleOf(o, names, kinds);
    log(formatSchedule(schedule));
    const recorder = new HistoryRecorder();
    const t0 = process.hrtime.bigint();
    const nowNs = (): number => Number(process.hrtime.bigint() - t0);
    workers = new Workers({ recorder, nowNs, nodes: names, urlOf: (n) => members.clientUrl(n), clients: o.clients, opTimeoutMs: o.opTimeoutMs, workload: workloadOf(o) });
    const driver = new NemesisDriver(cluster, recorder, nowNs, log);
    cluster.startLeaderPolling();
    watchers = o.workload === 'watch'
      ? new Watchers({ recorder, nowNs, nodes: names, urlOf: (n) => members.clientUrl(n), rand: createRand(o.seed).fork('watchers'), sessionMsMin: 2_000, sessionMsMax: 8_000 })
      : undefined;
    watchers?.start();
    workers.start();
    let nemesisError: unknown;
    const nemesis = driver.run(schedule, 0).catch((error: unknown) => void (nemesisError = error));
    await sleep(o.timeS * 1000);
    driver.stop();
    await nemesis;
    if (nemesisError !== undefined) throw nemesisError;
    log('healing: network, paused and killed members');
    await driver.apply({ f: 'heal' });
    for (const n of names) await driver.apply({ f: 'resume', node: { by: 'id', id: n } });
    for (const n of names) await driver.apply({ f: 'restart', node: { by: 'id', id: n } });
    const okBeforeRecovery = workers.stats.ok;
    const recoveredAfterS = await waitForRecovery(workers, okBeforeRecovery, o);
    const stats: ClientStats = await workers.stop();
    // Let the watchers receive the last writes before their sessions end.
    if (watchers !== undefined) {
      await sleep(1_000);
      await watchers.stop();
      notes.push(`watch: ${watchers.sessionsOpened} sessions (${watchers.sessionsBroken} broken by faults), ${watchers.eventsReceived} events received`);
    }
    const workloadS = nowNs() / 1e9;
    const recoveryOk = stats.ok - okBeforeRecovery;
    if (recoveredAfterS === undefined) notes.push(`no operation succeeded within ${o.recoveryMaxS} s after the faults were healed (liveness)`);
    const faultsApplied = driver.faultsApplied();
    const netMode = net.mode;
    const namespaces = [...net.namespaces];
    await teardown?.();
    log(`workload done: ${stats.invoked} ops in ${workloadS.toFixed(1)} s; checking...`);
    const model = o.workload === 'register' ? 'cas-register' : o.workload === 'watch' ? 'watch' : 'list-append';
    const { summary, text } = checkAndWrite(outDir, recorder.history(), model, o.checkTimeoutS * 1000, (c) => ({
      target: o.target, workload: o.workload, model: c.model, nodes: o.nodes, nemesis: kinds, net: netMode, namespaces, seed: o.seed,
      verdict: c.verdict, workloadS, ops: stats, okPerS: stats.ok / workloadS, faultsApplied, faults: driver.faults,
      recoveryOk, recoveredAfterS: recoveredAfterS ?? null, checkMs: c.checkMs, outDir, notes,
    }));
    return { summary, checkText: text, exitCode: summary.verdict === 'valid' ? 0 : summary.verdict === 'invalid' ? 1 : 2 };
  } finally {
    // On an error the workers may still be running: stop them before their members go.
    await workers?.stop().catch(() => undefined);
    await watchers?.stop().catch(() => undefined);
    if (teardown !== undefined) {
      await teardown();
      active.delete(teardown);
    }
  }
}
