import type { Rand } from '../../src/env/index.js';
import { fromUtf8, nodeId, utf8 } from '../../src/util/index.js';
import type { NodeId } from '../../src/util/index.js';
import { MemoryStorage, RaftNode, decodeConfChange } from '../../src/raft/index.js';
import type { ConfState, Entry, Message, RaftConfig, ReadState } from '../../src/raft/index.js';

/** murmur3's finalizer: spreads nearby seeds far apart. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A small seeded PRNG (mulberry32) standing in for the simulator's Rand. */
export class TestRand implements Rand {
  private state: number;
  constructor(private readonly seed: number) {
    this.state = mix32(seed >>> 0);
  }
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  float(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }
  int(maxExclusive: number): number {
    return Math.floor(this.float() * maxExclusive);
  }
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }
  fork(label: string): Rand {
    let h = mix32(this.seed ^ 0x9e3779b9);
    for (let i = 0; i < label.length; i++) h = mix32(h ^ label.charCodeAt(i));
    return new TestRand(h);
  }
}

export interface NodeOptions {
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxInflightMsgs: number;
  readonly maxSizePerMsgBytes: number;
}

export const DEFAULT_OPTIONS: NodeOptions = {
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: false,
  checkQuorum: false,
  maxInflightMsgs: 256,
  maxSizePerMsgBytes: 1 << 20,
};

/** One member: its Raft, the storage the "node loop" keeps in step, and what it applied. */
export class TestNode {
  raft: RaftNode;
  readonly storage = new MemoryStorage();
  applied: Entry[] = [];
  /** The data of the last snapshot the state machine was restored from. */
  restoredFrom: string | undefined = undefined;
  readonly readStates: ReadState[] = [];
  confState: ConfState;
  /** Index up to which the state machine has applied (a snapshot counts). */
  appliedIndex = 0;

  constructor(
    readonly id: NodeId,
    founding: ConfState,
    readonly options: NodeOptions,
    private readonly rand: Rand,
  ) {
    this.storage.bootstrap(founding);
    this.confState = founding;
    this.raft = this.newRaft();
  }

  private newRaft(): RaftNode {
    const config: RaftConfig = {
      id: this.id,
      storage: this.storage,
      rand: this.rand,
      applied: this.appliedIndex,
      ...this.options,
    };
    return new RaftNode(config);
  }

  /** Crash and restart: everything handed out in a Ready was persisted, the rest is lost. */
  restart(): void {
    this.raft = this.newRaft();
    // Raft replays the conf changes up to `applied`; the node loop takes the result from it.
    this.confState = this.raft.status().config;
  }

  /** Runs the Ready loop once; returns the messages to send. */
  processReady(): Message[] {
    const out: Message[] = [];
    while (this.raft.hasReady()) {
      const rd = this.raft.ready();
      if (rd.snapshot !== undefined) this.storage.applySnapshot(rd.snapshot);
      this.storage.append(rd.entries);
      if (rd.hardState !== undefined) this.storage.setHardState(rd.hardState);
      out.push(...rd.messages);
      if (rd.snapshot !== undefined) {
        this.appliedIndex = rd.snapshot.meta.index;
        this.confState = rd.snapshot.meta.confState;
        this.restoredFrom = `${rd.snapshot.meta.index}:[${fromUtf8(rd.snapshot.data)}]`;
        this.applied = [];
      }
      for (const e of rd.committedEntries) this.apply(e);
      this.readStates.push(...rd.readStates);
      this.raft.advance();
    }
    return out;
  }

  private apply(e: Entry): void {
    if (e.index <= this.appliedIndex) return;
    if (e.index !== this.appliedIndex + 1) throw new Error(`apply gap at ${this.id}: ${e.index} after ${this.appliedIndex}`);
    if (e.type === 'confChange') this.confState = this.raft.applyConfChange(decodeConfChange(e.data));
    this.applied.push(e);
    this.appliedIndex = e.index;
  }

  /** Snapshot the "state machine" (the list of applied data) at appliedIndex and compact. */
  compact(index: number): void {
    if (index > this.appliedIndex) throw new Error(`compact ${index} beyond applied ${this.appliedIndex}`);
    const prefix = this.restoredFrom === undefined ? [] : [this.restoredFrom];
    const data = utf8([...prefix, ...this.applied.filter((e) => e.index <= index).map((e) => fromUtf8(e.data))].join(','));
    this.storage.createSnapshot(index, this.confState, data);
    this.storage.compact(index);
  }
}

export interface NetworkOptions extends Partial<NodeOptions> {
  readonly voters: readonly string[];
  readonly learners?: readonly string[];
  readonly seed?: number;
}

/**
 * An in-memory network of RaftNodes. Messages queue in `pending` until delivered; cut links
 * drop them. Snapshot messages are reported back to the sender as delivered or failed.
 */
export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  pending: Message[] = [];
  private readonly cut = new Set<string>();
  readonly options: NodeOptions;
  readonly founding: ConfState;
  private readonly rand: Rand;

  constructor(opts: NetworkOptions) {
    const { voters, learners, seed, ...nodeOpts } = opts;
    this.options = { ...DEFAULT_OPTIONS, ...nodeOpts };
    this.founding = { voters: voters.map(nodeId), learners: (learners ?? []).map(nodeId) };
    this.rand = new TestRand(seed ?? 1);
    for (const id of [...this.founding.voters, ...this.founding.learners]) this.addNode(id);
  }

  addNode(id: NodeId): TestNode {
    const node = new TestNode(id, this.founding, this.options, this.rand.fork(`node-${id}`));
    this.nodes.set(id, node);
    return node;
  }

  node(id: string): TestNode {
    const n = this.nodes.get(nodeId(id));
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Cuts all links between the groups (both directions). */
  partition(groups: readonly (readonly NodeId[])[]): void {
    for (const a of groups) {
      for (const b of groups) {
        if (a === b) continue;
        for (const x of a) for (const y of b) this.cut.add(`${x}->${y}`);
      }
    }
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  linkUp(from: NodeId, to: NodeId): boolean {
    return !this.cut.has(`${from}->${to}`) && this.nodes.has(to);
  }

  /** Collects every node's Ready output into `pending`. */
  processAll(): void {
    for (const n of this.nodes.values()) this.pending.push(...n.processReady());
  }

  /** Delivers (or drops, over cut links) pending messages matching `filter`; returns them. */
  deliver(filter: (m: Message) => boolean = () => true): { delivered: Message[]; dropped: Message[] } {
    const take = this.pending.filter(filter);
    this.pending = this.pending.filter((m) => !filter(m));
    const delivered: Message[] = [];
    const dropped: Message[] = [];
    for (const m of take) {
      const sender = this.nodes.get(m.from);
      if (!this.linkUp(m.from, m.to)) {
        dropped.push(m);
        if (m.type === 'snap') sender?.raft.reportSnapshot(m.to, false);
        continue;
      }
      delivered.push(m);
      this.node(m.to).raft.step(m);
      if (m.type === 'snap') sender?.raft.reportSnapshot(m.to, true);
    }
    return { delivered, dropped };
  }

  /** Processes and delivers until nothing is left; returns every message handled, in order. */
  stabilize(): { delivered: Message[]; dropped: Message[] } {
    const delivered: Message[] = [];
    const dropped: Message[] = [];
    for (let round = 0; round < 1000; round++) {
      this.processAll();
      if (this.pending.length === 0) return { delivered, dropped };
      const r = this.deliver();
      delivered.push(...r.delivered);
      dropped.push(...r.dropped);
    }
    throw new Error('network did not stabilize in 1000 rounds');
  }

  tickAll(n: number): void {
    for (let i = 0; i < n; i++) for (const node of this.nodes.values()) node.raft.tick();
  }

  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.raft.status().role === 'leader').map((n) => n.id);
  }
}

export function formatEntry(e: Entry): string {
  const data = e.type === 'confChange' ? formatConfChange(e.data) : e.data.length === 0 ? '' : fromUtf8(e.data);
  return `${e.term}/${e.index}${data === '' ? '' : ' ' + data}`;
}

function formatConfChange(data: Uint8Array): string {
  const cc = decodeConfChange(data);
  return `cc:${cc.type}(${cc.nodeId})`;
}

export function formatMessage(m: Message): string {
  const parts = [`${m.from}->${m.to} ${m.type} term=${m.term}`];
  switch (m.type) {
    case 'app':
      parts.push(`logTerm=${m.logTerm} index=${m.index} commit=${m.commit}`);
      if (m.entries.length > 0) parts.push(`entries=[${m.entries.map(formatEntry).join(', ')}]`);
      break;
    case 'appResp':
      parts.push(`index=${m.index}`);
      if (m.reject) parts.push(`reject hint=${m.rejectHint} hintTerm=${m.hintTerm}`);
      break;
    case 'vote':
    case 'preVote':
      parts.push(`logTerm=${m.logTerm} index=${m.index}`);
      break;
    case 'voteResp':
    case 'preVoteResp':
      if (m.reject) parts.push('reject');
      break;
    case 'heartbeat':
      parts.push(`commit=${m.commit}`);
      break;
    case 'snap':
      if (m.snapshot !== undefined) {
        const meta = m.snapshot.meta;
        parts.push(`snapshot=${meta.term}/${meta.index} voters=${meta.confState.voters.join(',')}`);
      }
      break;
    case 'readIndexResp':
      parts.push(`index=${m.index}`);
      break;
    case 'prop':
      parts.push(`entries=[${m.entries.map((e) => (e.type === 'confChange' ? formatConfChange(e.data) : fromUtf8(e.data))).join(', ')}]`);
      break;
    default:
      break;
  }
  if (m.context.length > 0 && m.type !== 'vote' && m.type !== 'preVote') parts.push(`ctx=${fromUtf8(m.context)}`);
  return parts.join(' ');
}
