/**
 * Replays every recorded golden sequence (ci/golden/recorded/*.json, recorded from a real etcd
 * by ci/golden/record.ts, held-out ones included) against a fresh in-memory MvccStore and checks
 * revisions, versions, counts, `more`, kvs, hashes and error messages are what etcd answered.
 * New sequences need no code here: add them to ci/golden/heldout.json and record.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryBackend, MvccStore } from '../../src/mvcc/index.js';
import { expectedCtl, expectedGateway, runCtl, runGateway, type RecordedStep, type ReplayContext } from './translate.js';

const DIR = join(import.meta.dirname, '../../ci/golden/recorded');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

interface Recorded {
  name: string;
  steps: RecordedStep[];
}

function describeStep(step: RecordedStep, i: number): string {
  const what = step.ctl !== undefined ? `etcdctl ${step.ctl.join(' ')}${step.stdin !== undefined ? ` <<< ${JSON.stringify(step.stdin)}` : ''}` : `gateway ${step.gw} ${JSON.stringify(step.body)}`;
  return `step ${i}: ${what}`;
}

describe('golden sequences recorded from real etcd', () => {
  it('has recorded sequences, held-out ones included', () => {
    expect(files.length).toBeGreaterThanOrEqual(7);
    expect(files.some((f) => f.startsWith('heldout-'))).toBe(true);
  });

  for (const file of files) {
    const rec = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Recorded;
    it(`replays ${rec.name}`, () => {
      const ctx: ReplayContext = { leases: new Set() };
      const store = MvccStore.open(new MemoryBackend(), { leaseExists: (id) => ctx.leases.has(id) });
      rec.steps.forEach((step, i) => {
        const label = describeStep(step, i);
        if (step.ctl !== undefined) {
          const got = runCtl(store, step, ctx);
          const want = expectedCtl(step);
          if (want.ok) expect(got, label).toEqual(want);
          else {
            expect(got.ok, label).toBe(false);
            if (!got.ok) expect(got.error.message, label).toBe((want as { message: string }).message);
          }
        } else {
          const got = runGateway(store, step);
          const want = expectedGateway(step);
          if (want.ok) expect(got, label).toEqual(want);
          else {
            expect(got.ok, label).toBe(false);
            if (!got.ok) {
              expect(got.error.message, label).toBe((want as { message: string }).message);
              expect(got.error.code, label).toBe((want as { code: number }).code);
            }
          }
        }
      });
    });
  }
});
