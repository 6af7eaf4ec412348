/**
 * Properties of the applier contract: (1) crash anywhere, reopen, re-apply the committed log from
 * consistentIndex()+1, and the store ends identical to one that never crashed (each entry applied
 * exactly once); (2) the memory and LMDB backends end byte-identical for the same entries.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { EtcdError } from '../../src/api/index.js';
import { CompareResult, CompareTarget, LmdbBackend, MemoryBackend, MvccStore, type Backend } from '../../src/mvcc/index.js';
import { utf8 } from '../../src/util/index.js';
import { ALL } from './helpers.js';

type Entry =
  | { t: 'put'; key: string; value: string; lease: number }
  | { t: 'del'; key: string; end?: string }
  | { t: 'txn'; key: string; version: number; put: string; del: string }
  | { t: 'compact'; back: number };

const key = fc.constantFrom('a', 'ab', 'b', 'c');
const entry: fc.Arbitrary<Entry> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('put' as const), key, value: fc.constantFrom('1', '2', 'xyz'), lease: fc.constantFrom(0, 0, 7) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('del' as const), key }, { requiredKeys: ['t', 'key'] }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('del' as const), key, end: fc.constantFrom('b', '\0') }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('txn' as const), key, version: fc.integer({ min: 0, max: 2 }), put: fc.constantFrom('p', 'q'), del: fc.constantFrom('a', 'c') }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('compact' as const), back: fc.integer({ min: 0, max: 3 }) }) },
);

/** One committed entry as the applier applies it; etcd errors are results, not failures. */
function apply(s: MvccStore, e: Entry): void {
  try {
    if (e.t === 'put') s.put({ key: utf8(e.key), value: utf8(e.value), lease: BigInt(e.lease) });
    else if (e.t === 'del') s.deleteRange(e.end === undefined ? { key: utf8(e.key) } : { key: utf8(e.key), rangeEnd: utf8(e.end) });
    else if (e.t === 'compact') s.compact({ revision: s.rev() - e.back });
    else
      s.txn({
        compare: [{ key: utf8(e.key), target: CompareTarget.VERSION, result: CompareResult.EQUAL, version: e.version }],
        success: [{ requestPut: { key: utf8(e.put), value: utf8(e.key) } }, { requestDeleteRange: { key: utf8(e.del) } }],
        failure: [{ requestRange: { key: utf8(e.key) } }],
      });
  } catch (err) {
    if (!(err instanceof EtcdError)) throw err;
  }
}

/** Apply entries (1-based raft indexes) in batches of `batch`, skipping what is already applied. */
function applyLog(s: MvccStore, log: Entry[], batch: number, stopAfter = Infinity): void {
  let applied = 0;
  for (let i = 0; i < log.length; i += batch) {
    s.beginBatch();
    for (let j = i; j < Math.min(log.length, i + batch); j++) {
      const index = j + 1;
      if (index <= s.consistentIndex()) continue;
      if (applied++ >= stopAfter) return; // crash mid-batch: the batch never commits
      apply(s, log[j] as Entry);
      s.setConsistentIndex(index, 1);
    }
    s.commitBatch();
  }
}

function fingerprint(s: MvccStore): unknown {
  const rev = s.rev();
  const views = [];
  for (let r = Math.max(1, s.compactRevision()); r <= rev; r++) views.push(s.range({ ...ALL, revision: r }));
  return { rev, compact: s.compactRevision(), ci: s.consistentIndex(), hashKV: s.hashKV().hash, hash: s.hash().hash, leased: s.leasedKeys(), views };
}

const root = mkdtempSync(join(tmpdir(), 'tsetcd-replay-'));
let dbs = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('applier contract properties', () => {
  it('crash at any point + replay from consistentIndex applies each entry exactly once', () => {
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 25 }), fc.integer({ min: 1, max: 6 }), fc.nat(), (log, batch, crashAt) => {
        const reference = MvccStore.open(new MemoryBackend());
        applyLog(reference, log, batch);
        const backend = new MemoryBackend();
        applyLog(MvccStore.open(backend), log, batch, crashAt % (log.length + 1));
        backend.crash();
        const recovered = MvccStore.open(backend);
        applyLog(recovered, log, batch);
        expect(fingerprint(recovered)).toEqual(fingerprint(reference));
      }),
      { numRuns: Number(process.env['MVCC_PROPERTY_RUNS'] ?? 150) },
    );
  });

  it('memory and LMDB backends end identical for the same log', () => {
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 25 }), (log) => {
        const mem = MvccStore.open(new MemoryBackend());
        const path = join(root, `db${dbs++}`);
        let lmdb: Backend = LmdbBackend.open(path);
        const onDisk = MvccStore.open(lmdb);
        applyLog(mem, log, 8);
        applyLog(onDisk, log, 8);
        expect(fingerprint(onDisk)).toEqual(fingerprint(mem));
        lmdb.close();
        lmdb = LmdbBackend.open(path);
        expect(fingerprint(MvccStore.open(lmdb))).toEqual(fingerprint(mem));
        lmdb.close();
      }),
      { numRuns: 15 },
    );
  });
});
