import { describe, it, expect } from 'vitest';
import { nodeId, utf8 } from '../../src/util/index.js';
import { MemoryStorage, StorageError, isStorageError } from '../../src/raft/index.js';
import type { Entry } from '../../src/raft/index.js';

function ent(index: number, term: number, data = ''): Entry {
  return { index, term, type: 'normal', data: utf8(data) };
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    if (e instanceof StorageError) return e.code;
    throw e;
  }
}

function filled(): MemoryStorage {
  const s = new MemoryStorage();
  s.append([ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 3)]);
  return s;
}

describe('MemoryStorage', () => {
  it('starts empty with a dummy entry at index 0', () => {
    const s = new MemoryStorage();
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(0);
    expect(s.term(0)).toBe(0);
    expect(codeOf(() => s.term(1))).toBe('unavailable');
  });

  it('bootstrap sets the founding configuration without any entry', () => {
    const s = new MemoryStorage();
    s.bootstrap({ voters: [nodeId('1'), nodeId('2')], learners: [] });
    expect(s.initialState().confState.voters).toEqual(['1', '2']);
    expect(s.lastIndex()).toBe(0);
    const t = filled();
    expect(() => t.bootstrap({ voters: [nodeId('1')], learners: [] })).toThrow(/empty/);
  });

  it('reads entries and terms, and signals compacted and unavailable', () => {
    const s = filled();
    expect(s.entries(2, 4).map((e) => e.index)).toEqual([2, 3]);
    expect(s.term(3)).toBe(2);
    expect(codeOf(() => s.entries(1, 6))).toBe('unavailable');
    s.compact(2);
    expect(s.firstIndex()).toBe(3);
    expect(s.term(2)).toBe(1);
    expect(codeOf(() => s.term(1))).toBe('compacted');
    expect(codeOf(() => s.entries(2, 4))).toBe('compacted');
    expect(codeOf(() => s.compact(2))).toBe('compacted');
  });

  it('limits entries by bytes but always returns at least one', () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1, 'x'.repeat(100)), ent(2, 1, 'y'.repeat(100)), ent(3, 1, 'z')]);
    expect(s.entries(1, 4, 10).length).toBe(1);
    expect(s.entries(1, 4, 240).length).toBe(2); // 116 + 116 bytes (data + 16 overhead)
    expect(s.entries(1, 4).length).toBe(3);
  });

  it('append truncates a conflicting suffix and ignores compacted entries', () => {
    const s = filled();
    s.append([ent(3, 4), ent(4, 4), ent(5, 4)]);
    expect([3, 4, 5].map((i) => s.term(i))).toEqual([4, 4, 4]);
    expect(s.lastIndex()).toBe(5);
    s.compact(3);
    s.append([ent(2, 4), ent(3, 4), ent(4, 5)]);
    expect(s.firstIndex()).toBe(4);
    expect(s.term(4)).toBe(5);
    expect(s.lastIndex()).toBe(4);
    expect(() => s.append([ent(7, 5)])).toThrow(/gap/);
  });

  it('creates and applies snapshots, rejecting older ones', () => {
    const s = filled();
    const cs = { voters: [nodeId('1')], learners: [] };
    const snap = s.createSnapshot(3, cs, utf8('state'));
    expect(snap.meta).toEqual({ index: 3, term: 2, confState: cs });
    expect(codeOf(() => s.createSnapshot(2, cs, utf8('')))).toBe('snapOutOfDate');
    const other = new MemoryStorage();
    other.append([ent(1, 1)]);
    other.applySnapshot(snap);
    expect(other.firstIndex()).toBe(4);
    expect(other.lastIndex()).toBe(3);
    expect(other.term(3)).toBe(2);
    expect(other.initialState().confState).toEqual(cs);
    expect(isStorageError((() => { try { other.applySnapshot(snap); } catch (e) { return e; } return undefined; })(), 'snapOutOfDate')).toBe(true);
  });

  it('refuses a hard state whose term goes back', () => {
    const s = new MemoryStorage();
    s.setHardState({ term: 3, vote: nodeId('1'), commit: 0 });
    expect(() => s.setHardState({ term: 2, vote: nodeId('1'), commit: 0 })).toThrow(/went back/);
  });
});
