import { MemoryBackend, type Backend } from '../../src/mvcc/index.js';
import { backendContract } from './backend.contract.js';

backendContract('memory', {
  create: () => new MemoryBackend(),
  reopen: (b: Backend) => {
    // The simulator keeps the MemoryBackend as the node's disk; a crash drops the open batch.
    (b as MemoryBackend).crash();
    return b;
  },
});
