import { describe, it } from 'vitest';
import { sweep } from './seed-sweep.js';

describe('simulated cluster, seeds 1100-1149 on 3 nodes', () => {
  it('passes safety, liveness and linearizability under the seed\'s faults', async () => {
    await sweep(1100, 1150, 3);
  }, 600_000);
});
