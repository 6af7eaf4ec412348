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
