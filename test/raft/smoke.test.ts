import { describe, it, expect } from 'vitest';
import { fromUtf8, utf8 } from '../../src/util/index.js';
import { Network } from './harness.js';

describe('raft smoke', () => {
  it('elects a leader and replicates', () => {
    const net = new Network({ voters: ['1', '2', '3'] });
    net.node('1').raft.campaign();
    net.stabilize();
    expect(net.leaders()).toEqual(['1']);
    net.node('1').raft.propose(utf8('a'));
    net.node('2').raft.propose(utf8('b'));
    net.stabilize();
    for (const n of net.nodes.values()) {
      expect(n.applied.map((e) => fromUtf8(e.data))).toEqual(['', 'a', 'b']);
    }
  });
  it('elects by ticking', () => {
    const net = new Network({ voters: ['1', '2', '3'], preVote: true, checkQuorum: true });
    for (let i = 0; i < 30 && net.leaders().length === 0; i++) {
      net.tickAll(1);
      net.stabilize();
    }
    expect(net.leaders().length).toBe(1);
  });
});
