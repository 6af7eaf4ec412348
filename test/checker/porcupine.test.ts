import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pairOps, parseHistory } from '../../histories/index.js';
import { casRegisterModel, checkLinearizability, kvModel } from '../../checker/index.js';

// shared/ sits beside the repository, locally and in CI.
const DIR = join(import.meta.dirname, '..', '..', '..', 'shared', 'histories', 'porcupine');

function expected(): Array<{ file: string; verdict: string; model: string }> {
  const rows = readFileSync(join(DIR, 'EXPECTED.tsv'), 'utf8').trim().split('\n').slice(1);
  return rows.map((line) => {
    const [file, verdict, model] = line.split('\t');
    return { file: file ?? '', verdict: verdict ?? '', model: model ?? '' };
  });
}

describe('porcupine histories get porcupine verdicts', () => {
  it('finds the sample directory', () => {
    expect(existsSync(join(DIR, 'EXPECTED.tsv')), `missing ${DIR}`).toBe(true);
    expect(expected()).toHaveLength(108);
  });

  it('all 102 etcd logs (cas-register) and 6 kv logs', () => {
    const wrong: string[] = [];
    for (const row of expected()) {
      const { ops } = parseHistory(readFileSync(join(DIR, row.file), 'utf8'));
      const options = { timeoutMs: 60_000, afterFailureMs: 0, shrinkMs: 0 };
      const report =
        row.model === 'kv' ? checkLinearizability(kvModel(), pairOps(ops), options) : checkLinearizability(casRegisterModel(), pairOps(ops), options);
      const got = report.verdict === 'valid' ? 'linearizable' : report.verdict === 'invalid' ? 'not' : 'unknown';
      if (got !== row.verdict) wrong.push(`${row.file}: expected ${row.verdict}, got ${got}`);
    }
    expect(wrong).toEqual([]);
  });
});
