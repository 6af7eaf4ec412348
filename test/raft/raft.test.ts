import { describe, it, expect } from 'vitest';
import { AssertionError, NO_NODE, fromUtf8, nodeId, utf8 } from '../../src/util/index.js';
import type { NodeId } from '../../src/util/index.js';
import {
  MemoryStorage,
  ProposalDropped,
  RaftNode,
  decodeConfChange,
  emptyMessage,
  encodeConfChange,
} from '../../src/raft/index.js';
import type { ConfChange, Entry, Message, RaftConfig } from '../../src/raft/index.js';
import { TestRand } from './harness.js';

const n1 = nodeId('1');
const n2 = nodeId('2');
const n3 = nodeId('3');

function newNode(opts: { id?: NodeId; voters?: NodeId[]; seed?: number; storage?: MemoryStorage; applied?: number; preVote?: boolean } = {}): RaftNode {
  const storage = opts.storage ?? new MemoryStorage();
  if (opts.storage === undefined) storage.bootstrap({ voters: opts.voters ?? [n1, n2, n3], learners: [] });
  const config: RaftConfig = {
    id: opts.id ?? n1,
    storage,
    electionTicks: 10,
    heartbeatTicks: 1,
    rand: new TestRand(opts.seed ?? 1),
    preVote: opts.preVote ?? false,
    checkQuorum: false,
    maxInflightMsgs: 16,
    maxSizePerMsgBytes: 1 << 20,
    ...(opts.applied === undefined ? {} : { applied: opts.applied }),
  };
  return new RaftNode(config);
}

function msg(fields: Partial<Message> & Pick<Message, 'type' | 'from' | 'to'>): Message {
  return { ...emptyMessage(fields), ...fields };
}

/** Drains the node's Ready into its storage, returning what it carried. */
function drain(r: RaftNode, storage: MemoryStorage): { msgs: Message[]; committed: Entry[] } {
  const msgs: Message[] = [];
  const committed: Entry[] = [];
  while (r.hasReady()) {
    const rd = r.ready();
    if (rd.snapshot) storage.applySnapshot(rd.snapshot);
    storage.append(rd.entries);
    if (rd.hardState) storage.setHardState(rd.hardState);
    msgs.push(...rd.messages);
    committed.push(...rd.committedEntries);
    r.advance();
  }
  return { msgs, committed };
}

function ticksUntilCampaign(seed: number): number {
  const r = newNode({ seed });
  for (let t = 1; t <= 100; t++) {
    r.tick();
    if (r.status().role === 'candidate') return t;
  }
  throw new Error('never campaigned');
}

describe('RaftNode elections', () => {
  it('draws the election timeout from the injected Rand in [electionTicks, 2*electionTicks)', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 60; seed++) {
      const t = ticksUntilCampaign(seed);
      expect(t).toBeGreaterThanOrEqual(10);
      expect(t).toBeLessThan(20);
      expect(ticksUntilCampaign(seed)).toBe(t); // same seed, same timeout
      seen.add(t);
    }
    expect(seen.size).toBeGreaterThanOrEqual(5);
  });

  it('a single voter elects itself, commits alone and answers reads at once', () => {
    const storage = new MemoryStorage();
    storage.bootstrap({ voters: [n1], learners: [] });
    const r = newNode({ storage });
    r.campaign();
    expect(r.status().role).toBe('leader');
    r.propose(utf8('x'));
    r.readIndex(utf8('ctx'));
    const rd = r.ready();
    expect(rd.mustSync).toBe(true);
    expect(rd.entries.map((e) => e.index)).toEqual([1, 2]);
    expect(rd.committedEntries.map((e) => fromUtf8(e.data))).toEqual(['', 'x']);
    expect(rd.readStates).toEqual([{ index: 2, requestCtx: utf8('ctx') }]);
    expect(rd.softState).toEqual({ leader: n1, role: 'leader' });
    storage.append(rd.entries);
    r.advance();
    expect(r.status().applied).toBe(2);
    expect(r.hasReady()).toBe(false);
  });

  it('never changes its vote within a term', () => {
    const r = newNode();
    r.step(msg({ type: 'vote', from: n2, to: n1, term: 5, index: 0, logTerm: 0 }));
    r.step(msg({ type: 'vote', from: n3, to: n1, term: 5, index: 0, logTerm: 0 }));
    const rd = r.ready();
    expect(rd.messages.map((m) => [m.to, m.type, m.reject])).toEqual([
      [n2, 'voteResp', false],
      [n3, 'voteResp', true],
    ]);
    expect(rd.hardState).toEqual({ term: 5, vote: n2, commit: 0 });
    expect(rd.mustSync).toBe(true);
  });

  it('rejects a candidate whose log is behind', () => {
    const storage = new MemoryStorage();
    storage.bootstrap({ voters: [n1, n2, n3], learners: [] });
    storage.append([{ index: 1, term: 2, type: 'normal', data: utf8('') }]);
    storage.setHardState({ term: 2, vote: NO_NODE, commit: 0 });
    const r = newNode({ storage });
    r.step(msg({ type: 'vote', from: n2, to: n1, term: 3, index: 5, logTerm: 1 }));
    expect(r.ready().messages[0]?.reject).toBe(true);
  });
});

describe('RaftNode proposals and the Ready contract', () => {
  it('drops proposals and reads when there is no leader', () => {
    const r = newNode();
    expect(() => r.propose(utf8('x'))).toThrow(ProposalDropped);
    expect(() => r.readIndex(utf8('x'))).toThrow(ProposalDropped);
  });

  it('enforces ready/advance pairing', () => {
    const r = newNode();
    expect(() => r.advance()).toThrow(AssertionError);
    r.campaign();
    r.ready();
    expect(r.hasReady()).toBe(false);
    expect(() => r.ready()).toThrow(AssertionError);
    r.advance();
  });

  it('refuses local message types through step()', () => {
    const r = newNode();
    expect(() => r.step(msg({ type: 'hup', from: n1, to: n1 }))).toThrow(AssertionError);
    expect(() => r.step(msg({ type: 'app', from: n2, to: n3, term: 1 }))).toThrow(AssertionError);
  });

  it('asserts when a leader claims a commit beyond the log', () => {
    const r = newNode();
    expect(() => r.step(msg({ type: 'heartbeat', from: n2, to: n1, term: 1, commit: 5 }))).toThrow(/commit 5 beyond last index/);
  });
});

describe('RaftNode snapshots and restart', () => {
  it('ignores a snapshot older than its commit and reports its commit instead', () => {
    const storage = new MemoryStorage();
    storage.bootstrap({ voters: [n1, n2, n3], learners: [] });
    const r = newNode({ storage });
    const ents: Entry[] = [1, 2, 3, 4].map((i) => ({ index: i, term: 1, type: 'normal', data: utf8(`e${i}`) }));
    r.step(msg({ type: 'app', from: n2, to: n1, term: 1, index: 0, logTerm: 0, entries: ents, commit: 4 }));
    drain(r, storage);
    // Term 2 at index 3 cannot match our log: only the commit check keeps us from restoring it.
    const snap = { meta: { index: 3, term: 2, confState: { voters: [n1, n2, n3], learners: [] } }, data: utf8('old') };
    r.step(msg({ type: 'snap', from: n2, to: n1, term: 2, snapshot: snap }));
    const rd = r.ready();
    expect(rd.snapshot).toBeUndefined();
    expect(rd.messages).toHaveLength(1);
    expect(rd.messages[0]).toMatchObject({ type: 'appResp', index: 4, reject: false });
    expect(r.status().lastIndex).toBe(4);
  });

  it('restores from a newer snapshot: log, commit and configuration', () => {
    const storage = new MemoryStorage();
    storage.bootstrap({ voters: [n1, n2, n3], learners: [] });
    const r = newNode({ storage });
    const cs = { voters: [n1, n2], learners: [n3] };
    r.step(msg({ type: 'snap', from: n2, to: n1, term: 2, snapshot: { meta: { index: 10, term: 2, confState: cs }, data: utf8('s') } }));
    const rd = r.ready();
    expect(rd.snapshot?.meta.index).toBe(10);
    expect(rd.committedEntries).toEqual([]);
    expect(rd.messages[0]).toMatchObject({ type: 'appResp', index: 10 });
    storage.applySnapshot(rd.snapshot!);
    r.advance();
    expect(r.status()).toMatchObject({ commit: 10, applied: 10, lastIndex: 10, config: cs });
  });

  it('restarts from persisted snapshot, entries and hard state, re-delivering after `applied`', () => {
    const storage = new MemoryStorage();
    storage.applySnapshot({ meta: { index: 5, term: 2, confState: { voters: [n1, n2, n3], learners: [] } }, data: utf8('s') });
    storage.append([6, 7, 8].map((i) => ({ index: i, term: 3, type: 'normal' as const, data: utf8(`e${i}`) })));
    storage.setHardState({ term: 3, vote: n2, commit: 7 });
    const r = newNode({ storage });
    expect(r.status()).toMatchObject({ term: 3, vote: n2, commit: 7, applied: 5, lastIndex: 8, role: 'follower' });
    expect(r.ready().committedEntries.map((e) => e.index)).toEqual([6, 7]);
    r.advance();
    const again = newNode({ storage, applied: 6 });
    expect(again.ready().committedEntries.map((e) => e.index)).toEqual([7]);
  });
});

describe('RaftNode restart with a state machine ahead of the synced commit', () => {
  it('raises commit to `applied` (commit-only hard states are not synced)', () => {
    const storage = new MemoryStorage();
    storage.bootstrap({ voters: [n1, n2, n3], learners: [] });
    storage.append([1, 2, 3].map((i) => ({ index: i, term: 1, type: 'normal' as const, data: utf8('') })));
    storage.setHardState({ term: 1, vote: n2, commit: 1 });
    const r = newNode({ storage, applied: 3 });
    expect(r.status()).toMatchObject({ commit: 3, applied: 3 });
    expect(r.hasReady()).toBe(true); // the raised commit must be persisted
    expect(r.ready().committedEntries).toEqual([]);
    expect(() => newNode({ storage, applied: 4 })).toThrow(/beyond the log/);
  });

  it('replays conf changes between the snapshot and `applied` into the configuration', () => {
    const storage = new MemoryStorage();
    storage.bootstrap({ voters: [n1, n2, n3], learners: [] });
    const cc = (type: ConfChange['type'], id: string): Entry['data'] => encodeConfChange({ type, nodeId: nodeId(id), context: new Uint8Array(0) });
    storage.append([
      { index: 1, term: 1, type: 'normal', data: utf8('') },
      { index: 2, term: 1, type: 'confChange', data: cc('addLearner', '4') },
      { index: 3, term: 1, type: 'confChange', data: cc('promoteLearner', '4') },
    ]);
    storage.setHardState({ term: 1, vote: n1, commit: 3 });
    const r = newNode({ storage, applied: 2 });
    expect(r.status().config).toEqual({ voters: [n1, n2, n3], learners: ['4'] });
    const rd = r.ready();
    expect(rd.committedEntries.map((e) => e.index)).toEqual([3]); // the loop applies this one
    expect(r.applyConfChange(decodeConfChange(rd.committedEntries[0]!.data))).toEqual({ voters: [n1, n2, n3, '4'], learners: [] });
  });

  it('takes the commit from the snapshot when the persisted hard state lags it', () => {
    const storage = new MemoryStorage();
    storage.applySnapshot({ meta: { index: 5, term: 2, confState: { voters: [n1, n2, n3], learners: [] } }, data: utf8('s') });
    storage.setHardState({ term: 2, vote: n2, commit: 3 });
    const r = newNode({ storage });
    expect(r.status()).toMatchObject({ commit: 5, applied: 5, lastIndex: 5 });
  });
});

/** n1 leads n1+n2 with n2 in replicate state; returns the leader and its storage. */
function leaderWithReplicatingFollower(): { r: RaftNode; storage: MemoryStorage } {
  const storage = new MemoryStorage();
  storage.bootstrap({ voters: [n1, n2], learners: [] });
  const r = newNode({ storage, voters: [n1, n2] });
  r.campaign();
  drain(r, storage);
  r.step(msg({ type: 'voteResp', from: n2, to: n1, term: 1 }));
  drain(r, storage);
  r.step(msg({ type: 'appResp', from: n2, to: n1, term: 1, index: 1 }));
  drain(r, storage);
  return { r, storage };
}

describe('RaftNode flow control feedback', () => {
  it('an unreachable follower in replicate state goes back to probing', () => {
    const { r } = leaderWithReplicatingFollower();
    expect(r.status().progress.get(n2)?.state).toBe('replicate');
    r.reportUnreachable(n2);
    expect(r.status().progress.get(n2)).toMatchObject({ state: 'probe', next: 2 });
  });
});

describe('RaftNode batching per Ready', () => {
  it('a leader sends one append per follower for all the proposals of a Ready', () => {
    const { r, storage } = leaderWithReplicatingFollower();
    for (const v of ['a', 'b', 'c']) r.propose(utf8(v));
    const apps = drain(r, storage).msgs.filter((m) => m.type === 'app');
    expect(apps).toHaveLength(1);
    expect(apps[0]?.entries.map((e) => fromUtf8(e.data))).toEqual(['a', 'b', 'c']);
  });

  it('a follower forwards the proposals of a Ready as one message, in order', () => {
    const storage = new MemoryStorage();
    storage.bootstrap({ voters: [n1, n2], learners: [] });
    const f = newNode({ id: n2, storage, voters: [n1, n2] });
    f.step(msg({ type: 'heartbeat', from: n1, to: n2, term: 1 }));
    drain(f, storage);
    for (const v of ['x', 'y', 'z']) f.propose(utf8(v));
    const props = drain(f, storage).msgs.filter((m) => m.type === 'prop');
    expect(props).toHaveLength(1);
    expect(props[0]?.to).toBe(n1);
    expect(props[0]?.entries.map((e) => fromUtf8(e.data))).toEqual(['x', 'y', 'z']);
  });
});

describe('RaftNode configuration changes', () => {
  it('encodes and decodes conf changes', () => {
    const cc: ConfChange = { type: 'promoteLearner', nodeId: nodeId('00000000000000ab'), context: utf8('{"name":"x"}') };
    expect(decodeConfChange(encodeConfChange(cc))).toEqual(cc);
  });

  it('applies changes one node at a time; invalid ones are no-ops', () => {
    const r = newNode();
    const cc = (type: ConfChange['type'], id: string): ConfChange => ({ type, nodeId: nodeId(id), context: new Uint8Array(0) });
    expect(r.applyConfChange(cc('addLearner', '4'))).toEqual({ voters: [n1, n2, n3], learners: ['4'] });
    expect(r.applyConfChange(cc('addLearner', '2'))).toEqual({ voters: [n1, n2, n3], learners: ['4'] });
    expect(r.applyConfChange(cc('promoteLearner', '5'))).toEqual({ voters: [n1, n2, n3], learners: ['4'] });
    expect(r.applyConfChange(cc('addNode', '4'))).toEqual({ voters: [n1, n2, n3, '4'], learners: [] });
    expect(r.applyConfChange(cc('removeNode', '2'))).toEqual({ voters: [n1, n3, '4'], learners: [] });
  });

  it('a node removed from the configuration does not campaign', () => {
    const r = newNode();
    r.applyConfChange({ type: 'removeNode', nodeId: n1, context: new Uint8Array(0) });
    for (let i = 0; i < 50; i++) r.tick();
    r.campaign();
    expect(r.status().role).toBe('follower');
    expect(r.status().term).toBe(0);
  });
});
