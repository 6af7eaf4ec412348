import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LmdbBackend, MvccStore, type Backend } from '../../src/mvcc/index.js';
import { utf8 } from '../../src/util/index.js';
import { backendContract } from './backend.contract.js';

const root = mkdtempSync(join(tmpdir(), 'tsetcd-lmdb-'));
let n = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

backendContract('lmdb', {
  create: () => LmdbBackend.open(join(root, `db${n++}`, 'member', 'db')),
  reopen: (b: Backend) => {
    const path = (b as LmdbBackend).path;
    b.close();
    return LmdbBackend.open(path);
  },
});

describe('LmdbBackend batching', () => {
  it('applies a batch of many entries in one durable commit', () => {
    const path = join(root, 'batch', 'member', 'db');
    const s = MvccStore.open(LmdbBackend.open(path));
    s.beginBatch();
    for (let i = 1; i <= 500; i++) {
      s.put({ key: utf8(`key-${i % 50}`), value: utf8(`value-${i}`) });
      s.setConsistentIndex(i, 1);
    }
    s.commitBatch();
    const reopened = MvccStore.open(LmdbBackend.open(path));
    expect(reopened.rev()).toBe(501);
    expect(reopened.consistentIndex()).toBe(500);
    expect(reopened.range({ key: utf8('key-'), rangeEnd: utf8('key.'), countOnly: true }).count).toBe(50);
  });

  it('closes with the last commit synced and the data unchanged, in both sync modes', () => {
    for (const syncEveryCommit of [false, true]) {
      const path = join(root, `close-${String(syncEveryCommit)}`, 'member', 'db');
      const be = LmdbBackend.open(path, { syncEveryCommit });
      const s = MvccStore.open(be);
      s.put({ key: utf8('a'), value: utf8('1') });
      s.putMeta(utf8('alarms'), utf8('[]'));
      s.setConsistentIndex(7, 2);
      const before = { hash: s.hash().hash, hashKV: s.hashKV().hash };
      be.close();
      const reopened = MvccStore.open(LmdbBackend.open(path));
      expect({ hash: reopened.hash().hash, hashKV: reopened.hashKV().hash }).toEqual(before);
      expect(reopened.consistentIndex()).toBe(7);
      expect(reopened.getMeta(utf8('alarms'))).toEqual(utf8('[]'));
    }
  });
});
