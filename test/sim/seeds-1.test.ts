import { describe, it } from 'vitest';
import { sweep } from './seed-sweep.js';

describe('simulated cluster, seeds 1000-1049 on 3 nodes', () => {
  it('passes safety, liveness and linearizability under the seed\'s faults', async () => {
    await sweep(1000, 1050, 3);
  }, 600_000);
});
