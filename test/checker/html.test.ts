import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const C50_BAD = join(ROOT, '..', 'shared', 'histories', 'porcupine', 'kv', 'c50-bad.txt');
const CHROMIUM = '/usr/bin/chromium';

describe('c50-bad through the real CLI, rendered in headless Chromium', () => {
  it('is reported invalid with its HTML in under 60 s, and the page renders', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'checker-html-'));
    const html = join(tmp, 'c50-bad.html');
    const started = Date.now();
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'checker', 'main.ts'), C50_BAD, '--html', html], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 90_000,
    });
    const elapsedMs = Date.now() - started;
    expect(run.status, run.stderr).toBe(1);
    expect(elapsedMs).toBeLessThan(60_000);
    expect(run.stdout).toMatch(/verdict: invalid/);
    // Every failing key's stuck op appears in the page, highlighted.
    const stuck = [...run.stdout.matchAll(/cannot linearize op (\d+) /g)].map((m) => m[1]);
    expect(stuck.length).toBeGreaterThan(0);
    const page = readFileSync(html, 'utf8');
    for (const id of stuck) expect(page).toMatch(new RegExp(`stuck( core)?" data-op="${id}"`));
    expect(page).toContain('not linearizable');

    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: install it (apt-get install -y chromium; CI runs ci/install-system-deps.sh)`).toBe(true);
    const png = join(tmp, 'c50-bad.png');
    const shot = spawnSync(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${join(tmp, 'profile')}`,
        `--screenshot=${png}`,
        '--window-size=1200,800',
        `file://${html}`,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(existsSync(png), `chromium wrote no screenshot: ${shot.stderr}`).toBe(true);
    // A blank 1200x800 page compresses to a few KB; the timeline is far richer.
    expect(statSync(png).size).toBeGreaterThan(20_000);
    const header = readFileSync(png).subarray(0, 24);
    expect(header.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(header.readUInt32BE(16)).toBe(1200);
    expect(header.readUInt32BE(20)).toBe(800);
  });
});
