/**
 * Regenerates src/grpc/generated/ from src/grpc/proto/*.proto:
 *   npx tsx ci/proto-gen/main.ts           write the files
 *   npx tsx ci/proto-gen/main.ts --check   exit 1 if the committed files are stale
 * test/grpc/generated-fresh.test.ts runs the same comparison in the test suite.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateAll } from './generate.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const outDir = join(root, 'src', 'grpc', 'generated');
const check = process.argv.includes('--check');
const files = generateAll((name) => readFileSync(join(root, 'src', 'grpc', 'proto', name), 'utf8'));
let stale = 0;
mkdirSync(outDir, { recursive: true });
for (const [name, text] of files) {
  const path = join(outDir, name);
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = '';
  }
  if (current === text) continue;
  stale++;
  if (check) console.error(`stale: src/grpc/generated/${name}`);
  else {
    writeFileSync(path, text);
    console.log(`wrote src/grpc/generated/${name}`);
  }
}
if (check && stale > 0) process.exit(1);
console.log(`${files.size} files, ${stale} ${check ? 'stale' : 'updated'}`);
