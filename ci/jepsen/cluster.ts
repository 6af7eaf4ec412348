/**
 * The real cluster as a FaultTarget: the nemesis vocabulary's kill / restart / pause / resume /
 * partition / heal become signals and routes on real processes. FaultTarget is synchronous (the
 * simulator's is), so each call queues its work; `settle()` waits for it and returns what
 * happened, which the nemesis driver records.
 */
import { createGrpcClient } from '../../src/grpc/index.js';
import type { EtcdGrpcClient } from '../../src/grpc/index.js';
import type { DiskFault, FaultTarget, NodeName, Partition } from '../../nemesis/index.js';
import { cutsOf } from './cuts.js';
import type { Members } from './members.js';
import type { Network } from './net.js';

const STATUS_DEADLINE_MS = 400;
const LEADER_POLL_MS = 250;

export class RealCluster implements FaultTarget {
  private readonly admin = new Map<NodeName, EtcdGrpcClient>();
  private readonly memberIds = new Map<string, NodeName>();
  private currentLeader: NodeName | undefined;
  private poller: ReturnType<typeof setInterval> | undefined;
  private polling = false;
  private queue: Promise<void> = Promise.resolve();
  private notes: string[] = [];

  constructor(
    readonly members: Members,
    private readonly net: Network,
  ) {}

  nodes(): readonly NodeName[] {
    return this.members.names;
  }

  leader(): NodeName | undefined {
    return this.currentLeader;
  }

  private adminClient(name: NodeName): EtcdGrpcClient {
    let c = this.admin.get(name);
    if (c === undefined) {
      c = createGrpcClient(this.members.clientUrl(name), { ownConnection: true });
      this.admin.set(name, c);
    }
    return c;
  }

  /** A member's own id and the leader it sees, or undefined if it does not answer. */
  private async status(name: NodeName): Promise<{ term: bigint; leaderId: bigint } | undefined> {
    try {
      const s = await this.adminClient(name).unary('status', {}, { deadlineMs: STATUS_DEADLINE_MS });
      if (s.header !== undefined) this.memberIds.set(s.header.memberId.toString(), name);
      return { term: s.raftTerm, leaderId: s.leader };
    } catch {
      // A dead channel may back off for long: a fresh one reconnects at once.
      this.admin.get(name)?.close();
      this.admin.delete(name);
      return undefined;
    }
  }

  /** Asks every running member; the leader named in the highest term wins. */
  async refreshLeader(): Promise<NodeName | undefined> {
    const live = this.members.running().filter((n) => this.members.state(n) === 'running');
    const answers = await Promise.all(live.map((n) => this.status(n)));
    let best: { term: bigint; leaderId: bigint } | undefined;
    for (const a of answers) if (a !== undefined && a.leaderId !== 0n && (best === undefined || a.term > best.term)) best = a;
    this.currentLeader = best === undefined ? undefined : this.memberIds.get(best.leaderId.toString());
    return this.currentLeader;
  }

  startLeaderPolling(): void {
    this.poller = setInterval(() => {
      if (this.polling) return;
      this.polling = true;
      void this.refreshLeader().finally(() => (this.polling = false));
    }, LEADER_POLL_MS);
  }

  /** Waits until some member leads and every running member answers Status. */
  async waitForLeader(timeoutMs: number): Promise<NodeName> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const leader = await this.refreshLeader();
      if (leader !== undefined) return leader;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`no leader within ${timeoutMs} ms`);
  }

  private enqueue(what: string, work: () => Promise<string>): void {
    this.queue = this.queue.then(work).then(
      (note) => void this.notes.push(note),
      (error: unknown) => void this.notes.push(`${what} failed: ${error instanceof Error ? error.message : String(error)}`),
    );
  }

  /** Waits for the queued work; returns one line per call made since the last settle(). */
  async settle(): Promise<string[]> {
    await this.queue;
    const notes = this.notes;
    this.notes = [];
    return notes;
  }

  partition(p: Partition): void {
    const cuts = cutsOf(p, this.nodes(), this.currentLeader);
    this.enqueue('partition', async () => {
      await this.net.setCuts(cuts);
      return `cut ${cuts.length} link(s): ${cuts.map((c) => `${c.from}->${c.to}`).join(' ')}`;
    });
  }

  heal(): void {
    this.enqueue('heal', async () => {
      await this.net.setCuts([]);
      return 'healed';
    });
  }

  kill(id: NodeName): void {
    this.enqueue(`kill ${id}`, async () => ((await this.members.kill(id)) ? `killed ${id}` : `${id} was not running`));
  }

  restart(id: NodeName): void {
    this.enqueue(`restart ${id}`, () => Promise.resolve(this.members.start(id) ? `started ${id}` : `${id} already running`));
  }

  pause(id: NodeName): void {
    this.enqueue(`pause ${id}`, () => Promise.resolve(this.members.pause(id) ? `paused ${id}` : `${id} not running or already paused`));
  }

  resume(id: NodeName): void {
    this.enqueue(`resume ${id}`, () => Promise.resolve(this.members.resume(id) ? `resumed ${id}` : `${id} was not paused`));
  }

  private unsupported(what: string): void {
    this.enqueue(what, () => Promise.reject(new Error('not supported on real processes')));
  }

  clockSkew(id: NodeName): void {
    this.unsupported(`clock-skew ${id}`);
  }

  clockJump(id: NodeName): void {
    this.unsupported(`clock-jump ${id}`);
  }

  disk(id: NodeName, fault: DiskFault): void {
    this.unsupported(`disk ${fault.kind} ${id}`);
  }

  addLearner(id: NodeName): void {
    this.unsupported(`add-learner ${id}`);
  }

  promote(id: NodeName): void {
    this.unsupported(`promote ${id}`);
  }

  removeMember(id: NodeName): void {
    this.unsupported(`remove-member ${id}`);
  }

  transferLeader(to: NodeName): void {
    this.unsupported(`transfer-leader ${to}`);
  }

  /** Heals the network, resumes and restarts every member: the recovery phase starts from here. */
  async healAll(): Promise<string[]> {
    this.heal();
    for (const n of this.nodes()) this.resume(n);
    for (const n of this.nodes()) this.restart(n);
    return this.settle();
  }

  close(): void {
    if (this.poller !== undefined) clearInterval(this.poller);
    this.poller = undefined;
    for (const c of this.admin.values()) c.close();
    this.admin.clear();
  }
}
