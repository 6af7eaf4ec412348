import { describe, expect, it } from 'vitest';
import { runSimulation } from '../../sim/run.js';

describe('whole-run determinism', () => {
  it('the same seed gives the same trace hash and history; another seed differs', async () => {
    const a = await runSimulation({ seed: 7, safetyMs: 5_000 });
    const b = await runSimulation({ seed: 7, safetyMs: 5_000 });
    const c = await runSimulation({ seed: 8, safetyMs: 5_000 });
    expect(a.events).toBeGreaterThan(1_000);
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.events).toBe(a.events);
    expect(JSON.stringify(b.history)).toBe(JSON.stringify(a.history));
    expect(c.traceHash).not.toBe(a.traceHash);
  }, 300_000);
});
