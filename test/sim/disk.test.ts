import { describe, expect, it } from 'vitest';
import { SimDiskDevice } from '../../sim/index.js';
import type { SimDiskOptions } from '../../sim/index.js';
import { createRand, crc32c, fromUtf8, utf8 } from '../../src/util/index.js';
import { DiskError } from '../../src/env/index.js';
import type { Disk } from '../../src/env/index.js';

function device(seed = 1, options: SimDiskOptions = {}): SimDiskDevice {
  return new SimDiskDevice(createRand(seed).fork('disk'), options);
}

function text(disk: Disk, path: string): string {
  return fromUtf8(disk.read(path));
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof DiskError) return e.code;
    throw e;
  }
  return undefined;
}

describe('SimDisk as a file system', () => {
  it('reads what was written, lists sorted names, and reports errors with codes', () => {
    const disk: Disk = device().open();
    disk.mkdirp('member/wal');
    disk.append('member/wal/0.wal', utf8('ab'));
    disk.append('member/wal/0.wal', utf8('cd'));
    disk.writeFile('member/b', utf8('x'));
    expect(text(disk, 'member/wal/0.wal')).toBe('abcd');
    expect(disk.size('member/wal/0.wal')).toBe(4);
    expect(disk.list('member')).toEqual(['b', 'wal']);
    expect(disk.list('nope')).toEqual([]);
    expect(disk.exists('member/wal')).toBe(true);
    disk.truncate('member/wal/0.wal', 1);
    expect(text(disk, 'member/wal/0.wal')).toBe('a');
    disk.truncate('member/wal/0.wal', 3);
    expect([...disk.read('member/wal/0.wal')]).toEqual([97, 0, 0]);
    expect(code(() => disk.read('missing'))).toBe('ENOENT');
    expect(code(() => disk.append('nodir/f', utf8('x')))).toBe('ENOENT');
    expect(code(() => disk.read('member'))).toBe('EISDIR');
    expect(code(() => disk.remove('member'))).toBe('ENOTEMPTY');
    // A returned buffer is a copy: mutating it does not change the file.
    const bytes = disk.read('member/b');
    bytes[0] = 0;
    expect(text(disk, 'member/b')).toBe('x');
  });
});

describe('SimDisk crash semantics', () => {
  it('keeps synced data and loses unsynced data', () => {
    const dev = device();
    const disk = dev.open();
    disk.mkdirp('d');
    disk.append('d/log', utf8('synced;'));
    disk.sync('d/log');
    disk.syncDir('d');
    disk.append('d/log', utf8('lost'));
    expect(text(disk, 'd/log')).toBe('synced;lost');
    const report = dev.crash();
    expect(report.reverted).toEqual(['d/log']);
    const after = dev.open();
    expect(text(after, 'd/log')).toBe('synced;');
  });

  it('closes the old view on crash: a dropped node cannot write into the next life', () => {
    const dev = device();
    const old = dev.open();
    dev.crash();
    const fresh = dev.open();
    expect(code(() => old.append('x', utf8('zombie')))).toBe('EBADF');
    expect(fresh.exists('x')).toBe(false);
    expect(() => dev.open()).toThrow(/already open/);
  });

  it('may tear the unsynced tail: keeps a prefix of the unsynced appends, never more', () => {
    const kept = new Set<number>();
    for (let seed = 0; seed < 40; seed++) {
      const dev = device(seed, { tornWriteProb: 1 });
      const disk = dev.open();
      disk.append('wal', utf8('SYNCED'));
      disk.sync('wal');
      disk.syncDir('');
      disk.append('wal', utf8('aaaa'));
      disk.append('wal', utf8('bbbb'));
      const report = dev.crash();
      const after = text(dev.open(), 'wal');
      expect('SYNCEDaaaabbbb'.startsWith(after)).toBe(true);
      expect(after.startsWith('SYNCED')).toBe(true);
      kept.add(after.length - 6);
      if (after.length > 6) expect(report.torn).toEqual([['wal', after.length - 6, 8]]);
    }
    // Over 40 seeds the kept prefix covers cuts inside the last append and inside the first.
    expect([...kept].some((k) => k > 0 && k < 4)).toBe(true);
    expect([...kept].some((k) => k > 4 && k < 8)).toBe(true);
  });

  it('without tearing, a rewritten file reverts wholly to its durable content', () => {
    const dev = device(3, { tornWriteProb: 1 });
    const disk = dev.open();
    disk.writeFile('meta', utf8('v1'));
    disk.sync('meta');
    disk.syncDir('');
    disk.truncate('meta', 0);
    disk.append('meta', utf8('v2-longer'));
    dev.crash();
    expect(text(dev.open(), 'meta')).toBe('v1');
  });

  it('creation is durable only after syncDir of the parent', () => {
    const dev = device();
    const disk = dev.open();
    disk.mkdirp('snap');
    disk.writeFile('snap/a', utf8('A'));
    disk.sync('snap/a'); // content synced, name not
    disk.writeFile('snap/b', utf8('B')); // name synced below, content never
    disk.syncDir('snap');
    disk.writeFile('snap/c', utf8('C'));
    disk.sync('snap/c'); // created after the syncDir
    dev.crash();
    const after = dev.open();
    expect(after.list('snap')).toEqual(['a', 'b']);
    expect(text(after, 'snap/a')).toBe('A');
    expect(text(after, 'snap/b')).toBe(''); // the name survived, the content did not
  });

  it('rename is durable only after syncDir; before it the old name and content come back', () => {
    const dev = device();
    const disk = dev.open();
    disk.writeFile('state', utf8('old'));
    disk.sync('state');
    disk.syncDir('');
    // The atomic-replace pattern: write tmp, sync it, rename over, sync the directory.
    disk.writeFile('state.tmp', utf8('new'));
    disk.sync('state.tmp');
    disk.rename('state.tmp', 'state');
    expect(text(disk, 'state')).toBe('new');
    expect(disk.exists('state.tmp')).toBe(false);
    dev.crash();
    let after = dev.open();
    expect(text(after, 'state')).toBe('old');
    expect(after.exists('state.tmp')).toBe(false);
    after.writeFile('state.tmp', utf8('new'));
    after.sync('state.tmp');
    after.rename('state.tmp', 'state');
    after.syncDir('');
    dev.crash();
    after = dev.open();
    expect(text(after, 'state')).toBe('new');
    expect(after.list('')).toEqual(['state']);
  });

  it('remove is undone by a crash before syncDir', () => {
    const dev = device();
    const disk = dev.open();
    disk.writeFile('f', utf8('keep me'));
    disk.sync('f');
    disk.syncDir('');
    disk.remove('f');
    expect(disk.exists('f')).toBe(false);
    dev.crash();
    expect(text(dev.open(), 'f')).toBe('keep me');
  });

  it('latent corruption flips one bit of synced data, which a CRC catches', () => {
    const payload = utf8('the quick brown fox jumps over the lazy dog');
    const crc = crc32c(payload);
    const dev = device(9, { corruptionProb: 1, corruptiblePath: (p) => p.endsWith('.wal') });
    const disk = dev.open();
    disk.writeFile('0.wal', payload);
    disk.writeFile('other', payload);
    disk.sync('0.wal');
    disk.sync('other');
    disk.syncDir('');
    const report = dev.crash();
    expect(report.corrupted.length).toBe(1);
    expect(report.corrupted[0]?.path).toBe('0.wal');
    const after = dev.open();
    const got = after.read('0.wal');
    let differingBits = 0;
    for (let i = 0; i < got.length; i++) {
      let x = (got[i] as number) ^ (payload[i] as number);
      while (x !== 0) {
        differingBits += x & 1;
        x >>>= 1;
      }
    }
    expect(differingBits).toBe(1);
    expect(crc32c(got)).not.toBe(crc);
    expect(after.read('other')).toEqual(payload);
    expect(dev.faultLog.some((l) => l.includes('corrupted 0.wal'))).toBe(true);
  });

  it('EIO on sync drops the dirty pages: later syncs succeed but persist nothing (fsyncgate)', () => {
    const dev = device();
    const disk = dev.open();
    disk.append('wal', utf8('a'));
    disk.sync('wal');
    disk.syncDir('');
    disk.append('wal', utf8('b'));
    dev.injectSyncFailures(1);
    expect(code(() => disk.sync('wal'))).toBe('EIO');
    expect(text(disk, 'wal')).toBe('ab'); // readers still see it
    disk.append('wal', utf8('c'));
    disk.sync('wal'); // "succeeds"
    expect(dev.stats.syncFailures).toBe(1);
    dev.crash();
    const after = dev.open();
    expect(text(after, 'wal')).toBe('a');
    after.append('wal', utf8('d'));
    after.sync('wal'); // a new life: the file is healthy again
    dev.crash();
    expect(text(dev.open(), 'wal')).toBe('ad');
  });

  it('ENOSPC on write changes nothing; random sync failures follow the seeded rate', () => {
    const dev = device(4, { writeFailProb: 1 });
    const disk = dev.open();
    expect(code(() => disk.append('f', utf8('x')))).toBe('ENOSPC');
    expect(disk.exists('f')).toBe(false);
    const flaky = device(5, { syncFailProb: 0.25 });
    const d2 = flaky.open();
    d2.writeFile('f', utf8('x'));
    let failures = 0;
    for (let i = 0; i < 400; i++) if (code(() => d2.syncDir('')) === 'EIO') failures++;
    expect(failures).toBe(flaky.stats.syncFailures);
    expect(failures).toBeGreaterThan(70);
    expect(failures).toBeLessThan(130);
  });

  it('charges a sync latency in the configured range, with occasional slow syncs', () => {
    const dev = device(6, { syncLatencyMsMin: 1, syncLatencyMsMax: 4, slowSyncProb: 0.1, slowSyncMsMax: 500 });
    const disk = dev.open();
    disk.writeFile('f', utf8('x'));
    let total = 0;
    let slow = 0;
    for (let i = 0; i < 200; i++) {
      disk.sync('f');
      expect(disk.lastSyncLatencyMs).toBeGreaterThanOrEqual(1);
      total += disk.lastSyncLatencyMs;
      if (disk.lastSyncLatencyMs > 4) slow++;
    }
    expect(disk.takeSyncLatencyMs()).toBe(total);
    expect(disk.takeSyncLatencyMs()).toBe(0);
    expect(slow).toBeGreaterThan(5);
    expect(slow).toBeLessThan(40);
  });

  it('the same seed gives the same crash outcome', () => {
    const run = (seed: number): string => {
      const dev = device(seed, { tornWriteProb: 0.5, corruptionProb: 0.5 });
      const disk = dev.open();
      for (let f = 0; f < 5; f++) {
        disk.append(`f${f}`, utf8('durable-'.repeat(5)));
        disk.sync(`f${f}`);
        disk.append(`f${f}`, utf8('pending-'.repeat(5)));
      }
      disk.syncDir('');
      dev.crash();
      const after = dev.open();
      return after.list('').map((p) => `${p}=${fromUtf8(after.read(p))}`).join('\n');
    };
    expect(run(21)).toBe(run(21));
    const outcomes = new Set([21, 22, 23, 24, 25, 26].map(run));
    expect(outcomes.size).toBeGreaterThan(1);
  });
});

describe('SimDisk.syncAsync', () => {
  /** Timers that run only when the test says so, as the member's clock would later. */
  function manualTimers(): { setTimer(ms: number, fn: () => void): { timerId: number }; runAll(): void; delays: number[] } {
    const pending: Array<() => void> = [];
    const delays: number[] = [];
    return {
      setTimer(ms, fn) {
        delays.push(ms);
        pending.push(fn);
        return { timerId: pending.length };
      },
      runAll() {
        for (const fn of pending.splice(0)) fn();
      },
      delays,
    };
  }

  /** A process view with manual timers and w/0.wal holding `content`, its name durable, its bytes not. */
  function walWith(dev: SimDiskDevice, content: string): { dev: SimDiskDevice; timers: ReturnType<typeof manualTimers>; disk: Disk } {
    const timers = manualTimers();
    const disk = dev.open(timers);
    disk.mkdirp('w');
    disk.syncDir('.');
    disk.syncDir('w');
    disk.append('w/0.wal', utf8(content));
    disk.syncDir('w');
    return { dev, timers, disk };
  }

  it('is durable only once it completes, after the drawn latency; a crash before loses the writes', () => {
    const { dev, timers, disk } = walWith(device(3, { syncLatencyMsMin: 4, syncLatencyMsMax: 4 }), 'abc');
    const results: unknown[] = [];
    disk.syncAsync?.('w/0.wal', (error) => results.push(error));
    expect(results).toEqual([]);
    expect(timers.delays).toEqual([4]);
    dev.crash();
    timers.runAll(); // the completion of a crashed process: reports, but made nothing durable
    expect((results[0] as DiskError).code).toBe('EBADF');
    expect(text(dev.open(), 'w/0.wal')).toBe('');
  });

  it('completes with the content as of completion, or with EIO as sync() would', () => {
    const { dev, timers, disk } = walWith(device(4), 'ab');
    const results: unknown[] = [];
    disk.syncAsync?.('w/0.wal', (error) => results.push(error));
    disk.append('w/0.wal', utf8('cd'));
    timers.runAll();
    expect(results).toEqual([undefined]);
    dev.injectSyncFailures(1);
    disk.append('w/0.wal', utf8('ef'));
    disk.syncAsync?.('w/0.wal', (error) => results.push(error));
    timers.runAll();
    expect((results[1] as DiskError).code).toBe('EIO');
    dev.crash();
    expect(text(dev.open(), 'w/0.wal')).toBe('abcd');
  });

  it('is absent without timers, so the node syncs synchronously', () => {
    expect(device().open().syncAsync).toBeUndefined();
  });
});
