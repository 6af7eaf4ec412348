/**
 * The simulator's auth workload: role and permission changes and auth enable/disable under the
 * seed's faults; every member's applied write must be allowed by the permissions in force at its
 * entry. Short safety phases keep it to seconds. The decision model itself is pinned below.
 */
import { describe, expect, it } from 'vitest';
import { modelMayWrite } from '../../sim/auth-workload.js';
import { runSimulation } from '../../sim/run.js';

describe('sim --workload auth', () => {
  for (const seed of [11]) {
    it(`seed ${seed}: passes under faults, and the same seed replays to the same trace`, async () => {
      const options = { seed, workload: 'auth' as const, safetyMs: 6_000, livenessBoundMs: 20_000 };
      const a = await runSimulation(options);
      expect(a.status, `${a.message}\nreplay: npm run sim -- --seed ${seed} --workload auth`).toBe('pass');
      expect(a.verdict?.violations).toEqual([]);
      expect(a.verdict?.summary).toMatch(/auth: [1-9]\d* admin changes applied/);
      expect(a.opsCompleted).toBeGreaterThan(20);
      const b = await runSimulation(options);
      expect(b.traceHash).toBe(a.traceHash);
    }, 120_000);
  }

  it('the decision model: off allows all; root, point, range and open grants; READ never writes', () => {
    const inForce = {
      enabled: true,
      roles: new Map([
        ['p', [{ key: 'k1', end: '', type: 1 as const }]],
        ['r', [{ key: 'k2', end: 'k3', type: 2 as const }, { key: 'k0', end: '\0', type: 0 as const }]],
        ['o', [{ key: 'k3', end: '\0', type: 1 as const }]],
      ]),
      users: new Map([['a', ['p', 'r']], ['b', ['o']], ['c', ['root']]]),
    };
    expect(modelMayWrite(inForce, 'a', 'k1')).toBe(true);
    expect(modelMayWrite(inForce, 'a', 'k2')).toBe(true);
    expect(modelMayWrite(inForce, 'a', 'k3')).toBe(false);
    expect(modelMayWrite(inForce, 'a', 'k0')).toBe(false);
    expect(modelMayWrite(inForce, 'b', 'k9')).toBe(true);
    expect(modelMayWrite(inForce, 'b', 'k2')).toBe(false);
    expect(modelMayWrite(inForce, 'c', 'anything')).toBe(true);
    expect(modelMayWrite(inForce, 'nobody', 'k1')).toBe(false);
    expect(modelMayWrite({ ...inForce, enabled: false }, 'nobody', 'k1')).toBe(true);
  });
});
