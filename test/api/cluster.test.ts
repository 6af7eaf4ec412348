/**
 * ClusterApi's etcd rules against a fake node that "commits" a proposed change at once by
 * applying it to the registry, as the apply path would. The real path (Raft, processes,
 * etcdctl) is covered by test/cluster.
 */
import { describe, expect, it } from 'vitest';
import { ClusterApi, EtcdError, validPeerUrls } from '../../src/api/index.js';
import type { ApplyResult } from '../../src/apply/index.js';
import type { Clock, TimerHandle } from '../../src/env/index.js';
import type { ConfChange } from '../../src/raft/index.js';
import { MemberRegistry, decodeMemberRequest } from '../../src/server/index.js';
import type { Member, MetaStore, ServerNode } from '../../src/server/index.js';
import { NO_NODE, nodeIdFromBigInt } from '../../src/util/index.js';
import type { NodeId } from '../../src/util/index.js';

class MapMeta implements MetaStore {
  private readonly map = new Map<string, Uint8Array>();
  getMeta(key: Uint8Array): Uint8Array | undefined {
    return this.map.get(Buffer.from(key).toString('hex'));
  }
  putMeta(key: Uint8Array, value: Uint8Array): void {
    this.map.set(Buffer.from(key).toString('hex'), value);
  }
}

/** Timers that fire only when the test advances time. */
class ManualClock implements Clock {
  nowMsValue = 0;
  private timers = new Map<number, { atMs: number; fn: () => void }>();
  private nextId = 1;
  nowMs(): number {
    return this.nowMsValue;
  }
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const timerId = this.nextId++;
    this.timers.set(timerId, { atMs: this.nowMsValue + delayMs, fn });
    return { timerId };
  }
  clearTimer(handle: TimerHandle): void {
    this.timers.delete(handle.timerId);
  }
  advance(ms: number): void {
    this.nowMsValue += ms;
    for (const [id, t] of [...this.timers]) {
      if (t.atMs <= this.nowMsValue) {
        this.timers.delete(id);
        t.fn();
      }
    }
  }
}

const SELF = 0x1n;
const m = (id: bigint, name: string, isLearner = false): Member => ({ id, name, peerUrls: [`http://h${id}:2380`], clientUrls: [`http://h${id}:2379`], isLearner });

function setup(options: { members?: Member[]; isLeader?: boolean; active?: bigint[]; learnerMatch?: number; commitChanges?: boolean } = {}) {
  const registry = new MemberRegistry(new MapMeta());
  registry.initialize(options.members ?? [m(0x1n, 'a'), m(0x2n, 'b'), m(0x3n, 'c')]);
  const clock = new ManualClock();
  let index = 0;
  const proposed: ConfChange[] = [];
  let leader: NodeId = options.isLeader === false ? nodeIdFromBigInt(0x2n) : nodeIdFromBigInt(SELF);
  const transfers: NodeId[] = [];
  const node = {
    observe: () => ({ isLeader: leader === nodeIdFromBigInt(SELF), leader }),
    raftStatus: () => ({
      id: nodeIdFromBigInt(SELF),
      progress: new Map([
        [nodeIdFromBigInt(SELF), { match: 100 }],
        ...registry.list().filter((x) => x.isLearner).map((x) => [nodeIdFromBigInt(x.id), { match: options.learnerMatch ?? 100 }] as const),
      ]),
    }),
    proposeConfChange: (cc: ConfChange) => {
      proposed.push(cc);
      if (options.commitChanges !== false) queueMicrotask(() => registry.applyConfChange(cc, ++index));
    },
    propose: (payload: Uint8Array) => {
      registry.applyRequest(decodeMemberRequest(payload), ++index);
      return Promise.resolve({ ok: true, response: {} });
    },
    transferLeadership: (target: NodeId) => {
      transfers.push(target);
      leader = target;
    },
  } as unknown as ServerNode<ApplyResult>;
  const active = new Set(options.active ?? [0x2n, 0x3n]);
  const api = new ClusterApi(node, registry, clock, {
    selfId: SELF,
    requestTimeoutMs: 1000,
    newMemberId: () => 0xabcn,
    isPeerActive: (id) => active.has(id),
    forwardPromote: () => Promise.reject(new Error('forwarded')),
    pollMs: 10,
  });
  return { api, registry, clock, proposed, transfers, setLeader: (id: NodeId) => (leader = id) };
}

async function etcdMessage(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    expect(error).toBeInstanceOf(EtcdError);
    return (error as EtcdError).message;
  }
  throw new Error('expected an etcd error');
}

describe('ClusterApi', () => {
  it('adds a learner: proposes addLearner with the attributes and answers once applied', async () => {
    const { api, proposed } = setup();
    const added = await api.memberAdd(['http://new:2380'], true);
    expect(added.member).toEqual({ id: 0xabcn, name: '', peerUrls: ['http://new:2380'], clientUrls: [], isLearner: true });
    expect(added.members.map((x) => x.id)).toEqual([0x1n, 0x2n, 0x3n, 0xabcn]);
    expect(proposed.map((c) => c.type)).toEqual(['addLearner']);
  });

  it('answers etcd errors for bad, duplicate and too many learners', async () => {
    const { api } = setup({ members: [m(0x1n, 'a'), m(0x2n, 'b'), m(0x3n, 'c'), m(0x4n, '', true)] });
    expect(await etcdMessage(api.memberAdd(['not a url'], false))).toBe('etcdserver: given member URLs are invalid');
    expect(await etcdMessage(api.memberAdd(['http://h2:2380'], false))).toBe('etcdserver: Peer URLs already exists');
    expect(await etcdMessage(api.memberAdd(['http://new:2380'], true))).toBe('etcdserver: too many learner members in cluster');
  });

  it('refuses a voter add when too few members have started, or the leader cannot see a quorum', async () => {
    const unstarted = setup({ members: [m(0x1n, 'a'), m(0x2n, ''), m(0x3n, '')] });
    expect(await etcdMessage(unstarted.api.memberAdd(['http://new:2380'], false))).toBe(
      'etcdserver: re-configuration failed due to not enough started members',
    );
    const isolated = setup({ active: [] });
    expect(await etcdMessage(isolated.api.memberAdd(['http://new:2380'], false))).toBe('etcdserver: unhealthy cluster');
  });

  it('removes members with etcd rules', async () => {
    const { api, registry } = setup();
    expect(await etcdMessage(api.memberRemove(0x99n))).toBe('etcdserver: member not found');
    expect((await api.memberRemove(0x3n)).map((x) => x.id)).toEqual([0x1n, 0x2n]);
    expect(await etcdMessage(api.memberRemove(0x3n))).toBe('etcdserver: member not found');
    expect(registry.isRemoved(0x3n)).toBe(true);
    const unstarted = setup({ members: [m(0x1n, 'a'), m(0x2n, ''), m(0x3n, '')] });
    expect(await etcdMessage(unstarted.api.memberRemove(0x3n))).toBe('etcdserver: re-configuration failed due to not enough started members');
  });

  it('promotes only a caught-up learner, on the leader', async () => {
    const behind = setup({ members: [m(0x1n, 'a'), m(0x2n, 'b'), m(0x5n, 'l', true)], learnerMatch: 50 });
    expect(await etcdMessage(behind.api.memberPromote(0x5n))).toBe('etcdserver: can only promote a learner member which is in sync with leader');
    expect(await etcdMessage(behind.api.memberPromote(0x2n))).toBe('etcdserver: can only promote a learner member');
    expect(await etcdMessage(behind.api.memberPromote(0x77n))).toBe('etcdserver: member not found');
    const ready = setup({ members: [m(0x1n, 'a'), m(0x2n, 'b'), m(0x5n, 'l', true)], learnerMatch: 95 });
    const members = await ready.api.memberPromote(0x5n);
    expect(members.find((x) => x.id === 0x5n)?.isLearner).toBe(false);
    const follower = setup({ isLeader: false });
    await expect(follower.api.memberPromote(0x5n)).rejects.toThrow('forwarded');
  });

  it('publishes and updates attributes through a proposal', async () => {
    const { api, registry } = setup();
    expect(api.isPublished('a', ['http://x:1'])).toBe(false);
    await api.publish('a', ['http://x:1']);
    expect(api.isPublished('a', ['http://x:1'])).toBe(true);
    expect(await etcdMessage(api.memberUpdate(0x2n, ['http://h3:2380']))).toBe('etcdserver: Peer URLs already exists');
    await api.memberUpdate(0x2n, ['http://moved:2380']);
    expect(registry.get(0x2n)?.peerUrls).toEqual(['http://moved:2380']);
  });

  it("times out with etcd's error when a change is never applied", async () => {
    const { api, clock } = setup({ commitChanges: false });
    const pending = etcdMessage(api.memberAdd(['http://new:2380'], true));
    clock.advance(1000);
    expect(await pending).toBe('etcdserver: request timed out');
  });

  it('moves the leader only from the leader and only to a voter', async () => {
    const { api, transfers } = setup({ members: [m(0x1n, 'a'), m(0x2n, 'b'), m(0x5n, 'l', true)] });
    expect(await etcdMessage(api.moveLeader(0x5n))).toBe('etcdserver: bad leader transferee');
    expect(await etcdMessage(api.moveLeader(0x42n))).toBe('etcdserver: bad leader transferee');
    await api.moveLeader(0x2n);
    expect(transfers).toEqual([nodeIdFromBigInt(0x2n)]);
    expect(await etcdMessage(api.moveLeader(0x1n))).toBe('etcdserver: not leader');
    const noLeader = setup();
    noLeader.setLeader(NO_NODE);
    expect(await etcdMessage(noLeader.api.memberPromote(0x2n))).toBe('etcdserver: no leader');
  });

  it('validates peer URLs as etcd does', () => {
    expect(validPeerUrls(['http://127.0.0.1:2380', 'https://host:1'])).toBe(true);
    expect(validPeerUrls(['http://[::1]:2380'])).toBe(true);
    expect(validPeerUrls([])).toBe(false);
    expect(validPeerUrls(['http://host'])).toBe(false);
    expect(validPeerUrls(['http://host:2380/path'])).toBe(false);
    expect(validPeerUrls(['ftp://host:2380'])).toBe(false);
  });
});
