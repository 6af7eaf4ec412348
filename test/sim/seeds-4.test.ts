import { describe, it } from 'vitest';
import { sweep } from './seed-sweep.js';

describe('simulated cluster, seeds 1150-1199 on 5 nodes', () => {
  it('passes safety, liveness and linearizability under the seed\'s faults', async () => {
    await sweep(1150, 1200, 5);
  }, 600_000);
});
