/**
 * Diffs a run of the golden sequences against tsetcd (record.ts --tsetcd <dir>) with the goldens
 * recorded from etcd: same exit codes, same JSON once member-specific header fields are dropped,
 * same error line. Gateway steps are not compared (tsetcd serves gRPC only).
 *
 * Usage: npx tsx ci/golden/compare.ts <dir>    (exit 1 on any difference)
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const HERE = new URL('.', import.meta.url).pathname;

interface Step {
  ctl?: string[];
  skipped?: string;
  exitCode?: number;
  stdout?: string;
  stderr?: string;
}

const MEMBER_FIELDS = new Set(['cluster_id', 'member_id', 'raft_term', 'Endpoint', 'ID', 'TTL']);

function scrub(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(scrub);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (!MEMBER_FIELDS.has(k)) out[k] = scrub(x);
  return out;
}

/** Lease ids are random per run: compare them by order of first appearance. */
function normalise(step: Step): string {
  if (step.exitCode !== 0) return `exit ${step.exitCode}: ${(step.stderr ?? '').trim().split('\n').pop() ?? ''}`;
  const text = (step.stdout ?? '').trim();
  const leases = new Map<string, string>();
  const stable = text.replace(/"lease":(\d+)/g, (_, id: string) => {
    if (!leases.has(id)) leases.set(id, `L${leases.size}`);
    return `"lease":"${leases.get(id)}"`;
  });
  try {
    return JSON.stringify(scrub(JSON.parse(stable)));
  } catch {
    return stable;
  }
}

function main(): number {
  const dir = process.argv[2];
  if (dir === undefined) throw new Error('usage: compare.ts <dir recorded with --tsetcd>');
  let compared = 0;
  let differing = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const got = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { steps: Step[] };
    const want = JSON.parse(readFileSync(join(HERE, 'recorded', file), 'utf8')) as { steps: Step[] };
    want.steps.forEach((w, i) => {
      const g = got.steps[i];
      if (w.ctl === undefined || g === undefined || g.skipped !== undefined) return;
      compared++;
      const a = normalise(w);
      const b = normalise(g);
      if (a === b) return;
      differing++;
      console.log(`${file} step ${i}: etcdctl ${w.ctl.join(' ')}\n  etcd:   ${a}\n  tsetcd: ${b}`);
    });
  }
  console.log(`${compared} etcdctl steps compared, ${differing} differ`);
  return differing === 0 ? 0 : 1;
}

process.exit(main());
