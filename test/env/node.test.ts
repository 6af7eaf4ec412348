import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskError } from '../../src/env/index.js';
import { NodeClock, NodeDisk, NodeRand, consoleLogger, nodeEnv } from '../../src/env/node/index.js';
import { AssertionError } from '../../src/util/index.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tsetcd-env-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

describe('NodeDisk', () => {
  it('appends, reads, truncates and syncs through a cached descriptor', () => {
    const disk = new NodeDisk(root);
    disk.mkdirp('a/b');
    disk.append('a/b/f', bytes(1, 2, 3));
    disk.append('a/b/f', bytes(4));
    expect(disk.openFdCount()).toBe(1);
    disk.sync('a/b/f');
    disk.syncDir('a/b');
    expect(disk.read('a/b/f')).toEqual(bytes(1, 2, 3, 4));
    disk.truncate('a/b/f', 2);
    disk.append('a/b/f', bytes(9));
    expect(disk.read('a/b/f')).toEqual(bytes(1, 2, 9));
    expect(disk.size('a/b/f')).toBe(3);
    disk.close();
    expect(disk.openFdCount()).toBe(0);
  });

  it('syncs asynchronously on the cached descriptor and reports errors instead of throwing', async () => {
    const disk = new NodeDisk(root);
    disk.mkdirp('s');
    disk.append('s/wal', bytes(1, 2));
    let calledSynchronously = true;
    const done = new Promise<unknown>((resolve) => disk.syncAsync('s/wal', resolve));
    calledSynchronously = false;
    expect(await done).toBeUndefined();
    expect(calledSynchronously).toBe(false);
    disk.writeFile('s/plain', bytes(3));
    expect(await new Promise<unknown>((resolve) => disk.syncAsync('s/plain', resolve))).toBeUndefined();
    const missing = await new Promise<unknown>((resolve) => disk.syncAsync('s/none', resolve));
    expect(missing).toBeInstanceOf(DiskError);
    expect((missing as DiskError).code).toBe('ENOENT');
    disk.close();
  });

  it('writes whole files, renames, lists sorted, removes', () => {
    const disk = new NodeDisk(root);
    disk.mkdirp('d');
    disk.writeFile('d/z.tmp', bytes(7));
    disk.sync('d/z.tmp');
    disk.rename('d/z.tmp', 'd/z');
    disk.writeFile('d/a', bytes(1));
    expect(disk.list('d')).toEqual(['a', 'z']);
    expect(disk.list('missing')).toEqual([]);
    expect(disk.exists('d/z')).toBe(true);
    disk.remove('d/z');
    expect(disk.exists('d/z')).toBe(false);
    expect(() => disk.remove('d')).toThrow(/ENOTEMPTY/);
    disk.remove('d/a');
    disk.remove('d');
    expect(disk.exists('d')).toBe(false);
    expect(() => disk.remove('d')).toThrow(/ENOENT/);
  });

  it('moves appends to the renamed file, never to a stale descriptor', () => {
    const disk = new NodeDisk(root);
    disk.append('f', bytes(1));
    disk.rename('f', 'g');
    disk.append('f', bytes(2));
    expect(disk.read('g')).toEqual(bytes(1));
    expect(disk.read('f')).toEqual(bytes(2));
  });

  it('throws DiskError with the OS code', () => {
    const disk = new NodeDisk(root);
    expect(() => disk.read('nope')).toThrow(DiskError);
    try {
      disk.size('nope');
    } catch (error) {
      expect((error as DiskError).code).toBe('ENOENT');
    }
  });

  it('refuses paths that escape the data dir', () => {
    const disk = new NodeDisk(root);
    expect(() => disk.read('../x')).toThrow(AssertionError);
    expect(() => disk.read('/etc/passwd')).toThrow(AssertionError);
  });
});

describe('NodeClock', () => {
  it('is monotonic and fires timers asynchronously; cleared timers never fire', async () => {
    const clock = new NodeClock();
    const t0 = clock.nowMs();
    const fired: string[] = [];
    clock.setTimer(0, () => fired.push('a'));
    const cleared = clock.setTimer(1, () => fired.push('b'));
    clock.clearTimer(cleared);
    expect(fired).toEqual([]);
    await new Promise<void>((resolve) => clock.setTimer(5, () => resolve()));
    expect(fired).toEqual(['a']);
    expect(clock.nowMs()).toBeGreaterThanOrEqual(t0);
    expect(clock.pendingTimerCount()).toBe(0);
  });
});

describe('NodeRand', () => {
  it('is deterministic for a seed, and forks independently of position', () => {
    const a = new NodeRand([1, 2, 3, 4]);
    const b = new NodeRand([1, 2, 3, 4]);
    const seqA = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(seqA);
    const forkLate = a.fork('raft');
    const forkEarly = new NodeRand([1, 2, 3, 4]).fork('raft');
    expect(forkLate.nextUint32()).toBe(forkEarly.nextUint32());
    expect(a.fork('raft').nextUint32()).not.toBe(a.fork('net').nextUint32());
  });

  it('keeps draws in range and roughly uniform', () => {
    const rand = NodeRand.fromCrypto();
    const counts = new Array<number>(10).fill(0);
    let outOfRange = 0;
    for (let i = 0; i < 10_000; i++) {
      const x = rand.int(10);
      counts[x] = (counts[x] as number) + 1;
      const f = rand.float();
      const y = rand.between(-3, 3);
      if (!(f >= 0 && f < 1) || !(y >= -3 && y <= 3) || !Number.isInteger(y)) outOfRange++;
    }
    expect(outOfRange).toBe(0);
    for (const c of counts) expect(c).toBeGreaterThan(800);
    const big = rand.int(2 ** 40);
    expect(Number.isSafeInteger(big) && big >= 0 && big < 2 ** 40).toBe(true);
  });
});

describe('consoleLogger', () => {
  it('writes one JSON line per message above the level, with child fields', () => {
    const lines: string[] = [];
    const logger = consoleLogger('info', { node: 'n1' }, (line) => lines.push(line));
    logger.debug('hidden');
    logger.child({ module: 'wal' }).warn('repaired', { offset: 8, bytes: new Uint8Array([1, 255]), big: 5n });
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(record).toMatchObject({ level: 'warn', msg: 'repaired', node: 'n1', module: 'wal', offset: 8, bytes: '01ff', big: '5' });
    expect(typeof record['ts']).toBe('string');
  });
});

describe('nodeEnv', () => {
  it('bundles a disk rooted at the data dir', () => {
    const env = nodeEnv(join(root, 'data'), { randSeed: [5, 6, 7, 8], logLevel: 'error' });
    env.disk.writeFile('x', new Uint8Array([1]));
    expect(new NodeDisk(join(root, 'data')).read('x')).toEqual(new Uint8Array([1]));
    expect(env.rand.nextUint32()).toBe(new NodeRand([5, 6, 7, 8]).nextUint32());
    env.clock.clearAll();
  });
});
