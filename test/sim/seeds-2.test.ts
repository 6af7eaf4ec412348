import { describe, it } from 'vitest';
import { sweep } from './seed-sweep.js';

describe('simulated cluster, seeds 1050-1099 on 5 nodes', () => {
  it('passes safety, liveness and linearizability under the seed\'s faults', async () => {
    await sweep(1050, 1100, 5);
  }, 600_000);
});
