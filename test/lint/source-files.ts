import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';

export const repoRoot = join(import.meta.dirname, '..', '..');

/** Every .ts file under the given top-level folders, as repo-relative '/'-separated paths. */
export function sourceFiles(...tops: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (name === 'node_modules' || name === 'runs' || name === 'generated') continue;
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(relative(repoRoot, full).split(sep).join('/'));
    }
  };
  for (const top of tops) walk(join(repoRoot, top));
  return out.sort();
}

export function parse(path: string): ts.SourceFile {
  return ts.createSourceFile(path, readFileSync(join(repoRoot, path), 'utf8'), ts.ScriptTarget.ES2022, true);
}

/** Module specifiers of import/export declarations and dynamic import() calls. */
export function importsOf(file: ts.SourceFile): string[] {
  const specs: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      specs.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteral(arg)) specs.push(arg.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return specs;
}

/** Resolves a relative specifier of `fromPath` to a repo-relative path (without extension mapping). */
export function resolveRelative(fromPath: string, spec: string): string {
  const parts = fromPath.split('/').slice(0, -1);
  for (const seg of spec.split('/')) {
    if (seg === '.' || seg === '') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return parts.join('/');
}
