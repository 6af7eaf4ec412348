import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { utf8 } from '../../src/util/index.js';
import type { NodeId } from '../../src/util/index.js';
import { ProposalDropped } from '../../src/raft/index.js';
import type { Entry, Message } from '../../src/raft/index.js';
import { Network } from './harness.js';

type Action =
  | { kind: 'tick'; node: number }
  | { kind: 'deliver'; pick: number }
  | { kind: 'drop'; pick: number }
  | { kind: 'dup'; pick: number }
  | { kind: 'propose'; node: number }
  | { kind: 'restart'; node: number }
  | { kind: 'flush' };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('tick' as const), node: fc.nat(4) }) },
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat(1000) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('drop' as const), pick: fc.nat(1000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('dup' as const), pick: fc.nat(1000) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('propose' as const), node: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), node: fc.nat(4) }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'flush' as const }) },
);

/** Checks the safety properties over one run; throws with a description on a violation. */
class SafetyChecker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** index -> "term/data" of every entry any node applied. */
  private readonly committed = new Map<number, string>();
  private readonly appliedSeen = new Map<NodeId, number>();

  constructor(private readonly net: Network) {}

  get leaderTerms(): number {
    return this.leaderOfTerm.size;
  }

  get committedCount(): number {
    return this.committed.size;
  }

  check(): void {
    for (const n of this.net.nodes.values()) {
      const st = n.raft.status();
      if (st.role === 'leader') {
        const other = this.leaderOfTerm.get(st.term);
        if (other !== undefined && other !== n.id) throw new Error(`two leaders in term ${st.term}: ${other} and ${n.id}`);
        this.leaderOfTerm.set(st.term, n.id);
      }
      this.checkApplied(n.id, n.applied);
    }
  }

  private checkApplied(id: NodeId, applied: readonly Entry[]): void {
    const from = this.appliedSeen.get(id) ?? 0;
    for (const e of applied) {
      if (e.index <= from) continue;
      const key = `${e.term}/${Buffer.from(e.data).toString('hex')}`;
      const prev = this.committed.get(e.index);
      if (prev !== undefined && prev !== key) throw new Error(`committed entry ${e.index} changed: ${prev} vs ${key} at ${id}`);
      this.committed.set(e.index, key);
      this.appliedSeen.set(id, e.index);
    }
  }

  /** Log Matching: same index and term implies identical logs up to there. */
  checkLogsMatch(): void {
    const nodes = [...this.net.nodes.values()];
    for (let a = 0; a < nodes.length; a++) {
      for (let b = a + 1; b < nodes.length; b++) {
        const ra = (nodes[a] as (typeof nodes)[number]).raft;
        const rb = (nodes[b] as (typeof nodes)[number]).raft;
        const last = Math.min(ra.status().lastIndex, rb.status().lastIndex);
        let agreeFrom = -1;
        for (let i = last; i >= 1; i--) {
          const ta = ra.logTerm(i);
          const tb = rb.logTerm(i);
          if (ta === undefined || tb === undefined) break;
          if (agreeFrom >= 0 && ta !== tb) throw new Error(`logs of ${ra.id} and ${rb.id} match at ${agreeFrom} but differ at ${i}`);
          if (agreeFrom < 0 && ta === tb) agreeFrom = i;
        }
      }
    }
  }
}

function pickIndex(pending: readonly Message[], pick: number): number {
  return pick % pending.length;
}

function runSchedule(nodeCount: number, preVote: boolean, checkQuorum: boolean, seed: number, actions: readonly Action[]): SafetyChecker {
  const voters = Array.from({ length: nodeCount }, (_, i) => String(i + 1));
  const net = new Network({ voters, preVote, checkQuorum, seed, electionTicks: 5, heartbeatTicks: 1 });
  const checker = new SafetyChecker(net);
  const ids = [...net.nodes.keys()];
  let proposals = 0;
  for (const a of actions) {
    net.processAll();
    switch (a.kind) {
      case 'tick':
        net.nodes.get(ids[a.node % ids.length] as NodeId)?.raft.tick();
        break;
      case 'propose':
        try {
          net.nodes.get(ids[a.node % ids.length] as NodeId)?.raft.propose(utf8(`p${proposals++}`));
        } catch (e) {
          if (!(e instanceof ProposalDropped)) throw e;
        }
        break;
      case 'restart':
        net.nodes.get(ids[a.node % ids.length] as NodeId)?.restart();
        break;
      case 'flush':
        // Everything queued so far, in order (messages it triggers wait for later actions).
        net.deliver();
        break;
      default: {
        if (net.pending.length === 0) break;
        const i = pickIndex(net.pending, a.pick);
        const m = net.pending[i] as Message;
        if (a.kind !== 'dup') net.pending.splice(i, 1);
        if (a.kind !== 'drop') net.node(m.to).raft.step(m);
      }
    }
    net.processAll();
    checker.check();
  }
  checker.checkLogsMatch();
  return checker;
}

describe('raft safety under random schedules (drop, duplicate, reorder, restart)', () => {
  it('at most one leader per term, committed entries never change, logs match', () => {
    const totals = { runs: 0, leaderTerms: 0, committed: 0, runsWithCommits: 0 };
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 5 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(actionArb, { minLength: 100, maxLength: 400, size: 'max' }),
        (n, preVote, checkQuorum, seed, actions) => {
          const c = runSchedule(n, preVote, checkQuorum, seed, actions);
          totals.runs++;
          totals.leaderTerms += c.leaderTerms;
          totals.committed += c.committedCount;
          if (c.committedCount > 1) totals.runsWithCommits++;
        },
      ),
      { numRuns: 150, seed: Number(process.env['FC_SEED'] ?? 4242) },
    );
    // The schedules must actually elect leaders and commit entries, or the check is vacuous.
    expect(totals.leaderTerms).toBeGreaterThan(totals.runs);
    expect(totals.runsWithCommits).toBeGreaterThan(totals.runs / 3);
  });

  it('makes progress on a fair schedule (sanity check that the schedules exercise commits)', () => {
    const actions: Action[] = [];
    for (let round = 0; round < 60; round++) {
      for (let node = 0; node < 3; node++) actions.push({ kind: 'tick', node });
      if (round >= 20 && round % 5 === 0) actions.push({ kind: 'propose', node: round % 3 });
      for (let k = 0; k < 12; k++) actions.push({ kind: 'deliver', pick: 0 });
    }
    const c = runSchedule(3, true, true, 7, actions);
    expect(c.leaderTerms).toBeGreaterThanOrEqual(1);
    // 8 proposals (made once a leader exists) plus at least one leader no-op.
    expect(c.committedCount).toBeGreaterThanOrEqual(9);
  });
});
