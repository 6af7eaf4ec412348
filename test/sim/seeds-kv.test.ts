import { describe, it } from 'vitest';
import { sweep } from './seed-sweep.js';

describe('simulated cluster on the KV API (real applier, etcd model), seeds 2000-2039', () => {
  it('passes safety, liveness and the etcd model under the seed\'s faults', async () => {
    await sweep(2000, 2040, undefined, 'kv', 2_000);
  }, 600_000);
});
