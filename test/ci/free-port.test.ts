import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../ci/free-port.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const run = promisify(execFile);

describe('freePort', () => {
  it('hands out distinct ports below the kernel ephemeral range, never twice in one process', async () => {
    const ports = await Promise.all(Array.from({ length: 40 }, () => freePort()));
    expect(new Set(ports).size).toBe(ports.length);
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(20_000);
      expect(p).toBeLessThan(32_768);
    }
  });

  it('two processes asking at the same time get disjoint ports (the lock files)', async () => {
    const script = `import { freePort } from ${JSON.stringify(join(REPO, 'ci', 'free-port.ts'))};
const out = []; for (let i = 0; i < 60; i++) out.push(await freePort()); console.log(JSON.stringify(out));`;
    const child = () => run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO });
    const [a, b] = await Promise.all([child(), child()]);
    const pa: number[] = JSON.parse(a.stdout);
    const pb: number[] = JSON.parse(b.stdout);
    expect(pa).toHaveLength(60);
    expect(pa.filter((p) => pb.includes(p))).toEqual([]);
  }, 60_000);
});
