import { describe, expect, it } from 'vitest';
import ts from 'typescript';
import { importsOf, parse, sourceFiles } from './source-files.js';

/**
 * DESIGN.md's determinism rules: node code reaches time, randomness, disk and network only
 * through src/env, so the simulator controls all of them. Only src/env/node, src/grpc and
 * src/cli touch the real world.
 */
const BANNED_GLOBALS = new Set(['Date', 'setTimeout', 'setInterval', 'setImmediate', 'performance', 'queueMicrotask']);
const BANNED_MEMBERS: ReadonlyArray<[string, string]> = [
  ['Math', 'random'],
  ['process', 'hrtime'],
  ['process', 'nextTick'],
  ['crypto', 'getRandomValues'],
  ['crypto', 'randomUUID'],
];
const BANNED_MODULES = /^(node:)?(fs|fs\/promises|net|crypto|timers|timers\/promises|dgram|child_process|http|http2|worker_threads)$/;
const EXEMPT = /^src\/(env\/node|grpc|cli)\//;

function violations(path: string): string[] {
  return violationsIn(parse(path));
}

function violationsIn(file: ts.SourceFile): string[] {
  const path = file.fileName;
  const found: string[] = [];
  const where = (node: ts.Node): string => `${path}:${file.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  for (const spec of importsOf(file)) if (BANNED_MODULES.test(spec)) found.push(`${path}: imports ${spec}`);
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && BANNED_GLOBALS.has(node.text)) {
      const parent = node.parent;
      // A property name (x.Date) or a declaration's own name is not a use of the global.
      const isPropertyName = ts.isPropertyAccessExpression(parent) && parent.name === node;
      const isKey = (ts.isPropertyAssignment(parent) || ts.isPropertySignature(parent) || ts.isMethodDeclaration(parent)) && parent.name === node;
      if (!isPropertyName && !isKey) found.push(`${where(node)}: uses ${node.text}`);
    }
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      for (const [obj, prop] of BANNED_MEMBERS) {
        if (node.expression.text === obj && node.name.text === prop) found.push(`${where(node)}: uses ${obj}.${prop}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

describe('determinism lint', () => {
  it('src/ outside env/node, grpc and cli never touches time, randomness, disk or network directly', () => {
    const files = sourceFiles('src').filter((p) => !EXEMPT.test(p));
    expect(files.length).toBeGreaterThan(0);
    expect(files.flatMap(violations)).toEqual([]);
  });

  it('sim/ and nemesis/ are deterministic too (the sim CLI may read the wall clock to report speed)', () => {
    const files = sourceFiles('sim', 'nemesis').filter((p) => !/^sim\/(main|cli)[^/]*\.ts$/.test(p));
    expect(files.flatMap(violations)).toEqual([]);
  });

  it('the lint itself catches a violation', () => {
    // Guards against a lint that silently passes everything.
    const text = "import { readFileSync } from 'node:fs';\nconst t = Date.now();\nMath.random();\nconst o = { Date: 1 }; o.Date;";
    const file = ts.createSourceFile('x.ts', text, ts.ScriptTarget.ES2022, true);
    expect(violationsIn(file)).toEqual(['x.ts: imports node:fs', 'x.ts:2: uses Date', 'x.ts:3: uses Math.random']);
  });
});
