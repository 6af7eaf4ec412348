/**
 * The per-seed fault profile: which faults a simulated run suffers and how hard, drawn from the
 * seed's own 'profile' sub-stream and printable in full, so `npm run sim -- --seed N` can say
 * what seed N chose before it runs.
 *
 * Swarm testing: each fault family is switched on or off per seed, rather than every seed mixing
 * a little of everything, because some bugs only show when one fault dominates (lots of crashes
 * and no partitions, say). Each family draws from its own fork ('profile/net', 'profile/crash',
 * ...), so adding a family or a knob in one does not change what existing seeds chose in others.
 *
 * Intervals are uniform in [mean/2, 3*mean/2] rather than exponential: Math.log is not required
 * to be correctly rounded, and a replay must give the same integers on every machine.
 */
import { assert, nodeId } from '../src/util/index.js';
import type { NodeId, SeededRand } from '../src/util/index.js';
import type { SimClockOptions } from './clock.js';
import type { SimDiskOptions } from './disk.js';
import type { SimNetworkOptions } from './network.js';

export interface NetworkProfile {
  readonly latencyMsMin: number;
  readonly latencyMsMax: number;
  readonly lossRate: number;
  readonly duplicateRate: number;
  readonly reorderRate: number;
  readonly reorderExtraMsMax: number;
}

/** A fault that comes and goes: mean time between starts (0 = never) and how long it lasts. */
export interface EpisodeProfile {
  readonly meanIntervalMs: number;
  readonly durationMsMin: number;
  readonly durationMsMax: number;
}

/**
 * 'isolate-leader' cuts the current leader from its peers only: clients still reach it (client
 * calls do not cross SimNetwork), so a deposed leader that still believes it leads gets reads.
 */
export type PartitionKind = 'halves' | 'isolate' | 'one-way' | 'bridge' | 'slow-link' | 'isolate-leader';

export interface PartitionProfile extends EpisodeProfile {
  readonly kinds: readonly PartitionKind[];
}

export interface NodeClockProfile {
  readonly nodeId: NodeId;
  readonly skewMs: number;
  readonly driftRate: number;
}

export interface ClockProfile {
  readonly nodes: readonly NodeClockProfile[];
  /** Clock steps (NTP jumps): mean interval (0 = never) and largest step either way. */
  readonly jumpMeanIntervalMs: number;
  readonly jumpMsMax: number;
}

export interface DiskProfile {
  readonly tornWriteProb: number;
  readonly corruptionProb: number;
  readonly syncFailProb: number;
  readonly writeFailProb: number;
  readonly syncLatencyMsMin: number;
  readonly syncLatencyMsMax: number;
  readonly slowSyncProb: number;
  readonly slowSyncMsMax: number;
}

/** Power loss: a majority (or, with `allProb`, every member) crashes in one event. */
export interface PowerLossProfile extends EpisodeProfile {
  readonly allProb: number;
}

/**
 * Crash triggers: a member dies right after it sends a vote grant or an append acknowledgement
 * (the moments where a vote or an entry not made durable would be lost), and comes back after
 * a short downtime. 0 = off.
 */
export interface CrashTriggerProfile {
  readonly voteGrantProb: number;
  readonly appendAckProb: number;
  /** A leader dies right after it sends an append or heartbeat carrying a higher commit index. */
  readonly leaderCommitProb: number;
  readonly downMsMin: number;
  readonly downMsMax: number;
}

/** Slow ticks: one member's timers run `factor` times late (an overloaded host), for a while. */
export interface SlowTickProfile extends EpisodeProfile {
  readonly factorMax: number;
  /** Chance the victim is the leader (check-quorum then runs late). */
  readonly leaderProb: number;
}

/** Snapshot and compaction cadence the members run with (etcd's --snapshot-count). */
export interface SnapshotProfile {
  readonly snapshotCount: number;
  readonly catchUpEntries: number;
}

/** Delayed snapshot delivery: etcd streams snapshots on their own connection, which can lag. */
export interface SnapDelayProfile {
  readonly prob: number;
  readonly delayMsMin: number;
  readonly delayMsMax: number;
}

export interface FaultProfile {
  readonly seed: number;
  readonly nodeCount: 3 | 5;
  readonly nodeIds: readonly NodeId[];
  readonly network: NetworkProfile;
  readonly partition: PartitionProfile;
  /** Crash (kill -9) episodes: duration is how long the node stays down. */
  readonly crash: EpisodeProfile;
  /** Process pauses (SIGSTOP, GC): duration is how long the node is frozen. */
  readonly pause: EpisodeProfile;
  readonly clock: ClockProfile;
  readonly disk: DiskProfile;
  /** The first episode of each family starts in [0, mean] rather than [mean/2, 3*mean/2]. */
  readonly earlyFirstFault: boolean;
  readonly powerLoss: PowerLossProfile;
  readonly crashTrigger: CrashTriggerProfile;
  readonly slowTick: SlowTickProfile;
  readonly snapshot: SnapshotProfile;
  readonly snapDelay: SnapDelayProfile;
  /** The disk's sync latency delays the member's outgoing messages (persist, then send). */
  readonly chargeSyncLatency: boolean;
  /**
   * The WAL's fdatasync runs asynchronously (as on real processes, where it runs on libuv's
   * thread pool): the member keeps taking requests while the sync takes its latency. Off, the
   * sync blocks the member (the path the seeds before async persistence were recorded with).
   */
  readonly asyncSync: boolean;
}

// New kinds go at the end: each kind draws one chance in order, so earlier kinds keep their draws.
const ALL_PARTITION_KINDS: readonly PartitionKind[] = ['halves', 'isolate', 'one-way', 'bridge', 'slow-link', 'isolate-leader'];

/** etcd's defaults as the simulator scales them; the small profile snapshots every 10-50 entries. */
export const DEFAULT_SNAPSHOT: SnapshotProfile = { snapshotCount: 200, catchUpEntries: 50 };

/** A rate rounded to 4 decimals so the printed profile is exactly the one used. */
function rate(rand: SeededRand, max: number): number {
  return Math.round(rand.float() * max * 10_000) / 10_000;
}

function drawNetwork(rand: SeededRand): NetworkProfile {
  const latencyMsMin = rand.between(0, 5);
  const latencyMsMax = latencyMsMin + rand.between(0, rand.chance(0.2) ? 200 : 20);
  const lossy = rand.chance(0.5);
  return {
    latencyMsMin,
    latencyMsMax,
    lossRate: lossy ? rate(rand, 0.2) : 0,
    duplicateRate: rand.chance(0.3) ? rate(rand, 0.1) : 0,
    reorderRate: rand.chance(0.5) ? rate(rand, 0.3) : 0,
    reorderExtraMsMax: rand.between(1, 100),
  };
}

function drawEpisode(rand: SeededRand, onProb: number, meanMsMin: number, meanMsMax: number, durMsMin: number, durMsMax: number): EpisodeProfile {
  if (!rand.chance(onProb)) return { meanIntervalMs: 0, durationMsMin: 0, durationMsMax: 0 };
  const durationMsMin = rand.between(durMsMin, durMsMax);
  return {
    meanIntervalMs: rand.between(meanMsMin, meanMsMax),
    durationMsMin,
    durationMsMax: rand.between(durationMsMin, durMsMax * 2),
  };
}

function drawPartition(rand: SeededRand): PartitionProfile {
  const episode = drawEpisode(rand, 0.6, 500, 10_000, 100, 5_000);
  const kinds = ALL_PARTITION_KINDS.filter(() => rand.chance(0.6));
  return { ...episode, kinds: episode.meanIntervalMs === 0 ? [] : kinds.length > 0 ? kinds : ['halves'] };
}

function drawClock(rand: SeededRand, nodeIds: readonly NodeId[]): ClockProfile {
  const skewMsMax = rand.chance(0.5) ? rand.between(0, 2_000) : 0;
  const driftPpmMax = rand.chance(0.5) ? rand.between(0, 1_000) : 0;
  const nodes = nodeIds.map((id) => {
    const skewMs = skewMsMax === 0 ? 0 : rand.between(-skewMsMax, skewMsMax);
    const driftPpm = driftPpmMax === 0 ? 0 : rand.between(-driftPpmMax, driftPpmMax);
    return { nodeId: id, skewMs, driftRate: 1 + driftPpm / 1_000_000 };
  });
  const jumps = rand.chance(0.2);
  return { nodes, jumpMeanIntervalMs: jumps ? rand.between(2_000, 30_000) : 0, jumpMsMax: jumps ? rand.between(1, 5_000) : 0 };
}

function drawDisk(rand: SeededRand): DiskProfile {
  const syncLatencyMsMin = rand.between(0, 2);
  const slow = rand.chance(0.3);
  return {
    tornWriteProb: rand.chance(0.7) ? rate(rand, 1) : 0,
    // Rarer: a node that finds corruption or hits EIO must stop, which costs the cluster a member.
    corruptionProb: rand.chance(0.1) ? rate(rand, 0.2) : 0,
    syncFailProb: rand.chance(0.1) ? rate(rand, 0.002) : 0,
    writeFailProb: rand.chance(0.05) ? rate(rand, 0.001) : 0,
    syncLatencyMsMin,
    syncLatencyMsMax: syncLatencyMsMin + rand.between(0, 10),
    slowSyncProb: slow ? rate(rand, 0.05) : 0,
    slowSyncMsMax: slow ? rand.between(10, 2_000) : 0,
  };
}

function drawPowerLoss(rand: SeededRand): PowerLossProfile {
  const episode = drawEpisode(rand, 0.35, 2_000, 15_000, 10, 1_000);
  return { ...episode, allProb: episode.meanIntervalMs === 0 ? 0 : rate(rand, 1) };
}

function drawCrashTrigger(rand: SeededRand): CrashTriggerProfile {
  if (!rand.chance(0.4)) return { voteGrantProb: 0, appendAckProb: 0, leaderCommitProb: 0, downMsMin: 0, downMsMax: 0 };
  const downMsMin = rand.between(1, 20);
  return {
    voteGrantProb: rand.chance(0.7) ? rate(rand, 0.5) : 0,
    // Acks are frequent (one per append): keep the expected crashes to a few per second.
    appendAckProb: rand.chance(0.7) ? rate(rand, 0.01) : 0,
    leaderCommitProb: 0,
    downMsMin,
    downMsMax: downMsMin + rand.between(0, 300),
  };
}

/** Drawn from a fork of its own (added after the other triggers), so their draws stay as they were. */
function withLeaderCommitTrigger(t: CrashTriggerProfile, rand: SeededRand): CrashTriggerProfile {
  if (!rand.chance(0.25)) return t;
  const leaderCommitProb = Math.max(0.01, rate(rand, 0.1));
  const off = t.voteGrantProb === 0 && t.appendAckProb === 0;
  return { ...t, leaderCommitProb, ...(off ? { downMsMin: 1, downMsMax: rand.between(1, 300) } : {}) };
}

function drawSlowTick(rand: SeededRand): SlowTickProfile {
  const episode = drawEpisode(rand, 0.3, 1_000, 10_000, 200, 3_000);
  return { ...episode, factorMax: episode.meanIntervalMs === 0 ? 1 : rand.between(2, 8), leaderProb: episode.meanIntervalMs === 0 ? 0 : 0.7 };
}

function drawSnapshot(rand: SeededRand): SnapshotProfile {
  if (!rand.chance(0.3)) return DEFAULT_SNAPSHOT;
  const snapshotCount = rand.between(10, 50);
  return { snapshotCount, catchUpEntries: rand.between(2, Math.max(2, Math.floor(snapshotCount / 4))) };
}

function drawSnapDelay(rand: SeededRand): SnapDelayProfile {
  if (!rand.chance(0.3)) return { prob: 0, delayMsMin: 0, delayMsMax: 0 };
  const delayMsMin = rand.between(100, 1_000);
  return { prob: Math.max(0.05, rate(rand, 0.8)), delayMsMin, delayMsMax: delayMsMin + rand.between(0, 4_000) };
}

/** The profile of `seed`, drawn from `root.fork('profile')`; `root` must be the seed's root stream. */
export function drawFaultProfile(root: SeededRand): FaultProfile {
  assert(root.label === '', () => `drawFaultProfile wants the root stream, got '${root.label}'`);
  const profile = root.fork('profile');
  const nodeCount: 3 | 5 = profile.fork('size').chance(0.5) ? 5 : 3;
  const nodeIds = Array.from({ length: nodeCount }, (_, i) => nodeId(`n${i + 1}`));
  return {
    seed: root.seed,
    nodeCount,
    nodeIds,
    network: drawNetwork(profile.fork('net')),
    partition: drawPartition(profile.fork('partition')),
    crash: drawEpisode(profile.fork('crash'), 0.6, 1_000, 20_000, 10, 5_000),
    pause: drawEpisode(profile.fork('pause'), 0.4, 1_000, 20_000, 10, 3_000),
    clock: drawClock(profile.fork('clock'), nodeIds),
    disk: drawDisk(profile.fork('disk')),
    // Each new family has a fork of its own, so the families above keep what they drew.
    earlyFirstFault: profile.fork('early').chance(0.7),
    powerLoss: drawPowerLoss(profile.fork('power')),
    crashTrigger: withLeaderCommitTrigger(drawCrashTrigger(profile.fork('trigger')), profile.fork('trigger-commit')),
    slowTick: drawSlowTick(profile.fork('slowtick')),
    snapshot: drawSnapshot(profile.fork('snapshot')),
    snapDelay: drawSnapDelay(profile.fork('snapdelay')),
    chargeSyncLatency: profile.fork('synccharge').chance(0.5),
    asyncSync: profile.fork('asyncsync').chance(0.75),
  };
}

/** The same cluster with every fault off: the liveness phase, or a baseline for debugging. */
export function withoutFaults(p: FaultProfile): FaultProfile {
  const off: EpisodeProfile = { meanIntervalMs: 0, durationMsMin: 0, durationMsMax: 0 };
  return {
    ...p,
    network: { ...p.network, lossRate: 0, duplicateRate: 0, reorderRate: 0 },
    partition: { ...off, kinds: [] },
    crash: off,
    pause: off,
    clock: { ...p.clock, jumpMeanIntervalMs: 0, jumpMsMax: 0 },
    disk: { ...p.disk, tornWriteProb: 0, corruptionProb: 0, syncFailProb: 0, writeFailProb: 0, slowSyncProb: 0, slowSyncMsMax: 0 },
    powerLoss: { ...off, allProb: 0 },
    crashTrigger: { voteGrantProb: 0, appendAckProb: 0, leaderCommitProb: 0, downMsMin: 0, downMsMax: 0 },
    slowTick: { ...off, factorMax: 1, leaderProb: 0 },
    snapDelay: { prob: 0, delayMsMin: 0, delayMsMax: 0 },
  };
}

export function networkOptions<M>(p: FaultProfile): SimNetworkOptions<M> {
  return { ...p.network };
}

export function diskOptions(p: FaultProfile): SimDiskOptions {
  return { ...p.disk };
}

export function clockOptions(p: FaultProfile, id: NodeId): SimClockOptions {
  const node = p.clock.nodes.find((n) => n.nodeId === id);
  assert(node !== undefined, () => `clockOptions: ${id} is not in the profile`);
  return { skewMs: node.skewMs, driftRate: node.driftRate };
}

/**
 * Next episode start, `meanMs` on average; undefined if the episode kind is off. `first` draws
 * from [1, mean] instead, so short runs (what a campaign of hundreds of seeds can afford) still
 * see every enabled family.
 */
export function drawIntervalMs(rand: SeededRand, meanMs: number, first = false): number | undefined {
  if (meanMs <= 0) return undefined;
  if (first) return rand.between(1, Math.max(1, Math.floor(meanMs)));
  return rand.between(Math.max(1, Math.floor(meanMs / 2)), Math.max(1, Math.floor((3 * meanMs) / 2)));
}

function episode(e: EpisodeProfile): string {
  return e.meanIntervalMs === 0 ? 'off' : `every ~${e.meanIntervalMs}ms for ${e.durationMsMin}-${e.durationMsMax}ms`;
}

/** The profile in full, one family per line, headed "seed N chose:". */
export function formatFaultProfile(p: FaultProfile): string {
  const n = p.network;
  const d = p.disk;
  const clocks = p.clock.nodes.map((c) => `${c.nodeId} skew ${c.skewMs}ms drift ${c.driftRate}`).join(', ');
  return [
    `seed ${p.seed} chose:`,
    `  nodes:     ${p.nodeCount} (${p.nodeIds.join(' ')})`,
    `  network:   latency ${n.latencyMsMin}-${n.latencyMsMax}ms, loss ${n.lossRate}, duplicate ${n.duplicateRate}, reorder ${n.reorderRate} (+${n.reorderExtraMsMax}ms)`,
    `  partition: ${episode(p.partition)}${p.partition.kinds.length > 0 ? ` kinds ${p.partition.kinds.join(',')}` : ''}`,
    `  crash:     ${episode(p.crash)}`,
    `  pause:     ${episode(p.pause)}`,
    `  clock:     ${clocks}; jumps ${p.clock.jumpMeanIntervalMs === 0 ? 'off' : `every ~${p.clock.jumpMeanIntervalMs}ms up to ±${p.clock.jumpMsMax}ms`}`,
    `  disk:      torn ${d.tornWriteProb}, corruption ${d.corruptionProb}, sync EIO ${d.syncFailProb}, ENOSPC ${d.writeFailProb}, sync ${d.syncLatencyMsMin}-${d.syncLatencyMsMax}ms, slow ${d.slowSyncProb} (+${d.slowSyncMsMax}ms)${p.chargeSyncLatency ? ', charged to sends' : ''}${p.asyncSync ? ', WAL sync async' : ''}`,
    `  first:     ${p.earlyFirstFault ? 'each family within [0, mean]' : 'each family within [mean/2, 3*mean/2]'}`,
    `  power:     ${episode(p.powerLoss)}${p.powerLoss.meanIntervalMs === 0 ? '' : `, all members ${p.powerLoss.allProb}, else a majority`}`,
    `  trigger:   ${formatTrigger(p.crashTrigger)}`,
    `  slow tick: ${episode(p.slowTick)}${p.slowTick.meanIntervalMs === 0 ? '' : ` up to x${p.slowTick.factorMax}, leader ${p.slowTick.leaderProb}`}`,
    `  snapshot:  every ${p.snapshot.snapshotCount} entries, keep ${p.snapshot.catchUpEntries}; ${p.snapDelay.prob === 0 ? 'delivery on time' : `delivery delayed ${p.snapDelay.delayMsMin}-${p.snapDelay.delayMsMax}ms with prob ${p.snapDelay.prob}`}`,
  ].join('\n');
}

function formatTrigger(t: CrashTriggerProfile): string {
  if (t.voteGrantProb === 0 && t.appendAckProb === 0 && t.leaderCommitProb === 0) return 'off';
  return `crash after a vote grant ${t.voteGrantProb}, after an append ack ${t.appendAckProb}, leader after a commit advance ${t.leaderCommitProb}, down ${t.downMsMin}-${t.downMsMax}ms`;
}
