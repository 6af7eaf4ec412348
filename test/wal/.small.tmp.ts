import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NodeDisk } from '../../src/env/node/index.js';
import type { Entry } from '../../src/raft/types.js';
import { nodeId } from '../../src/util/index.js';
import { Wal } from '../../src/wal/index.js';
const root = mkdtempSync(join(tmpdir(), 'small-'));
const disk = new NodeDisk(root);
const wal = Wal.create(disk, 'w', { nodeId: nodeId('1'), clusterId: 'x' });
const data = new Uint8Array(256).fill(7);
const total = 200_000;
const t0 = performance.now();
for (let i = 1; i <= total; i += 100) {
  const b: Entry[] = [];
  for (let j = i; j < i + 100; j++) b.push({ index: j, term: 1, type: 'normal', data });
  wal.save({ term: 1, vote: nodeId('1'), commit: i + 99 }, b, false);
}
const ms = performance.now() - t0;
console.log(`256 B entries, 100/save, no fsync: ${Math.round(total / ms * 1000)} entries/s`);
const t1 = performance.now();
const r = Wal.open(disk, 'w', { index: 0, term: 0 });
console.log(`replay ${r.entries.length}: ${Math.round(r.entries.length / (performance.now() - t1) * 1000)} entries/s`);
rmSync(root, { recursive: true, force: true });
