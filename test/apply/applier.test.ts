import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Applier, encodePayload } from '../../src/apply/index.js';
import type { InternalRequest } from '../../src/apply/index.js';
import { ManualClock } from '../util/manual-clock.js';
import { LmdbBackend, MemoryBackend } from '../../src/mvcc/index.js';
import { utf8 } from '../../src/util/index.js';

const put = (k: string, v: string): Uint8Array => encodePayload({ put: { key: utf8(k), value: utf8(v) } } satisfies InternalRequest);

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('Applier', () => {
  it('a crash with an open batch loses only what the WAL replays: replay applies each entry exactly once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'applier-'));
    dirs.push(dir);
    const clock = new ManualClock();
    const entries = Array.from({ length: 30 }, (_, i) => put(`k${i % 5}`, `v${i}`));
    let backend = LmdbBackend.open(dir);
    let applier = new Applier(backend, { clock, batchIntervalMs: 100 });
    for (let i = 0; i < 20; i++) {
      applier.apply(i + 1, 1, entries[i] as Uint8Array);
      applier.flush();
      if (i === 9) clock.advance(150); // the batch of entries 1..10 commits durably
    }
    expect(applier.store.rev()).toBe(21);
    // Crash: the open batch (entries 11..20) never commits.
    backend.close();
    backend = LmdbBackend.open(dir);
    applier = new Applier(backend, { clock, batchIntervalMs: 100 });
    expect(applier.appliedIndex()).toBe(10);
    expect(applier.store.rev()).toBe(11);
    // The node loop replays the WAL from appliedIndex + 1.
    for (let i = applier.appliedIndex(); i < 30; i++) applier.apply(i + 1, 1, entries[i] as Uint8Array);
    applier.commitNow();
    const reference = new Applier(new MemoryBackend(), { clock });
    for (let i = 0; i < 30; i++) reference.apply(i + 1, 1, entries[i] as Uint8Array);
    reference.commitNow();
    expect(applier.store.rev()).toBe(31);
    expect(applier.store.hash().hash).toBe(reference.store.hash().hash);
    backend.close();
  });

  it('answers request errors as results every member agrees on, writing nothing', () => {
    const clock = new ManualClock();
    const applier = new Applier(new MemoryBackend(), { clock });
    applier.apply(1, 1, put('a', '1'));
    const bad = applier.apply(2, 1, encodePayload({ compaction: { revision: 99 } } satisfies InternalRequest));
    expect(bad).toEqual({ ok: false, error: { code: 11, message: 'etcdserver: mvcc: required revision is a future revision' } });
    expect(applier.appliedIndex()).toBe(2);
    expect(applier.store.rev()).toBe(2);
  });

  it('revokes a lease by deleting all its keys at one revision', () => {
    const clock = new ManualClock();
    const applier = new Applier(new MemoryBackend(), { clock });
    applier.apply(1, 1, encodePayload({ leaseGrant: { id: 7n, ttlSeconds: 10 } } satisfies InternalRequest));
    applier.apply(2, 1, encodePayload({ put: { key: utf8('a'), value: utf8('1'), lease: 7n } } satisfies InternalRequest));
    applier.apply(3, 1, encodePayload({ put: { key: utf8('b'), value: utf8('2'), lease: 7n } } satisfies InternalRequest));
    const revoked = applier.apply(4, 1, encodePayload({ leaseRevoke: { id: 7n } } satisfies InternalRequest));
    expect(revoked).toEqual({ ok: true, response: { revision: 4 } });
    expect(applier.store.range({ key: utf8('a'), rangeEnd: utf8('c') }).kvs).toEqual([]);
    const again = applier.apply(5, 1, encodePayload({ leaseRevoke: { id: 7n } } satisfies InternalRequest));
    expect(again).toEqual({ ok: false, error: { code: 5, message: 'etcdserver: requested lease not found' } });
  });
});
