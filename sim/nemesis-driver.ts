import type { NodeId, SeededRand } from '../src/util/index.js';
import type { HistoryRecorder, Value } from '../histories/index.js';
import type { NemesisAction, TimedAction } from '../nemesis/index.js';
import { NEMESIS } from '../histories/index.js';
import type { AnyCluster } from './cluster.js';
import type { EpisodeProfile, FaultProfile, PartitionKind } from './faults.js';
import { drawIntervalMs } from './faults.js';
import type { SimLoop } from './loop.js';

/**
 * Drives the seed's fault profile during the safety phase: partitions, crashes, pauses and clock
 * jumps start at random intervals and end after a random duration. Every action is recorded in
 * the history as a nemesis op, so reports show faults on the same time axis as client ops.
 * Each family draws from its own sub-stream, so turning one family off leaves the others' timing.
 */
export class SimNemesis {
  private active = true;
  readonly actions: string[] = [];
  /** Every fault as it runs, in the nemesis/ vocabulary: a run yields a schedule that replays it (sim/schedule-interpreter.ts). */
  onStep: ((step: TimedAction) => void) | undefined = undefined;

  constructor(
    private readonly loop: SimLoop,
    private readonly cluster: AnyCluster,
    private readonly rand: SeededRand,
    private readonly profile: FaultProfile,
    private readonly recorder: HistoryRecorder,
  ) {}

  start(): void {
    this.episodes('partition', this.profile.partition, (r) => this.partition(r));
    this.episodes('crash', this.profile.crash, (r) => this.crash(r));
    this.episodes('pause', this.profile.pause, (r) => this.pause(r));
    const jumps: EpisodeProfile = { meanIntervalMs: this.profile.clock.jumpMeanIntervalMs, durationMsMin: 0, durationMsMax: 0 };
    this.episodes('clock', jumps, (r) => this.jump(r));
    // New families last, each on its own fork: the ones above keep their schedules.
    this.episodes('power', this.profile.powerLoss, (r) => this.powerLoss(r));
    this.episodes('slowtick', this.profile.slowTick, (r) => this.slowTick(r));
    this.armCrashTrigger();
  }

  /** Stops starting faults; the caller heals what is in force (the liveness phase). */
  stop(): void {
    this.active = false;
    this.cluster.sendObserver = undefined;
  }

  /** Heals everything: no partitions, loss or disk faults, every process up (unless its disk is broken). */
  healAll(): void {
    this.cluster.network.clearRules();
    for (const id of this.cluster.ids) {
      this.cluster.device(id).quiesce();
      this.cluster.clock(id).setTimerStretch(1);
      this.cluster.resume(id);
      this.cluster.restart(id);
    }
    this.record('heal', 'all');
  }

  /** Starts episodes of one family; `begin` applies a fault and returns how to end it. */
  private episodes(family: string, episode: EpisodeProfile, begin: (rand: SeededRand) => (() => void) | undefined): void {
    const rand = this.rand.fork(family);
    let first = this.profile.earlyFirstFault;
    const scheduleNext = (): void => {
      const gapMs = drawIntervalMs(rand, episode.meanIntervalMs, first);
      first = false;
      if (gapMs === undefined) return;
      this.loop.after(gapMs, `nemesis-${family}`, undefined, () => {
        if (!this.active) return;
        const end = begin(rand);
        const durationMs = rand.between(episode.durationMsMin, Math.max(episode.durationMsMin, episode.durationMsMax));
        if (end) this.loop.after(durationMs, `nemesis-${family}-end`, undefined, () => this.active && end());
        scheduleNext();
      });
    };
    scheduleNext();
  }

  private partition(rand: SeededRand): (() => void) | undefined {
    const kinds = this.profile.partition.kinds;
    if (kinds.length === 0) return undefined;
    const kind: PartitionKind = rand.pick(kinds);
    const ids = shuffled(rand, this.cluster.ids);
    const cut = rand.between(1, ids.length - 1);
    const a = ids.slice(0, cut);
    const b = ids.slice(cut);
    const net = this.cluster.network;
    let ruleId: number;
    let what: string;
    let step: NemesisAction;
    switch (kind) {
      case 'halves':
        ruleId = net.partition([a, b]);
        what = `${a.join(',')} | ${b.join(',')}`;
        step = { f: 'partition', partition: { kind: 'halves', sides: [a, b] } };
        break;
      case 'isolate': {
        const victim = rand.chance(0.5) ? (this.cluster.leader() ?? rand.pick(ids)) : rand.pick(ids);
        ruleId = net.isolate(victim);
        what = `isolate ${victim}`;
        step = { f: 'partition', partition: { kind: 'halves', sides: [[victim], ids.filter((id) => id !== victim)] } };
        break;
      }
      case 'isolate-leader': {
        // From its peers only: clients still reach it, and its reads must not go stale.
        const leader = this.cluster.leader();
        if (leader === undefined) return undefined;
        ruleId = net.isolate(leader);
        what = `isolate leader ${leader}`;
        step = { f: 'partition', partition: { kind: 'halves', sides: [[leader], ids.filter((id) => id !== leader)] } };
        break;
      }
      case 'one-way':
        ruleId = net.partitionOneWay(a, b);
        what = `${a.join(',')} -/-> ${b.join(',')}`;
        step = { f: 'partition', partition: { kind: 'one-way', from: a, to: b } };
        break;
      case 'bridge': {
        if (ids.length < 3) return undefined;
        const bridgeNode = ids[0] as NodeId;
        const rest = ids.slice(1);
        const half = Math.max(1, Math.floor(rest.length / 2));
        ruleId = net.bridge(rest.slice(0, half), rest.slice(half), bridgeNode);
        what = `bridge via ${bridgeNode}`;
        step = { f: 'partition', partition: { kind: 'bridge', left: rest.slice(0, half), bridge: bridgeNode, right: rest.slice(half) } };
        break;
      }
      case 'slow-link': {
        const extraMs = rand.between(10, 500);
        ruleId = net.slowLink(ids[0] as NodeId, ids[1] as NodeId, extraMs);
        what = `slow ${ids[0]}<->${ids[1]} +${extraMs}ms`;
        step = { f: 'slow-link', a: ids[0] as NodeId, b: ids[1] as NodeId, extraMs };
        break;
      }
    }
    this.record('partition', `${kind}: ${what}`, { ...step, id: String(ruleId) });
    return () => {
      net.removeRule(ruleId);
      this.record('heal', `${kind}: ${what}`, { f: 'heal', id: String(ruleId) });
    };
  }

  private crash(rand: SeededRand): (() => void) | undefined {
    const candidates = this.cluster.ids.filter((id) => this.cluster.state(id) === 'up');
    if (candidates.length === 0) return undefined;
    const victim = rand.chance(0.3) ? (this.cluster.leader() ?? rand.pick(candidates)) : rand.pick(candidates);
    this.cluster.crash(victim);
    this.record('kill', victim, { f: 'kill', node: { by: 'id', id: victim } });
    return () => {
      this.cluster.restart(victim);
      this.record('start', victim, { f: 'restart', node: { by: 'id', id: victim } });
    };
  }

  /**
   * Power loss: a majority, or every member, dies in one event, losing unsynced writes; they come
   * back one by one in a random order, the old leader last (it must not simply resume its term).
   */
  private powerLoss(rand: SeededRand): (() => void) | undefined {
    const up = this.cluster.ids.filter((id) => this.cluster.state(id) !== 'crashed');
    if (up.length === 0) return undefined;
    const all = rand.chance(this.profile.powerLoss.allProb);
    const majority = Math.floor(this.cluster.ids.length / 2) + 1;
    const leader = this.cluster.leader();
    const order = shuffled(rand, up);
    const victims = all ? order : order.slice(0, Math.min(order.length, majority));
    if (leader !== undefined && !all && !victims.includes(leader) && rand.chance(0.5)) victims[0] = leader;
    for (const id of victims) this.cluster.crash(id);
    this.record('power-loss', victims.join(','), ...victims.map((id): NemesisAction => ({ f: 'kill', node: { by: 'id', id } })));
    const restartOrder = [...victims.filter((id) => id !== leader), ...victims.filter((id) => id === leader)];
    const gapsMs = restartOrder.map(() => rand.between(0, 50));
    return () => {
      let atMs = 0;
      restartOrder.forEach((id, i) => {
        atMs += gapsMs[i] ?? 0;
        this.loop.after(atMs, 'nemesis-power-restart', id, () => {
          if (!this.active) return;
          this.cluster.restart(id);
          this.record('start', id, { f: 'restart', node: { by: 'id', id } });
        });
      });
    };
  }

  /** An overloaded host: one member's timers (ticks, so elections and check-quorum) run late. */
  private slowTick(rand: SeededRand): (() => void) | undefined {
    const st = this.profile.slowTick;
    const up = this.cluster.ids.filter((id) => this.cluster.state(id) === 'up');
    if (up.length === 0) return undefined;
    const victim = rand.chance(st.leaderProb) ? (this.cluster.leader() ?? rand.pick(up)) : rand.pick(up);
    const factor = rand.between(2, Math.max(2, st.factorMax));
    const clock = this.cluster.clock(victim);
    clock.setTimerStretch(factor);
    this.record('slow-tick', `${victim} x${factor}`);
    return () => {
      clock.setTimerStretch(1);
      this.record('slow-tick-end', victim);
    };
  }

  /**
   * Crash triggers: right after a member sends a vote grant or an append acknowledgement, it may
   * die (in the next event, the message already on the wire) and come back shortly: the moment a
   * vote or entry that was acknowledged but not made durable is lost.
   */
  private armCrashTrigger(): void {
    const t = this.profile.crashTrigger;
    if (t.voteGrantProb === 0 && t.appendAckProb === 0 && t.leaderCommitProb === 0) return;
    const rand = this.rand.fork('trigger');
    const commitRand = this.rand.fork('trigger-commit');
    const down = new Set<NodeId>();
    // Highest commit index each leader has announced, per term: a higher one means it just advanced.
    const announced = new Map<string, number>();
    this.cluster.sendObserver = (from, m) => {
      if (!this.active || down.has(from)) return;
      const voteGrant = m.type === 'voteResp' && !m.reject;
      const appendAck = m.type === 'appResp' && !m.reject;
      let commitAdvance = false;
      if (t.leaderCommitProb > 0 && (m.type === 'app' || m.type === 'heartbeat')) {
        const key = `${from}/${m.term}`;
        commitAdvance = m.commit > (announced.get(key) ?? 0);
        if (commitAdvance) announced.set(key, m.commit);
      }
      const fire =
        (voteGrant && rand.chance(t.voteGrantProb)) || (appendAck && rand.chance(t.appendAckProb)) || (commitAdvance && commitRand.chance(t.leaderCommitProb));
      if (!fire) return;
      down.add(from);
      const downMs = rand.between(t.downMsMin, t.downMsMax);
      this.loop.after(0, 'nemesis-trigger', from, () => {
        if (!this.active) {
          down.delete(from);
          return;
        }
        this.cluster.crash(from);
        this.record('kill', `${from} after ${m.type} to ${m.to} (t${m.term} i${m.index})`, { f: 'kill', node: { by: 'id', id: from } });
        this.loop.after(downMs, 'nemesis-trigger-end', from, () => {
          down.delete(from);
          if (!this.active) return;
          this.cluster.restart(from);
          this.record('start', from, { f: 'restart', node: { by: 'id', id: from } });
        });
      });
    };
  }

  private pause(rand: SeededRand): (() => void) | undefined {
    const candidates = this.cluster.ids.filter((id) => this.cluster.state(id) === 'up');
    if (candidates.length === 0) return undefined;
    const victim = rand.chance(0.3) ? (this.cluster.leader() ?? rand.pick(candidates)) : rand.pick(candidates);
    this.cluster.pause(victim);
    this.record('pause', victim, { f: 'pause', node: { by: 'id', id: victim } });
    return () => {
      this.cluster.resume(victim);
      this.record('resume', victim, { f: 'resume', node: { by: 'id', id: victim } });
    };
  }

  private jump(rand: SeededRand): undefined {
    const victim = rand.pick(this.cluster.ids);
    const max = this.profile.clock.jumpMsMax;
    const deltaMs = rand.between(-max, max);
    this.cluster.clock(victim).jump(deltaMs);
    this.record('clock-jump', `${victim} ${deltaMs}ms`, { f: 'clock-jump', node: { by: 'id', id: victim }, deltaMs });
    return undefined;
  }

  /** `steps`: the action in the nemesis/ vocabulary, for onStep (none for faults it has no word for, like slow ticks). */
  private record(f: string, value: Value, ...steps: NemesisAction[]): void {
    for (const action of steps) this.onStep?.({ atMs: this.loop.nowMs, action });
    const timeNs = this.loop.nowMs * 1e6;
    this.recorder.invoke(NEMESIS, f, value, timeNs);
    this.recorder.complete(NEMESIS, 'info', f, value, timeNs);
    this.actions.push(`${this.loop.nowMs}ms ${f} ${String(value)}`);
  }
}

function shuffled<T>(rand: SeededRand, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rand.int(i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
