/** Top self-time functions of a V8 .cpuprofile (as written by node --cpu-prof). */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { REPO_ROOT } from './servers.js';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly fn: string;
  readonly location: string;
  readonly selfMs: number;
  readonly share: number;
}

function locationOf(url: string, line: number): string {
  if (url === '') return '';
  const path = url.startsWith('file://') ? relative(REPO_ROOT, new URL(url).pathname) : url;
  return `${path}:${line + 1}`;
}

/** Self time grouped by function and location, largest first; `(idle)` is left out of the shares. */
export function topSelfTime(profilePath: string, limit = 10): { totalMs: number; idleMs: number; top: SelfTime[] } {
  const p = JSON.parse(readFileSync(profilePath, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    const n = byId.get(id);
    const name = n?.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idleUs += dt;
      return;
    }
    totalUs += dt;
    const key = `${name}\t${locationOf(n?.callFrame.url ?? '', n?.callFrame.lineNumber ?? 0)}`;
    selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
  });
  const top = [...selfUs.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([k, us]) => {
      const [fn = '', location = ''] = k.split('\t');
      return { fn, location, selfMs: us / 1000, share: totalUs === 0 ? 0 : us / totalUs };
    });
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, top };
}

/** Which part of the stack a frame belongs to, by its script URL. */
export function areaOf(fn: string, url: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'V8/native (program)';
  if (fn === 'fdatasync' || fn === 'fsync') return 'fsync (WAL)';
  if (url.includes('/node_modules/lmdb/')) return 'lmdb';
  if (url.includes('/node_modules/@grpc/')) return 'grpc-js';
  if (url.includes('/node_modules/tsx/') || url.includes('/node_modules/esbuild/') || url.startsWith('node:internal/modules')) return 'module loading (startup)';
  if (url.startsWith('node:internal/http2') || url.startsWith('node:internal/streams') || url.startsWith('node:net') || url.startsWith('node:internal/stream')) return 'node http2/streams';
  const m = /\/src\/([a-z]+)\//.exec(url);
  if (m !== null) return `src/${m[1] as string}`;
  if (url.startsWith('node:')) return 'node (other)';
  return url === '' ? 'native (other)' : 'other';
}

/** Self time summed per area (see areaOf), largest first, as shares of busy time. */
export function selfTimeByArea(profilePath: string): { area: string; selfMs: number; share: number }[] {
  const p = JSON.parse(readFileSync(profilePath, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const us = new Map<string, number>();
  let totalUs = 0;
  p.samples.forEach((id, i) => {
    const n = byId.get(id);
    const fn = n?.callFrame.functionName ?? '';
    if (fn === '(idle)') return;
    const dt = p.timeDeltas[i] ?? 0;
    totalUs += dt;
    const area = areaOf(fn, n?.callFrame.url ?? '');
    us.set(area, (us.get(area) ?? 0) + dt);
  });
  return [...us.entries()].sort((a, b) => b[1] - a[1]).map(([area, t]) => ({ area, selfMs: t / 1000, share: totalUs === 0 ? 0 : t / totalUs }));
}
