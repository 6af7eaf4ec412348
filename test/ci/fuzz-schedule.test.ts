import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFuzzArgs } from '../../ci/fuzz-options.js';
import { runScheduleCampaign } from '../../ci/fuzz-schedule.js';
import { runSimulation } from '../../sim/run.js';
import { failureClass, parseScheduleFile, scheduleRunOptions } from '../../sim/schedule.js';

const scratch = mkdtempSync(join(tmpdir(), 'fuzz-schedule-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const planOf = (args: string[]) => parseFuzzArgs(['--mode', 'schedule', '--workload', 'register', '--out-dir', scratch, ...args], () => ({ seed: 0, source: 'test' }));

describe('npm run fuzz -- --mode schedule', () => {
  it('draws schedules from the nemesis arbitrary; a failing one is shrunk by fast-check and saved with a replayable shrunk.json', async () => {
    // fast-check seed 5 draws a failing schedule (a kill overlapping a partition) within its first runs.
    const plan = planOf(['--seeds', '12', '--from', '5', '--safety-ms', '1500', '--inject', 'kill-during-partition', '--shrink-budget', '20s']);
    const progress: string[] = [];
    const campaign = await runScheduleCampaign(plan, (l) => progress.push(l), () => Date.now());
    expect(campaign.failed).toBe(true);
    expect(campaign.fcSeed).toBe(5);
    expect(progress.some((l) => /failed \(correctness: injected invariant kill-during-partition\)/.test(l))).toBe(true);
    const [dir] = readdirSync(scratch);
    expect(dir).toBeDefined();
    const first = parseScheduleFile(readFileSync(join(scratch, dir as string, 'schedule.json'), 'utf8'));
    const shrunk = parseScheduleFile(readFileSync(join(scratch, dir as string, 'shrunk.json'), 'utf8'));
    expect(shrunk.steps.length).toBeLessThan(first.steps.length);
    expect(shrunk.steps.length).toBeLessThanOrEqual(3);
    expect(campaign.lines.join('\n')).toContain(`npm run sim -- --schedule ${join(scratch, dir as string, 'shrunk.json')}`);
    const replay = await runSimulation(scheduleRunOptions(shrunk));
    expect(failureClass(replay)).toBe('correctness: injected invariant kill-during-partition');
  }, 180_000);

  it('passes when no drawn schedule fails', async () => {
    const plan = planOf(['--seeds', '2', '--from', '9', '--safety-ms', '800']);
    const campaign = await runScheduleCampaign(plan, () => undefined, () => Date.now());
    expect(campaign).toMatchObject({ failed: false, runs: 2 });
  }, 120_000);
});
