import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { areaOf, selfTimeByArea, topSelfTime } from '../../ci/bench/profile.js';
import { cpuMsOf, rssBreakdownOf, rssBytesOf } from '../../ci/bench/procstat.js';

/** A tiny V8 profile: samples name the leaf node, timeDeltas (µs) the time each sample covers. */
function writeProfile(dir: string): string {
  const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
  const profile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', '') },
      { id: 2, callFrame: frame('(idle)', '') },
      { id: 3, callFrame: frame('fdatasync', '') },
      { id: 4, callFrame: frame('range', 'file:///x/src/mvcc/store.ts') },
      { id: 5, callFrame: frame('write', 'file:///x/node_modules/@grpc/grpc-js/build/src/stream-decoder.js') },
    ],
    samples: [2, 3, 3, 4, 5, 3, 2],
    timeDeltas: [5000, 1000, 1000, 2000, 500, 1000, 5000],
  };
  const path = join(dir, 'CPU.test.cpuprofile');
  writeFileSync(path, JSON.stringify(profile));
  return path;
}

describe('bench CPU profile summary', () => {
  it('sums self time per function and per area, leaving idle out of the shares', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-prof-test-'));
    try {
      const path = writeProfile(dir);
      const p = topSelfTime(path, 2);
      expect(p.idleMs).toBe(10);
      expect(p.totalMs).toBe(5.5);
      expect(p.top.map((t) => t.fn)).toEqual(['fdatasync', 'range']);
      expect(p.top[0]!.selfMs).toBe(3);
      expect(p.top[0]!.share).toBeCloseTo(3 / 5.5);
      const areas = selfTimeByArea(path);
      expect(areas.map((a) => a.area)).toEqual(['fsync (WAL)', 'src/mvcc', 'grpc-js']);
      expect(areas.reduce((s, a) => s + a.share, 0)).toBeCloseTo(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names areas by script URL', () => {
    expect(areaOf('finishTxn', 'file:///r/node_modules/lmdb/write.js')).toBe('lmdb');
    expect(areaOf('respond', 'node:internal/http2/core')).toBe('node http2/streams');
    expect(areaOf('step', 'file:///r/src/raft/raft.ts')).toBe('src/raft');
    expect(areaOf('(garbage collector)', '')).toBe('GC');
  });

  it('reads CPU time and RSS of a live process from /proc', () => {
    expect(cpuMsOf(process.pid)).toBeGreaterThan(0);
    const rss = rssBreakdownOf(process.pid)!;
    expect(rss.totalBytes).toBeGreaterThan(1 << 20);
    expect(rss.anonBytes + rss.fileBytes).toBeLessThanOrEqual(rss.totalBytes + (1 << 20));
    expect(rssBytesOf(process.pid)).toBeGreaterThan(0);
    expect(cpuMsOf(2 ** 30)).toBeUndefined();
  });
});
