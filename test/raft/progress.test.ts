import { describe, it, expect } from 'vitest';
import { nodeId } from '../../src/util/index.js';
import { Inflights, Progress, ProgressTracker } from '../../src/raft/progress.js';

describe('Inflights', () => {
  it('fills up to capacity and frees acknowledged messages', () => {
    const inf = new Inflights(3);
    inf.add(2);
    inf.add(5);
    inf.add(9);
    expect(inf.full()).toBe(true);
    expect(() => inf.add(10)).toThrow();
    inf.freeLE(5);
    expect(inf.count).toBe(1);
    expect(inf.full()).toBe(false);
    inf.freeLE(100);
    expect(inf.count).toBe(0);
  });
});

describe('Progress', () => {
  it('probe pauses after one send; replicate pauses when the window is full', () => {
    const pr = new Progress(0, 5, false, 2);
    expect(pr.isPaused()).toBe(false);
    pr.probeSent = true;
    expect(pr.isPaused()).toBe(true);
    expect(pr.maybeUpdate(4)).toBe(true);
    expect(pr.isPaused()).toBe(false);
    pr.becomeReplicate();
    expect(pr.next).toBe(5);
    pr.inflights.add(6);
    pr.optimisticUpdate(6);
    pr.inflights.add(7);
    pr.optimisticUpdate(7);
    expect(pr.isPaused()).toBe(true);
    expect(pr.next).toBe(8);
  });

  it('maybeDecrTo ignores stale rejections and jumps with the hint', () => {
    const pr = new Progress(0, 10, false, 4);
    expect(pr.maybeDecrTo(5, 2)).toBe(false); // not the index we probed at (next-1 = 9)
    expect(pr.maybeDecrTo(9, 3)).toBe(true);
    expect(pr.next).toBe(4);
    const rep = new Progress(5, 6, false, 4);
    rep.becomeReplicate();
    rep.optimisticUpdate(9);
    expect(rep.maybeDecrTo(4, 0)).toBe(false); // at or below match: stale
    expect(rep.maybeDecrTo(8, 0)).toBe(true);
    expect(rep.next).toBe(6);
  });

  it('leaves snapshot state for probe after the snapshot index', () => {
    const pr = new Progress(1, 2, false, 4);
    pr.becomeSnapshot(20);
    expect(pr.isPaused()).toBe(true);
    pr.becomeProbe();
    expect(pr.next).toBe(21);
  });
});

describe('ProgressTracker', () => {
  it('commits at the quorum-th highest voter match, ignoring learners', () => {
    const t = new ProgressTracker(4);
    const ids = ['1', '2', '3', '4', '5'].map(nodeId);
    ids.forEach((id, i) => {
      const learner = i >= 3;
      t.progress.set(id, new Progress([7, 5, 3, 9, 9][i] as number, 10, learner, 4));
      (learner ? t.learners : t.voters).add(id);
    });
    // voters 1,2,3 with matches 7,5,3: quorum 2 -> 5; learners' 9s do not count.
    expect(t.committedIndex()).toBe(5);
  });

  it('tallies votes of voters only', () => {
    const t = new ProgressTracker(4);
    for (const id of ['1', '2', '3']) t.voters.add(nodeId(id));
    t.learners.add(nodeId('4'));
    t.recordVote(nodeId('1'), true);
    t.recordVote(nodeId('4'), true);
    expect(t.tallyVotes().result).toBe('pending');
    t.recordVote(nodeId('2'), false);
    t.recordVote(nodeId('2'), true); // the first answer stands
    expect(t.tallyVotes()).toEqual({ granted: 1, rejected: 1, result: 'pending' });
    t.recordVote(nodeId('3'), false);
    expect(t.tallyVotes().result).toBe('lost');
  });
});
