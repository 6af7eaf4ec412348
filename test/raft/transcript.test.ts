import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TranscriptRunner, parseTranscript, renderTranscript } from './transcript.js';
import type { Item } from './transcript.js';

const dir = join(fileURLToPath(new URL('.', import.meta.url)), 'testdata');
const rewrite = process.env['REWRITE'] === '1';

describe('raft transcripts', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort();
  it('has transcripts', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  for (const file of files) {
    it(file, () => {
      const path = join(dir, file);
      const items = parseTranscript(readFileSync(path, 'utf8'));
      const runner = new TranscriptRunner();
      const outputs = new Map<Item, string[]>();
      for (const item of items) {
        if (item.kind !== 'case') continue;
        const got = runner.runCase(item.commands);
        outputs.set(item, got);
        if (!rewrite) {
          expect(got.join('\n'), `${file}:${item.line}: ${item.commands.join(' / ')}`).toBe(item.expected.join('\n'));
        }
      }
      if (rewrite) writeFileSync(path, renderTranscript(items, outputs));
    });
  }
});
