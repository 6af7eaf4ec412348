/**
 * LmdbBackend with asyncCommits (what the server runs): commitBatch returns before LMDB has
 * committed, so every read must see the batches whose commits are still running, in order, on
 * top of committed state, including a restore (clearAll) still in flight. Checked against the
 * memory backend as a model, and after settled() against a fresh open of the same files.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { BatchingBackend, LmdbBackend, MemoryBackend, MvccStore } from '../../src/mvcc/index.js';
import type { Backend, BucketName, CommitOp } from '../../src/mvcc/index.js';
import { fromUtf8, utf8 } from '../../src/util/index.js';

const root = mkdtempSync(join(tmpdir(), 'tsetcd-lmdb-async-'));
let n = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

const freshPath = (): string => join(root, `db${n++}`, 'member', 'db');

function dump(be: Backend): string[] {
  const out: string[] = [];
  for (const bucket of ['key', 'meta'] as const) be.forEach(bucket, (k, v) => out.push(`${bucket}/${fromUtf8(k)}=${fromUtf8(v)}`));
  return out;
}

type Step =
  | { kind: 'put'; bucket: BucketName; key: string; value: string }
  | { kind: 'delete'; bucket: BucketName; key: string }
  | { kind: 'clear' }
  | { kind: 'commit' }
  | { kind: 'settle' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('put' as const), bucket: fc.constantFrom<BucketName>('key', 'meta'), key: fc.constantFrom('a', 'b', 'c', 'd', 'e'), value: fc.string({ maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), bucket: fc.constantFrom<BucketName>('key', 'meta'), key: fc.constantFrom('a', 'b', 'c', 'd', 'e') }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'commit' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'settle' as const }) },
);

describe('LmdbBackend with asynchronous commits', () => {
  it('reads match the memory backend at every step, commits running or not', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 40 }), async (steps) => {
        const path = freshPath();
        const lmdb = LmdbBackend.open(path, { asyncCommits: true });
        const model = new MemoryBackend();
        for (const be of [lmdb, model]) be.beginBatch();
        for (const step of steps) {
          for (const be of [lmdb, model] as Backend[]) {
            if (step.kind === 'put') be.put(step.bucket, utf8(step.key), utf8(step.value));
            else if (step.kind === 'delete') be.delete(step.bucket, utf8(step.key));
            else if (step.kind === 'clear') be.clearAll();
            else if (step.kind === 'commit') {
              be.commitBatch();
              be.beginBatch();
            }
          }
          if (step.kind === 'settle') await lmdb.settled();
          expect(dump(lmdb)).toEqual(dump(model));
          for (const key of ['a', 'c', 'e']) expect(lmdb.get('key', utf8(key))).toEqual(model.get('key', utf8(key)));
        }
        for (const be of [lmdb, model] as Backend[]) be.commitBatch();
        await lmdb.settled();
        lmdb.close();
        // Let lmdb-js finish closing before the same files open again.
        await new Promise((resolve) => setTimeout(resolve, 5));
        const reopened = LmdbBackend.open(path);
        expect(dump(reopened)).toEqual(dump(model));
        reopened.close();
      }),
      { numRuns: 40 },
    );
  });

  it('a store on it answers from batches still committing, and everything is on disk after settled()', async () => {
    const path = freshPath();
    const be = LmdbBackend.open(path, { asyncCommits: true });
    const s = MvccStore.open(be);
    for (let i = 1; i <= 300; i++) {
      s.beginBatch();
      s.put({ key: utf8(`key-${i % 40}`), value: utf8(`value-${i}`) });
      s.setConsistentIndex(i, 1);
      s.commitBatch();
      expect(fromUtf8(s.range({ key: utf8(`key-${i % 40}`) }).kvs[0]!.value)).toBe(`value-${i}`);
    }
    const before = { hash: s.hash().hash, rev: s.rev() };
    await be.settled();
    be.close();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const reopened = MvccStore.open(LmdbBackend.open(path));
    expect({ hash: reopened.hash().hash, rev: reopened.rev() }).toEqual(before);
    expect(reopened.consistentIndex()).toBe(300);
  });
});

/** A backend whose commits never finish, or fail: what the layers do around them. */
class HeldBackend extends BatchingBackend {
  readonly committed = new MemoryBackend();
  readonly holds: { ops: CommitOp[]; clear: boolean; resolve: () => void; reject: (e: unknown) => void }[] = [];
  protected committedGet(bucket: BucketName, key: Uint8Array): Uint8Array | undefined {
    return this.committed.get(bucket, key);
  }
  protected committedForEach(bucket: BucketName, fn: (key: Uint8Array, value: Uint8Array) => void, start?: Uint8Array, end?: Uint8Array): void {
    this.committed.forEach(bucket, fn, start, end);
  }
  protected applyCommit(clearFirst: boolean, ops: CommitOp[]): Promise<void> {
    return new Promise((resolve, reject) => this.holds.push({ ops, clear: clearFirst, resolve, reject }));
  }
  finishOldest(): void {
    const hold = this.holds.shift()!;
    this.committed.beginBatch();
    if (hold.clear) this.committed.clearAll();
    for (const op of hold.ops) {
      if (op.value === undefined) this.committed.delete(op.bucket, op.key);
      else this.committed.put(op.bucket, op.key, op.value);
    }
    this.committed.commitBatch();
    hold.resolve();
  }
  sizeBytes(): number {
    return this.committed.sizeBytes();
  }
  close(): void {
    this.closed = true;
  }
}

describe('BatchingBackend layers', () => {
  it('a restore still committing hides older state; a failed commit stops every later call', async () => {
    const be = new HeldBackend();
    be.beginBatch();
    be.put('key', utf8('old'), utf8('1'));
    be.commitBatch();
    be.finishOldest();
    be.beginBatch();
    be.clearAll();
    be.put('key', utf8('new'), utf8('2'));
    be.commitBatch();
    expect(be.get('key', utf8('old'))).toBeUndefined();
    expect(dump(be)).toEqual(['key/new=2']);
    be.finishOldest();
    await be.settled();
    expect(dump(be)).toEqual(['key/new=2']);

    be.beginBatch();
    be.put('key', utf8('x'), utf8('3'));
    be.commitBatch();
    be.holds.shift()!.reject(new Error('disk full'));
    await expect(be.settled()).rejects.toThrow('disk full');
    expect(() => be.get('key', utf8('x'))).toThrow('disk full');
    expect(() => be.beginBatch()).toThrow('disk full');
  });
});
