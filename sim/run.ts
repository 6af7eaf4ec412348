import { AssertionError, createRand } from '../src/util/index.js';
import type { NodeId, SeededRand } from '../src/util/index.js';
import { HistoryRecorder, pairOps } from '../histories/index.js';
import type { Op } from '../histories/index.js';
import { casRegisterModel, checkLinearizability, checkWatches, etcdModel } from '../checker/index.js';
import type { LinearizabilityReport, WatchReport } from '../checker/index.js';
import { encodePayload } from '../src/apply/index.js';
import type { ApplyResult } from '../src/apply/index.js';
import type { Message } from '../src/raft/index.js';
import { SimCluster } from './cluster.js';
import type { AnyCluster, ClusterOptions, SimMachine } from './cluster.js';
import { KvMachine } from './kv-machine.js';
import { KvWorkload } from './kv-workload.js';
import { RegisterMachine } from './register-machine.js';
import type { RegisterResult } from './register-machine.js';
import { clockOptions, diskOptions, drawFaultProfile, formatFaultProfile, networkOptions, withoutFaults } from './faults.js';
import type { FaultProfile } from './faults.js';
import { InvariantViolation } from './invariants.js';
import { SimLoop } from './loop.js';
import { SimNemesis } from './nemesis-driver.js';
import { RegisterWorkload } from './register-workload.js';
import { encodeCommand } from './register-machine.js';
import { ServiceRegistry } from './services.js';
import { WatchWorkload } from './watch-workload.js';
import { LeaseWorkload, checkLeaseExpiry, forwardJumps } from './lease-workload.js';
import { LockWorkload, mutualExclusionViolations } from './lock-workload.js';
import { makeAuthWorkload } from './auth-workload.js';
import { MembershipNemesis } from './membership-nemesis.js';
import type { TimedAction } from '../nemesis/index.js';
import { ScheduleInterpreter } from './schedule-interpreter.js';
import { checkInjected, quietProfile } from './schedule-options.js';
import type { InjectedInvariant, QuietFamily } from './schedule-options.js';

export interface SimRunOptions {
  readonly seed: number;
  /** Overrides the node count the seed chose. */
  readonly nodes?: 3 | 5;
  /** Virtual length of the safety phase (faults on). */
  readonly safetyMs?: number;
  /** After healing, the cluster must elect a leader and commit within this much virtual time. */
  readonly livenessBoundMs?: number;
  readonly clients?: number;
  /** Turns every fault off (a baseline run). */
  readonly noFaults?: boolean;
  readonly checkerTimeoutMs?: number;
  /** register: read/write/cas registers (fast per-key check); kv: etcd's KV API with revisions. */
  readonly workload?: WorkloadName;
  /** Adds the membership nemesis (add learner, promote, remove, transfer leadership) to the faults. */
  readonly membership?: boolean;
  /**
   * An explicit fault schedule (nemesis/ vocabulary, times in virtual ms) that replaces the
   * profile's random episodes; the profile's background faults stay unless `quiet` turns them off.
   */
  readonly schedule?: readonly TimedAction[];
  /** Background fault families of the seed's profile turned off (network loss, disk faults, clock skew). */
  readonly quiet?: readonly QuietFamily[];
  /** Clients start no new request once this many have completed (shrinking uses fewer ops). */
  readonly opsMax?: number;
  /** Test only: an invariant that fails a correct run on purpose (sim/schedule-options.ts). */
  readonly inject?: InjectedInvariant;
}

export type WorkloadName = 'register' | 'kv' | 'watch' | 'lease' | 'lock' | 'auth';

export const WORKLOAD_NAMES: readonly WorkloadName[] = ['register', 'kv', 'watch', 'lease', 'lock', 'auth'];

/** What a workload's own checks found beyond linearizability. */
export interface WorkloadVerdict {
  /** Correctness failures of the store (the run fails, exit 129). */
  readonly violations: readonly string[];
  /** Anomalies explained by injected faults (client pauses, clock faults): reported, not failures. */
  readonly findings: readonly string[];
  readonly summary: string;
  readonly watch?: WatchReport;
}

/** What the run needs from a workload, whichever state machine it drives. */
interface RunWorkload {
  readonly cluster: AnyCluster;
  readonly recorder: { history(): readonly Op[] } & ConstructorParameters<typeof SimNemesis>[4];
  completed(): number;
  start(): void;
  stop(): void;
  /** A write for the liveness probe, as an entry payload of this machine. */
  probePayload(n: number): Uint8Array;
  /** Linearizability of the workload's history; absent when it has only its own checks (lease, lock). */
  check?(timeoutMs: number): LinearizabilityReport;
  /** The workload's own checks (watches, lease expiry, mutual exclusion); none by default. */
  verdict?(): WorkloadVerdict;
}

export type SimStatus = 'pass' | 'crash' | 'liveness' | 'correctness';

export const EXIT_CODES: Readonly<Record<SimStatus, number>> = { pass: 0, crash: 127, liveness: 128, correctness: 129 };

export interface SimRunResult {
  readonly seed: number;
  readonly profile: FaultProfile;
  readonly profileText: string;
  readonly status: SimStatus;
  readonly message: string;
  readonly traceHash: string;
  readonly events: number;
  readonly virtualMs: number;
  readonly history: readonly Op[];
  readonly opsCompleted: number;
  readonly committedEntries: number;
  readonly leaderTerms: number;
  /** Linearizable reads the online read-point invariant verified. */
  readonly readsChecked: number;
  readonly nemesisActions: readonly string[];
  /** The fault steps the run executed, in the nemesis/ vocabulary: replaying them as `schedule` reproduces the run's faults. */
  readonly steps: readonly TimedAction[];
  /** Steps of an explicit schedule the simulator could not run (unknown node, no leader). */
  readonly skippedSteps: readonly string[];
  readonly clusterState: string;
  readonly trace: readonly string[];
  readonly linearizability?: LinearizabilityReport;
  readonly verdict?: WorkloadVerdict;
  readonly loop: SimLoop;
}

const DEFAULTS = { safetyMs: 30_000, livenessBoundMs: 20_000, clients: 5, checkerTimeoutMs: 20_000 };

/** The node settings every simulated member runs with: etcd's defaults scaled to 10 ms ticks. */
const NODE_SETTINGS = {
  tickMs: 10,
  electionTicks: 10,
  heartbeatTicks: 1,
  snapshotCount: 200,
  catchUpEntries: 50,
  maxInflightMsgs: 64,
  maxSizePerMsgBytes: 64 * 1024,
  walSegmentBytes: 64 * 1024,
};

/**
 * One seeded run: the seed's fault profile during a safety phase with a client workload, then a
 * liveness phase with every fault healed, then the linearizability check of the history.
 * Invariants are checked after every event. Everything derives from `seed`.
 */
export async function runSimulation(options: SimRunOptions): Promise<SimRunResult> {
  const root = createRand(options.seed);
  const drawn = drawFaultProfile(root);
  const profile = quietProfile(resize(drawn, options.nodes), options.quiet ?? []);
  const settings = { ...DEFAULTS, ...definedOnly(options) };
  // Node code's Promise chains are a few hops deep (proposal -> waiter -> client); 16 turns
  // settle them within the event, and deeper ones still advance in a fixed order.
  const loop = new SimLoop({ traceLogCapacity: 200, microtaskTurns: 16 });
  loop.observeRand(root);
  // Latent corruption hits one machine only: a member that finds its WAL corrupt stays down
  // (as etcd refuses to start), and the cluster must keep a quorum to be live.
  const corruptible = profile.nodeIds[0];
  const clusterOptions = {
    nodeIds: profile.nodeIds,
    node: { ...NODE_SETTINGS, snapshotCount: profile.snapshot.snapshotCount, catchUpEntries: profile.snapshot.catchUpEntries },
    chargeSyncLatency: profile.chargeSyncLatency,
    asyncSync: profile.asyncSync,
    snapDelay: (options.noFaults ? withoutFaults(profile) : profile).snapDelay,
    network: networkOptions<Message>(options.noFaults ? withoutFaults(profile) : profile),
    disk: (id: NodeId) => {
      const disk = diskOptions(options.noFaults ? withoutFaults(profile) : profile);
      // Latent corruption hits snapshot files only: a bit flip in the WAL's last record is
      // indistinguishable from a torn write and is cut as one, which would silently drop a
      // synced record (the WAL's own property tests cover WAL corruption and its detection).
      return id === corruptible ? { ...disk, corruptiblePath: (p: string) => p.startsWith('member/snap/') } : { ...disk, corruptionProb: 0 };
    },
    clock: (id: NodeId) => (profile.nodeIds.includes(id) ? clockOptions(profile, id) : {}),
    // Spare machines the membership nemesis may add (as learners, then voters).
    ...(options.membership ? { spareIds: spareIds(profile.nodeIds) } : {}),
  };
  const faultsOn = !options.noFaults;
  const wl = makeWorkload(options.workload ?? 'register', loop, root, clusterOptions, settings.clients, faultsOn && profile.pause.meanIntervalMs > 0);
  const cluster = wl.cluster;
  const nemesis = new SimNemesis(loop, cluster, root.fork('nemesis'), profile, wl.recorder);
  const membership = options.membership ? new MembershipNemesis(loop, cluster, root.fork('membership'), wl.recorder) : undefined;
  const steps: TimedAction[] = [];
  nemesis.onStep = (step) => steps.push(step);
  const interpreter = options.schedule ? new ScheduleInterpreter(loop, cluster, root.fork('schedule'), wl.recorder, (step) => steps.push(step)) : undefined;
  let opsDone = false;
  const afterEvent = (): false => {
    cluster.check();
    if (options.inject !== undefined) checkInjected(options.inject, cluster);
    if (!opsDone && options.opsMax !== undefined && wl.completed() >= options.opsMax) {
      opsDone = true;
      wl.stop();
    }
    return false;
  };
  let status: SimStatus = 'pass';
  let message = 'ok';
  try {
    cluster.start();
    wl.start();
    if (interpreter !== undefined && options.schedule !== undefined) interpreter.start(options.schedule);
    else if (!options.noFaults) nemesis.start();
    membership?.start();
    await loop.runUntil(afterEvent, settings.safetyMs);
    nemesis.stop();
    interpreter?.stop();
    membership?.stop();
    nemesis.healAll();
    const live = await livenessPhase(loop, cluster, settings.livenessBoundMs, (n) => wl.probePayload(n));
    wl.stop();
    // Let requests in flight answer or time out, so the history closes.
    await loop.runUntil(() => (cluster.check(), false), loop.nowMs + 1_500);
    cluster.checkAll();
    if (!live.ok) {
      status = 'liveness';
      message = live.message;
    }
  } catch (error) {
    ({ status, message } = classify(error));
  }
  let linearizability: LinearizabilityReport | undefined;
  if ((status === 'pass' || status === 'liveness') && wl.check) {
    linearizability = wl.check(settings.checkerTimeoutMs);
    if (linearizability.verdict === 'invalid') {
      status = 'correctness';
      const bad = linearizability.partitions.filter((p) => p.verdict === 'fail').map((p) => p.key);
      message = `history is not linearizable (keys ${bad.join(', ')})`;
    }
  }
  let verdict: WorkloadVerdict | undefined;
  if ((status === 'pass' || status === 'liveness') && wl.verdict) {
    verdict = wl.verdict();
    if (verdict.violations.length > 0 && status === 'pass') {
      status = 'correctness';
      message = `${verdict.summary}\n${verdict.violations.slice(0, 10).join('\n')}`;
    }
  }
  return {
    seed: options.seed,
    profile,
    profileText: formatFaultProfile(profile),
    status,
    message,
    traceHash: loop.traceHash(),
    events: loop.eventCount,
    virtualMs: loop.nowMs,
    history: wl.recorder.history(),
    opsCompleted: wl.completed(),
    committedEntries: cluster.invariants.committedCount(),
    leaderTerms: cluster.invariants.leaderTerms(),
    readsChecked: cluster.invariants.readsChecked,
    nemesisActions: [...nemesis.actions, ...(interpreter?.actions ?? []), ...(membership?.actions ?? [])],
    steps,
    skippedSteps: interpreter?.skipped ?? [],
    clusterState: cluster.describe(),
    trace: loop.traceLog().map((l) => `#${l.eventIndex} ${l.text}`),
    ...(linearizability ? { linearizability } : {}),
    ...(verdict ? { verdict } : {}),
    loop,
  };
}

/**
 * Every fault healed: a leader must emerge, a fresh write must commit through it, and every
 * running member must apply it, within the bound.
 */
async function livenessPhase(
  loop: SimLoop,
  cluster: AnyCluster,
  boundMs: number,
  probePayload: (n: number) => Uint8Array,
): Promise<{ ok: boolean; message: string }> {
  const deadline = loop.nowMs + boundMs;
  let committedIndex = 0;
  let inFlight = false;
  let probes = 0;
  const probe = (): void => {
    if (committedIndex > 0 || inFlight) return;
    const leader = cluster.leader();
    const node = leader === undefined ? undefined : cluster.node(leader);
    if (node === undefined || leader === undefined) return;
    inFlight = true;
    probes++;
    node.propose(probePayload(probes)).then(
      () => {
        committedIndex = node.observe().commitIndex;
        inFlight = false;
      },
      () => {
        inFlight = false;
      },
    );
  };
  const converged = (): boolean => {
    cluster.check();
    probe();
    if (committedIndex === 0) return false;
    return cluster.ids.every((id) => cluster.isBroken(id) || (cluster.node(id)?.observe().appliedIndex ?? 0) >= committedIndex);
  };
  const ok = await loop.runUntil(converged, deadline);
  if (ok) return { ok, message: 'ok' };
  const leader = cluster.leader();
  return {
    ok,
    message: `no convergence within ${boundMs}ms after healing: ${leader ? `leader ${leader}` : 'no leader'}, probe ${committedIndex > 0 ? `committed at ${committedIndex}` : 'not committed'}\n${cluster.describe()}`,
  };
}

type ClusterOptionsBase = Omit<ClusterOptions<unknown, SimMachine<unknown>>, 'machine'>;

function makeWorkload(name: WorkloadName, loop: SimLoop, root: SeededRand, base: ClusterOptionsBase, clients: number, holderPauses: boolean): RunWorkload {
  const link = { clients, linkLatencyMsMin: 0, linkLatencyMsMax: 5, requestTimeoutMs: 1_000, thinkMsMax: 50 };
  if (name === 'auth') return makeAuthWorkload(loop, root, base, link, NODE_SETTINGS.tickMs * NODE_SETTINGS.electionTicks);
  if (name === 'watch' || name === 'lease' || name === 'lock') return makeServiceWorkload(name, loop, root, base, link, holderPauses);
  if (name === 'kv') {
    const cluster = new SimCluster<ApplyResult, KvMachine>(loop, root.fork('cluster'), {
      ...base,
      machine: (_id, onApply, clock, onState) => new KvMachine(onApply, clock, onState),
    });
    const workload = new KvWorkload(loop, cluster, root.fork('workload'), { ...link, keys: 3 });
    return {
      cluster,
      recorder: workload.recorder,
      completed: () => workload.completed,
      start: () => workload.start(),
      stop: () => workload.stop(),
      // A write through Raft that leaves the keyspace (and its revision) alone, so the probe
      // does not show up as an unexplained revision in the clients' history.
      probePayload: kvProbePayload,
      // The workload records `fail` only for requests refused before Raft saw them, so a fail
      // here certainly did not happen and is left out; unknown outcomes are recorded `info`.
      check: (timeoutMs) =>
        checkLinearizability(etcdModel(), pairOps(workload.recorder.history()).filter((op) => op.status !== 'fail'), { timeoutMs }),
    };
  }
  const cluster = new SimCluster<RegisterResult, RegisterMachine>(loop, root.fork('cluster'), { ...base, machine: (_id, onApply) => new RegisterMachine(onApply) });
  const workload = new RegisterWorkload(loop, cluster, root.fork('workload'), { ...link, keys: 3, readRatio: 0.4 });
  return {
    cluster,
    recorder: workload.recorder,
    completed: () => workload.completed,
    start: () => workload.start(),
    stop: () => workload.stop(),
    probePayload: (n) => encodeCommand({ op: 'write', key: 'liveness', value: n }),
    check: (timeoutMs) => checkLinearizability(casRegisterModel(), pairOps(workload.recorder.history()), { timeoutMs }),
  };
}

/** A write for the liveness probe that leaves the keyspace (and its revision) alone. */
function kvProbePayload(): Uint8Array {
  return encodePayload({ alarm: { action: 'deactivate', memberId: '0', alarm: 'NOSPACE' } });
}

type Link = { clients: number; linkLatencyMsMin: number; linkLatencyMsMax: number; requestTimeoutMs: number; thinkMsMax: number };

/** Workloads over the real KV, Lease and Watch services of every member (sim/services.ts). */
function makeServiceWorkload(name: 'watch' | 'lease' | 'lock', loop: SimLoop, root: SeededRand, base: ClusterOptionsBase, link: Link, holderPauses: boolean): RunWorkload {
  const services = new ServiceRegistry({ requestTimeoutMs: link.requestTimeoutMs, electionTimeoutMs: NODE_SETTINGS.tickMs * NODE_SETTINGS.electionTicks });
  let onRequest: ((index: number, request: Record<string, unknown>) => void) | undefined;
  const cluster = new SimCluster<ApplyResult, KvMachine>(loop, root.fork('cluster'), {
    ...base,
    machine: (_id, onApply, clock, onState) => new KvMachine(onApply, clock, onState, (i, r) => onRequest?.(i, r)),
    onStart: (id, node, machine) => services.onStart(id, node, machine),
  });
  services.attach(cluster);
  const rand = root.fork('workload');
  if (name === 'watch') {
    const kv = new KvWorkload(loop, cluster, rand, { ...link, keys: 3 });
    const watch = new WatchWorkload(loop, cluster, services, kv.recorder, root.fork('watchers'), {
      watchers: 4,
      keys: 3,
      sessionMsMin: 200,
      sessionMsMax: 3_000,
      compactEveryMs: 3_000,
      compactKeepRevisions: 10,
    });
    return {
      cluster,
      recorder: kv.recorder,
      completed: () => kv.completed,
      start: () => (kv.start(), watch.start()),
      stop: () => (kv.stop(), watch.stop()),
      probePayload: kvProbePayload,
      check: (timeoutMs) =>
        checkLinearizability(etcdModel(), pairOps(kv.recorder.history()).filter((op) => op.status !== 'fail' && op.f !== 'watch' && op.f !== 'compact'), { timeoutMs }),
      verdict: () => {
        const report = checkWatches(pairOps(kv.recorder.history()));
        const violations = report.anomalies.map((a) => `watch ${a.name}: ${a.explanation}`);
        const summary = `watch: ${report.watchers} watch sessions (${watch.sessions} opened), ${report.eventsChecked} events checked, ${watch.compactions.length} compactions, ${watch.compactNotices} compaction notices, ${report.verdict}`;
        return { violations, findings: [], summary, watch: report };
      },
    };
  }
  if (name === 'lease') {
    const recorder = new HistoryRecorder();
    const lease = new LeaseWorkload(loop, cluster, services, recorder, rand, { ...link, clients: Math.max(2, link.clients) });
    onRequest = (i, r) => lease.onRequest(i, r);
    return {
      cluster,
      recorder,
      completed: () => lease.completed,
      start: () => lease.start(),
      stop: () => lease.stop(),
      probePayload: kvProbePayload,
        verdict: () => {
        const drift = Math.max(1, ...base.nodeIds.map((id) => base.clock(id).driftRate ?? 1));
        const { violations, findings } = checkLeaseExpiry(lease, { driftRateMax: drift, forwardJumps: forwardJumps(recorder.history()) });
        const summary = `lease: ${lease.leases.size} leases granted, ${lease.revokeAppliedMs.size} revoked (by client or expiry), ${violations.length} early expiries, ${findings.length} findings`;
        return { violations, findings, summary };
      },
    };
  }
  const recorder = new HistoryRecorder();
  const lock = new LockWorkload(loop, cluster, services, recorder, rand, { ...link, holders: Math.max(2, Math.min(4, link.clients)), ttlSeconds: 2, holderPauses });
  const clockFaults = base.nodeIds.some((id) => (base.clock(id).driftRate ?? 1) !== 1);
  return {
    cluster,
    recorder,
    completed: () => lock.completed,
    start: () => lock.start(),
    stop: () => lock.stop(),
    probePayload: kvProbePayload,
    verdict: () => {
      const jumps = forwardJumps(recorder.history()).length > 0;
      const violations: string[] = [];
      const findings: string[] = [];
      for (const { a, b } of mutualExclusionViolations(lock.intervals, loop.nowMs)) {
        const text = `holders ${a.holder} (lease ${a.lease}, ${a.enterMs}-${a.exitMs ?? 'end'}ms${a.paused ? ', paused' : ''}) and ${b.holder} (lease ${b.lease}, ${b.enterMs}-${b.exitMs ?? 'end'}ms${b.paused ? ', paused' : ''}) inside at once`;
        if (a.paused || b.paused || clockFaults || jumps) findings.push(`mutual exclusion (explained by ${a.paused || b.paused ? 'a holder pause' : 'clock faults'}): ${text}`);
        else violations.push(`mutual exclusion: ${text}`);
      }
      const summary = `lock: ${lock.intervals.length} critical sections, ${lock.intervals.filter((i) => i.paused).length} with a holder pause, ${violations.length} unexplained overlaps, ${findings.length} explained overlaps`;
      return { violations, findings, summary };
    },
  };
}

function classify(error: unknown): { status: SimStatus; message: string } {
  if (error instanceof InvariantViolation) return { status: 'correctness', message: error.message };
  if (error instanceof AssertionError) return { status: 'crash', message: `assertion failed: ${error.message}\n${error.stack ?? ''}` };
  return { status: 'crash', message: `unexpected error: ${error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error)}` };
}

function spareIds(nodeIds: readonly NodeId[]): NodeId[] {
  return [1, 2].map((k) => `n${nodeIds.length + k}` as NodeId);
}

function resize(profile: FaultProfile, nodes: 3 | 5 | undefined): FaultProfile {
  if (nodes === undefined || nodes === profile.nodeCount) return profile;
  const nodeIds = profile.nodeIds.slice(0, nodes);
  while (nodeIds.length < nodes) nodeIds.push(`n${nodeIds.length + 1}` as NodeId);
  const clockNodes = nodeIds.map((id) => profile.clock.nodes.find((n) => n.nodeId === id) ?? { nodeId: id, skewMs: 0, driftRate: 1 });
  return { ...profile, nodeCount: nodes, nodeIds, clock: { ...profile.clock, nodes: clockNodes } };
}

function definedOnly(options: SimRunOptions): Partial<typeof DEFAULTS> {
  const out: Partial<typeof DEFAULTS> = {};
  if (options.safetyMs !== undefined) out.safetyMs = options.safetyMs;
  if (options.livenessBoundMs !== undefined) out.livenessBoundMs = options.livenessBoundMs;
  if (options.clients !== undefined) out.clients = options.clients;
  if (options.checkerTimeoutMs !== undefined) out.checkerTimeoutMs = options.checkerTimeoutMs;
  return out;
}
